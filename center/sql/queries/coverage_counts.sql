-- Cells visited on a day: per grid (by anyone) and per worker of the grid.
SELECT json_build_object(
  'grids', coalesce((SELECT json_agg(json_build_object('grid', grid, 'visited', n) ORDER BY grid)
                     FROM (SELECT grid, count(DISTINCT cell) AS n FROM patrol_cells WHERE day = $1::date
                           GROUP BY grid) g), '[]'),
  'workers', coalesce((SELECT json_agg(json_build_object('grid', grid, 'worker', worker, 'visited', n)
                                       ORDER BY grid, worker)
                       FROM (SELECT grid, worker, count(*) AS n FROM patrol_cells WHERE day = $1::date
                             GROUP BY grid, worker) w), '[]'))::text
