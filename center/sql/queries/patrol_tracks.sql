-- Grid workers' tracks in a time window as GeoJSON: one line per worker and shift (a point when
-- only one position is there); $3 a worker, or NULL for all.
SELECT json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg(json_build_object(
  'type', 'Feature',
  'geometry', ST_AsGeoJSON(CASE WHEN t.n > 1 THEN t.line ELSE t.first END, 7)::json,
  'properties', json_build_object('worker', t.worker, 'grid', t.grid, 'shift', t.shift, 'positions', t.n,
                                  'from', gw_rfc3339(t.t0), 'to', gw_rfc3339(t.t1)))
  ORDER BY t.worker, t.t0), '[]'))::text
FROM (SELECT worker, grid, shift, count(*) AS n, min(at) AS t0, max(at) AS t1,
             ST_MakeLine(geom ORDER BY at) AS line, (array_agg(geom ORDER BY at))[1] AS first
      FROM patrol_positions
      WHERE at >= $1::timestamptz AND at < $2::timestamptz AND ($3::text IS NULL OR worker = $3)
      GROUP BY worker, grid, shift) t
