-- The merge locks of a batch, taken up front in one order (merge.h).
SELECT count(pg_advisory_xact_lock(k)) FROM unnest($1::bigint[]) AS k
