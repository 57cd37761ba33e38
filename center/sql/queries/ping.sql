-- Is the database there.
SELECT 1
