-- Cases counted per area of one level ($4), category group and time step (keys "group/step"). Parameters: from, to, the step in seconds, the level, the area the map covers as level ($5) and code ($6) (NULL: all), the category code or group ($7, NULL: all). Every area of the level is a cell, with or without cases.
WITH counted AS MATERIALIZED (
  SELECT o.areas->>$4::text AS code, split_part(o.category, '.', 1) AS grp, floor(extract(epoch FROM o.opened_at - $1::timestamptz) / $3::float8)::int AS step,
         count(*) AS n
  FROM orders o
  WHERE o.opened_at >= $1::timestamptz AND o.opened_at < $2::timestamptz
    AND o.state NOT IN ('cancelled', 'duplicate') AND o.areas ? $4::text
    AND ($7::text IS NULL OR o.category = $7::text OR o.category LIKE $7::text || '.%')
    AND ($6::text IS NULL OR o.areas @> jsonb_build_object($5::text, $6::text))
  GROUP BY 1, 2, 3
), per_cell AS MATERIALIZED (
  SELECT code, json_object_agg(grp || '/' || step, n) AS steps FROM counted GROUP BY 1
), scope AS (
  SELECT ST_Union(geom) AS geom FROM areas WHERE $6::text IS NOT NULL AND level_name = $5::text AND code = $6::text
)
SELECT a.code, a.name, ST_X(ST_PointOnSurface(a.geom)), ST_Y(ST_PointOnSurface(a.geom)),
       ST_AsGeoJSON(a.geom, 6), coalesce(p.steps, '{}'::json)::text
FROM areas a LEFT JOIN per_cell p ON p.code = a.code
WHERE a.level_name = $4::text
  AND ($6::text IS NULL OR ST_Intersects(ST_PointOnSurface(a.geom), (SELECT geom FROM scope)))
ORDER BY a.code
