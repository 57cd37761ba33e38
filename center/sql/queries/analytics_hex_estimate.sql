-- How many hexagons of an edge of $1 m the area (level $2, code $3; NULL and NULL: the coarsest level) would take, roughly: its area on the ground over a hexagon's.
SELECT coalesce(sum(ST_Area(a.geom::geography)), 0) / (2.598076211 * $1::float8 * $1::float8)
FROM areas a
WHERE ($3::text IS NOT NULL AND a.level_name = $2::text AND a.code = $3::text)
   OR ($3::text IS NULL AND a.level = (SELECT min(level) FROM areas))
