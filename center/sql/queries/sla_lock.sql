-- The SLA check runs on one center at a time: a lock for the transaction, t when taken.
SELECT pg_try_advisory_xact_lock(hashtext('gridwatch.sla_check'))
