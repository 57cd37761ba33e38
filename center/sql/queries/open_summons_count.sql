-- How many summoned units have not finished.
SELECT count(*) FROM case_tasks WHERE case_id = $1 AND state IN ('summoned', 'acknowledged')
