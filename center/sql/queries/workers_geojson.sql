-- The grid workers with their last position, as GeoJSON.
SELECT json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg(json_build_object(
  'type', 'Feature', 'id', w.id,
  'geometry', CASE WHEN w.geom IS NULL THEN NULL ELSE ST_AsGeoJSON(w.geom, 7)::json END,
  'properties', json_build_object('id', w.id, 'grid', w.grid, 'on_duty', w.on_duty,
                                  'reported_at', gw_rfc3339(w.reported_at),
                                  'located_at', gw_rfc3339(w.located_at),
                                  'open_cases', (SELECT count(*) FROM orders o WHERE o.assignee = w.id
                                                 AND o.state IN ('dispatched', 'accepted', 'in_progress'))))
  ORDER BY w.id), '[]'))::text
FROM workers w
