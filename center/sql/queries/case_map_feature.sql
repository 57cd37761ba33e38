-- A case as a map draws it (GET /api/v1/orders?fields=map; a fragment of orders_geojson).
  json_build_object(
    'type', 'Feature',
    'id', o.id,
    'geometry', CASE WHEN o.geom IS NULL THEN NULL ELSE ST_AsGeoJSON(o.geom, 6)::json END,
    'properties', json_build_object(
      'id', o.id, 'category', o.category, 'priority', o.priority, 'status', o.status,
      'state', o.state, 'source', o.source_kind, 'reports', o.reports, 'proactive', o.proactive,
      'preempted', o.preempted,
      'overdue', o.overdue_respond_at IS NOT NULL OR o.overdue_resolve_at IS NOT NULL))
