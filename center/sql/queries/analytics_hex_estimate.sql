-- How many hexagons of an edge of $1 m the map's area would take, roughly: its area on the ground over a hexagon's. The area: level $2 and code $3, or (NULL and NULL) the areas of the coarsest level that have cases opened from $4 to $5 (of category or group $6, NULL: all).
SELECT coalesce(sum(ST_Area(a.geom::geography)), 0) / (2.598076211 * $1::float8 * $1::float8)
FROM areas a
WHERE ($3::text IS NOT NULL AND a.level_name = $2::text AND a.code = $3::text)
   OR ($3::text IS NULL AND a.level = (SELECT min(level) FROM areas)
       AND EXISTS (SELECT 1 FROM orders o
                   WHERE o.areas @> jsonb_build_object(a.level_name, a.code)
                     AND o.opened_at >= $4::timestamptz AND o.opened_at < $5::timestamptz
                     AND o.state NOT IN ('cancelled', 'duplicate')
                     AND ($6::text IS NULL OR o.category = $6::text OR o.category LIKE $6::text || '.%')))
