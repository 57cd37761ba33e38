-- The open cases of a web-map tile as a Mapbox Vector Tile, filtered as the map page filters, grouped into clusters up to zoom 13 (pattern: the placeholder scope is the caller's scope).
-- $1..$3 z, x, y; $4..$6 the scope; $7 categories, $8 work states, $9 source kinds (NULL: any);
-- $10 only the overdue; $11 only the proactive.
-- One layer, "cases": up to zoom 13 the cases in each 512-unit square of the tile's 4096 (64 px
-- of a 512 px tile) are one feature at their mean position with point_count and
-- point_count_abbreviated, the properties of a map's GeoJSON clusters; a case alone in its square,
-- and every case above zoom 13, is itself with the map's properties and its category's group (the
-- icon). A case is in exactly one tile: its projected point in the half-open box of the tile
-- (ST_AsMVTGeom alone would keep a point within half a unit of an edge in both tiles).
WITH t AS (SELECT ST_TileEnvelope($1::int, $2::int, $3::int) AS env),
c AS (
  SELECT o.id, o.category, split_part(o.category, '.', 1) AS "group", o.state, o.priority, o.status,
         o.source_kind AS source, o.preempted, o.reports, o.proactive,
         (o.overdue_respond_at IS NOT NULL OR o.overdue_resolve_at IS NOT NULL) AS overdue,
         ST_AsMVTGeom(m.p, t.env, 4096, 0, true) AS geom
  FROM orders o CROSS JOIN t CROSS JOIN LATERAL (SELECT ST_Transform(o.geom, 3857) AS p) m
  WHERE o.status = 'open' AND o.state NOT IN ('closed', 'cancelled', 'duplicate')
    AND o.geom && ST_Transform(t.env, 4326) AND {scope}
    AND ST_X(m.p) >= ST_XMin(t.env) AND ST_X(m.p) < ST_XMax(t.env)
    AND ST_Y(m.p) > ST_YMin(t.env) AND ST_Y(m.p) <= ST_YMax(t.env)
    AND ($7::text[] IS NULL OR o.category = ANY($7::text[]))
    AND ($8::text[] IS NULL OR o.state = ANY($8::text[]))
    AND ($9::text[] IS NULL OR o.source_kind = ANY($9::text[]))
    AND (NOT $10::bool OR o.overdue_respond_at IS NOT NULL OR o.overdue_resolve_at IS NOT NULL)
    AND (NOT $11::bool OR o.proactive)
),
s AS (
  SELECT c.*, CASE WHEN $1::int <= 13 THEN floor(ST_X(c.geom) / 512) * 16 + floor(ST_Y(c.geom) / 512) END AS square
  FROM c WHERE c.geom IS NOT NULL
),
k AS (SELECT s.*, count(*) OVER (PARTITION BY s.square) AS n FROM s),
f AS (
  SELECT k.id, k.category, k."group", k.state, k.priority, k.status, k.source, k.preempted, k.reports, k.proactive,
         k.overdue,
         NULL::int AS point_count, NULL::text AS point_count_abbreviated, k.geom
  FROM k WHERE k.square IS NULL OR k.n = 1
  UNION ALL
  SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, count(*)::int,
         CASE WHEN count(*) >= 10000 THEN round(count(*) / 1000.0)::text || 'k'
              WHEN count(*) >= 1000 THEN trim_scale(round(count(*) / 1000.0, 1))::text || 'k'
              ELSE count(*)::text END,
         ST_MakePoint(round(avg(ST_X(k.geom))), round(avg(ST_Y(k.geom))))
  FROM k WHERE k.square IS NOT NULL AND k.n > 1 GROUP BY k.square
)
SELECT ST_AsMVT(f, 'cases', 4096, 'geom') FROM f
