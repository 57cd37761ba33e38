-- One center migrates at a time (several may start at once).
SELECT pg_advisory_xact_lock(7353001)
