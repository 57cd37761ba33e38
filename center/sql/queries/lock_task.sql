-- A summoned unit's sub-task, locked for its answer.
SELECT state FROM case_tasks WHERE case_id = $1 AND unit = $2 FOR UPDATE
