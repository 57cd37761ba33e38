-- A hotline source's suggestion ($2) kept with it and in its case's history.
WITH s AS (UPDATE sources SET suggestion = $2::jsonb WHERE id = $1 RETURNING case_id)
INSERT INTO case_history (case_id, action, source_id, actor, detail)
SELECT case_id, 'suggested', $1, 'classifier', $2::jsonb FROM s
