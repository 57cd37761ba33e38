-- How many hexagons of an edge of $1 m the map's area would take, roughly: its area on the ground over a hexagon's. The area (gw_analytics_region): level $4 and code $5, or the areas of the coarsest level that have cases opened from $2 to $3 (of category or group $6, NULL: all), or those cases' envelope.
SELECT coalesce(ST_Area(gw_analytics_region($4::text, $5::text, $2::timestamptz, $3::timestamptz, $6::text)::geography), 0)
       / (2.598076211 * $1::float8 * $1::float8)
