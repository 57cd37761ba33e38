-- The administrative areas as GeoJSON, of one level ($1) or all (NULL); each with a point inside it for its name (label: lon, lat).
SELECT json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg(
  json_build_object('type', 'Feature', 'id', a.code,
                    'geometry', ST_AsGeoJSON(a.geom, 7)::json,
                    'properties', json_build_object('code', a.code, 'name', a.name, 'parent', a.parent,
                                                    'level', a.level, 'level_name', a.level_name,
                                                    'label', json_build_array(round(ST_X(ST_PointOnSurface(a.geom))::numeric, 6),
                                                                              round(ST_Y(ST_PointOnSurface(a.geom))::numeric, 6))))
  ORDER BY a.level, a.code), '[]'::json))::text
FROM areas a WHERE ($1::int IS NULL OR a.level = $1::int)
