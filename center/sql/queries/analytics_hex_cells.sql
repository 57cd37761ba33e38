-- Cases counted per hexagon, category group and time step (keys "group/step"). Parameters: the edge in metres, from, to, the step in seconds, the level and code of the area the map covers (NULL and NULL: the areas of the coarsest level that have cases in the window), the category code or group (NULL: all). The hexagons are those of ST_HexagonGrid that meet the area (gw_analytics_region), in the UTM zone of its centre, so that a hexagon has its size on the ground; a hexagon is named by its column and row of that grid, and a case on the border of two counts in the first of them.
WITH cases AS (
  SELECT o.geom, o.areas, split_part(o.category, '.', 1) AS grp, floor(extract(epoch FROM o.opened_at - $2::timestamptz) / $4::float8)::int AS step
  FROM orders o
  WHERE o.opened_at >= $2::timestamptz AND o.opened_at < $3::timestamptz AND o.geom IS NOT NULL
    AND o.state NOT IN ('cancelled', 'duplicate')
    AND ($7::text IS NULL OR o.category = $7::text OR o.category LIKE $7::text || '.%')
    AND ($6::text IS NULL OR o.areas @> jsonb_build_object($5::text, $6::text))
), region AS (
  SELECT gw_analytics_region($5::text, $6::text, $2::timestamptz, $3::timestamptz, $7::text) AS geom
), zone AS (
  SELECT geom,
         (CASE WHEN ST_Y(ST_Centroid(geom)) < 0 THEN 32700 ELSE 32600 END)
           + least(60, floor((ST_X(ST_Centroid(geom)) + 180) / 6)::int + 1) AS srid
  FROM region WHERE geom IS NOT NULL
), local AS (
  SELECT ST_Transform(geom, srid) AS geom, srid FROM zone
), counted AS MATERIALIZED (
  SELECT h.i, h.j, c.grp, c.step, count(*) AS n
  FROM cases c, local l,
       LATERAL (SELECT g.i, g.j FROM ST_HexagonGrid($1::float8, ST_Transform(c.geom, l.srid)) g
                WHERE ST_Intersects(g.geom, ST_Transform(c.geom, l.srid)) ORDER BY g.i, g.j LIMIT 1) h
  GROUP BY 1, 2, 3, 4
), per_cell AS MATERIALIZED (
  SELECT i, j, json_object_agg(grp || '/' || step, n) AS steps FROM counted GROUP BY 1, 2
)
SELECT h.i, h.j, ST_X(ST_Centroid(h.geom)), ST_Y(ST_Centroid(h.geom)),
       ST_X(ST_Transform(ST_Centroid(h.geom), 4326)), ST_Y(ST_Transform(ST_Centroid(h.geom), 4326)),
       ST_AsGeoJSON(ST_Transform(h.geom, 4326), 6), coalesce(p.steps, '{}'::json)::text
FROM local l, LATERAL ST_HexagonGrid($1::float8, l.geom) h
LEFT JOIN per_cell p ON p.i = h.i AND p.j = h.j
WHERE ST_Intersects(h.geom, l.geom)
ORDER BY h.i, h.j
