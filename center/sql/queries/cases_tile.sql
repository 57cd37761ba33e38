-- The open cases of a web-map tile as a Mapbox Vector Tile (pattern: the placeholder scope is the caller's scope).
WITH t AS (SELECT ST_TileEnvelope($1::int, $2::int, $3::int) AS env),
c AS (
  SELECT o.id, o.category, o.state, o.priority, o.source_kind AS source, o.preempted, o.reports,
         (o.overdue_respond_at IS NOT NULL OR o.overdue_resolve_at IS NOT NULL) AS overdue,
         ST_AsMVTGeom(ST_Transform(o.geom, 3857), t.env, 4096, 64, true) AS geom
  FROM orders o, t
  WHERE o.status = 'open' AND o.state NOT IN ('closed', 'cancelled', 'duplicate')
    AND o.geom && ST_Transform(t.env, 4326) AND {scope}
)
SELECT ST_AsMVT(c, 'cases', 4096, 'geom') FROM c WHERE c.geom IS NOT NULL
