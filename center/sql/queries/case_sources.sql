-- A case's sources, history and tasks.
SELECT json_build_object(
  'sources', coalesce((SELECT json_agg(json_build_object(
      'id', s.id, 'kind', s.kind, 'channel', s.channel, 'category', s.category,
      'priority', s.priority, 'status', s.status, 'agent_id', s.agent_id, 'device_id', s.device_id,
      'rule', s.rule, 'lon', ST_X(s.geom), 'lat', ST_Y(s.geom), 'accuracy_m', s.accuracy_m,
      'address', s.address, 'description', s.description, 'attributes', s.attributes,
      'evidence', s.evidence, 'media_url', s.media_url, 'reported_at', gw_rfc3339(s.reported_at),
      'received_at', gw_rfc3339(s.received_at), 'cleared_at', gw_rfc3339(s.cleared_at),
      'merge', s.merge, 'suggestion', s.suggestion) ORDER BY s.received_at, s.id) FROM sources s WHERE s.case_id = $1), '[]'),
  'history', coalesce((SELECT json_agg(json_build_object(
      'at', gw_rfc3339(h.at), 'action', h.action, 'source_id', h.source_id, 'actor', h.actor,
      'detail', h.detail) ORDER BY h.id) FROM case_history h WHERE h.case_id = $1), '[]'),
  'tasks', coalesce((SELECT json_agg(json_build_object(
      'unit', t.unit, 'state', t.state, 'summoned_at', gw_rfc3339(t.summoned_at), 'summoned_by', t.summoned_by,
      'reason', t.reason, 'acknowledged_at', gw_rfc3339(t.acknowledged_at), 'done_at', gw_rfc3339(t.done_at),
      'note', t.note) ORDER BY t.summoned_at, t.unit) FROM case_tasks t WHERE t.case_id = $1), '[]'))::text
