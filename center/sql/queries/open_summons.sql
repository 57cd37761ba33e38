-- The units summoned to a case that have not finished, for the refusal of resolve.
SELECT string_agg(unit, ', ' ORDER BY unit) FROM case_tasks WHERE case_id = $1 AND state IN ('summoned', 'acknowledged')
