-- The dispatcher's category $2 for case $1 (its default priority $3): the case keeps it from now on
-- (orders.dispatcher_category, which gw_refresh_case prefers), and its hotline sources take it
-- with the more urgent of their priority and the category's; cameras' and sensors' sources keep
-- their own. refresh_case.sql then derives the case again.
WITH s AS (
  UPDATE sources SET category = $2,
    priority = CASE WHEN gw_priority_rank(priority) <= gw_priority_rank($3::text) THEN priority ELSE $3::text END
  WHERE case_id = $1 AND kind = 'hotline')
UPDATE orders SET dispatcher_category = $2, updated_at = now() WHERE id = $1
