-- A case as a GeoJSON Feature (a fragment of orders_geojson and order_geojson; o is the case).
  json_build_object(
    'type', 'Feature',
    'id', o.id,
    'geometry', CASE WHEN o.geom IS NULL THEN NULL ELSE ST_AsGeoJSON(o.geom, 7)::json END,
    'properties', json_build_object(
      'id', o.id, 'category', o.category, 'priority', o.priority, 'status', o.status,
      'source', json_build_object('kind', o.source_kind, 'agent_id', o.agent_id,
                                  'device_id', o.device_id, 'rule', o.rule),
      'accuracy_m', o.accuracy_m, 'confidence', o.confidence,
      'first_seen_at', gw_rfc3339(o.first_seen_at), 'observed_at', gw_rfc3339(o.observed_at),
      'received_at', gw_rfc3339(o.received_at), 'updated_at', gw_rfc3339(o.updated_at),
      'cleared_at', gw_rfc3339(o.cleared_at), 'description', o.description,
      'evidence', o.evidence, 'areas', o.areas, 'area_code', o.area_code,
      'opened_at', gw_rfc3339(o.opened_at), 'reports', o.reports, 'source_count', o.source_count,
      'preempted', o.preempted, 'proactive', o.proactive, 'address', o.address,
      'queue', CASE WHEN o.area_code IS NULL THEN 'dispatcher' ELSE 'area' END,
      'state', o.state, 'state_changed_at', gw_rfc3339(o.state_changed_at), 'unit_code', o.unit_code,
      'department', o.department, 'dispatched_at', gw_rfc3339(o.dispatched_at),
      'respond_due', gw_rfc3339(o.respond_due), 'resolve_due', gw_rfc3339(o.resolve_due),
      'responded_at', gw_rfc3339(o.responded_at), 'resolved_at', gw_rfc3339(o.resolved_at),
      'satisfaction', o.satisfaction, 'assignee', o.assignee,
      'first_dispatched_at', gw_rfc3339(o.first_dispatched_at),
      'verified_by_sensor', CASE WHEN o.verified_at IS NULL THEN NULL
                                 ELSE json_build_object('at', gw_rfc3339(o.verified_at), 'source_id', o.verified_by) END,
      'verification', CASE WHEN o.verify_by IS NULL THEN NULL
                           ELSE json_build_object('by', o.verify_by, 'verifier', o.verifier,
                                                  'due', gw_rfc3339(o.verify_due), 'resolved_by', o.resolved_by) END,
      'overdue', to_json(array_remove(ARRAY[CASE WHEN o.overdue_respond_at IS NOT NULL THEN 'respond' END,
                                            CASE WHEN o.overdue_resolve_at IS NOT NULL THEN 'resolve' END,
                                            CASE WHEN o.overdue_verify_at IS NOT NULL THEN 'verify' END], NULL))))
