-- An edge order event into its case: gw_ingest_edge (migration 004).
SELECT gw_ingest_edge($1::jsonb, $2::jsonb)::text
