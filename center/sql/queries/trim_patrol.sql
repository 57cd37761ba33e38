-- Positions older than the days kept, and the coverage of days before the first day kept, deleted.
WITH p AS (DELETE FROM patrol_positions WHERE at < now() - make_interval(days => $1::int) RETURNING 1),
     c AS (DELETE FROM patrol_cells WHERE day < $2::date RETURNING 1)
SELECT (SELECT count(*) FROM p), (SELECT count(*) FROM c)
