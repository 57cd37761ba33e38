-- The areas of a load, their geometry made valid, replacing those of the same level and code.
INSERT INTO areas (level, code, name, parent, level_name, geom)
SELECT level, code, name, nullif(parent, ''), level_name, ST_Multi(ST_GeomFromText(wkt, 4326))
FROM areas_load
ON CONFLICT (level, code) DO UPDATE SET
  name = EXCLUDED.name, parent = EXCLUDED.parent, level_name = EXCLUDED.level_name,
  geom = EXCLUDED.geom, updated_at = now()
WHERE (areas.name, areas.parent, areas.level_name) IS DISTINCT FROM
      (EXCLUDED.name, EXCLUDED.parent, EXCLUDED.level_name)
   OR NOT ST_Equals(areas.geom, EXCLUDED.geom)
