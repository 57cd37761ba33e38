-- Open311 service requests (the sources of kind hotline) as JSON rows.
SELECT coalesce(json_agg(json_strip_nulls(json_build_object(
  'service_request_id', r.id, 'status', r.status, 'service_code', r.category,
  'description', nullif(r.description, ''), 'requested_datetime', gw_rfc3339(r.reported_at),
  'updated_datetime', gw_rfc3339(r.updated), 'address', r.address,
  'address_id', r.attributes->>'address_id', 'lat', ST_Y(r.geom), 'long', ST_X(r.geom),
  'media_url', r.media_url, 'case_id', r.case_id, 'source_count', r.source_count, 'state', r.state))
  ORDER BY r.reported_at DESC, r.id), '[]')::text
FROM (SELECT s.id, s.category, s.description, s.reported_at, s.address, s.attributes, s.geom,
             s.media_url, s.case_id, o.source_count,
             CASE WHEN o.status = 'cleared' OR o.state IN ('closed', 'cancelled', 'duplicate') THEN 'closed'
                  ELSE 'open' END AS status, o.state,
             greatest(s.updated_at, o.updated_at) AS updated
      FROM sources s JOIN orders o ON o.id = s.case_id
      WHERE ($1::text[] IS NULL OR s.id = ANY($1::text[]))
        AND ($2::text[] IS NULL OR s.category = ANY($2::text[]))
        AND ($3::timestamptz IS NULL OR s.reported_at >= $3::timestamptz)
        AND ($4::timestamptz IS NULL OR s.reported_at <= $4::timestamptz)
        AND ($5::text IS NULL OR (CASE WHEN o.status = 'cleared' OR o.state IN ('closed', 'cancelled', 'duplicate') THEN 'closed'
                  ELSE 'open' END) = $5)
      ORDER BY s.reported_at DESC, s.id
      LIMIT $6::int OFFSET $7::int) r
