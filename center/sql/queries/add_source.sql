-- A report (a ticket, an imported row) into its case: gw_add_source (migration 004) decides new or merged.
SELECT gw_add_source($1::jsonb)::text
