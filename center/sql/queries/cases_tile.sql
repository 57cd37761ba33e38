-- The open cases of a web-map tile as a Mapbox Vector Tile, filtered as the map page filters, grouped into clusters up to zoom 13 (pattern: the placeholder scope is the caller's scope).
-- $1..$3 z, x, y; $4..$6 the scope; $7 categories, $8 work states, $9 source kinds (NULL: any);
-- $10 only the overdue; $11 only the proactive.
-- One layer, "cases": up to zoom 13 the cases in each 512-unit square of the tile's 4096 (64 px
-- of a 512 px tile) are one feature at their mean position with point_count and
-- point_count_abbreviated, the properties of a map's GeoJSON clusters; a case alone in its square,
-- and every case above zoom 13, is itself with the map's properties and its category's group (the
-- icon).
-- A case's place is its unit among the 4096 times 2^z of the world's width, from its longitude
-- and latitude by the spherical Mercator's formulas (EPSG:3857's, as ST_Transform would give,
-- without a projection call per case: a zoom-9 tile holds tens of thousands); a case is in the
-- tile that holds its unit, so in exactly one tile.
WITH c AS (
  SELECT o.id,
         (radians(ST_X(o.geom)) + pi()) / (2 * pi()) * 4096 * 2 ^ $1::int - 4096 * $2::int AS x,
         (pi() - ln(tan(pi() / 4 + radians(ST_Y(o.geom)) / 2))) / (2 * pi()) * 4096 * 2 ^ $1::int - 4096 * $3::int AS y
  FROM orders o
  WHERE o.status = 'open' AND o.state NOT IN ('closed', 'cancelled', 'duplicate')
    AND o.geom && ST_Transform(ST_TileEnvelope($1::int, $2::int, $3::int), 4326) AND {scope}
    AND ($7::text[] IS NULL OR o.category = ANY($7::text[]))
    AND ($8::text[] IS NULL OR o.state = ANY($8::text[]))
    AND ($9::text[] IS NULL OR o.source_kind = ANY($9::text[]))
    AND (NOT $10::bool OR o.overdue_respond_at IS NOT NULL OR o.overdue_resolve_at IS NOT NULL)
    AND (NOT $11::bool OR o.proactive)
),
g AS (
  SELECT count(*)::int AS n, min(c.id) AS one, round(avg(c.x)) AS x, round(avg(c.y)) AS y
  FROM c
  WHERE c.x >= 0 AND c.x < 4096 AND c.y >= 0 AND c.y < 4096
  GROUP BY CASE WHEN $1::int <= 13 THEN (floor(c.x / 512) * 8 + floor(c.y / 512))::text ELSE c.id END
),
f AS (
  SELECT o.id, o.category, split_part(o.category, '.', 1) AS "group", o.state, o.priority, o.status,
         o.source_kind AS source, o.preempted, o.reports, o.proactive,
         (o.overdue_respond_at IS NOT NULL OR o.overdue_resolve_at IS NOT NULL) AS overdue,
         NULL::int AS point_count, NULL::text AS point_count_abbreviated, ST_MakePoint(g.x, g.y) AS geom
  FROM g JOIN orders o ON o.id = g.one
  WHERE g.n = 1
  UNION ALL
  SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, g.n,
         CASE WHEN g.n >= 10000 THEN round(g.n / 1000.0)::text || 'k'
              WHEN g.n >= 1000 THEN trim_scale(round(g.n / 1000.0, 1))::text || 'k'
              ELSE g.n::text END,
         ST_MakePoint(g.x, g.y)
  FROM g WHERE g.n > 1
)
SELECT ST_AsMVT(f, 'cases', 4096, 'geom') FROM f
