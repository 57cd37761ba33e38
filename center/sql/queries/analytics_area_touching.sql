-- The pairs of areas of one level ($1) that share a border or a corner (queen contiguity), by code.
SELECT a.code, b.code
FROM areas a JOIN areas b ON b.level = a.level AND a.code < b.code AND ST_Intersects(a.geom, b.geom)
WHERE a.level_name = $1::text
