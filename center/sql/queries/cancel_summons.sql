-- Summons end with the round of work that made them.
UPDATE case_tasks SET state = 'cancelled' WHERE case_id = $1 AND state IN ('summoned', 'acknowledged')
