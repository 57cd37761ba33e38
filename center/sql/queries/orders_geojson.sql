-- Cases as a GeoJSON FeatureCollection, filtered, nearest first when near a point, each with the steps the caller may take when $20 maps states to them (pattern: the placeholder feature is case_feature or case_map_feature, the placeholder scope the caller's scope).
SELECT json_build_object('type', 'FeatureCollection',
                         'features', coalesce(json_agg(
                            CASE WHEN f.dist IS NULL THEN f.feature
                                 ELSE jsonb_set(f.feature::jsonb, '{{properties,distance_m}}',
                                                to_jsonb(round(f.dist::numeric, 1)))::json END
                            ORDER BY f.dist, f.updated_at DESC), '[]'::json))::text
FROM (SELECT CASE WHEN $20::jsonb IS NULL THEN {feature}
                  ELSE jsonb_set(({feature})::jsonb, '{{properties,allowed_actions}}',
                                 coalesce($20::jsonb -> o.state, '[]'::jsonb))::json END AS feature,
             o.updated_at,
             CASE WHEN $9::float8 IS NULL THEN NULL
                  ELSE ST_Distance(o.geom::geography,
                                   ST_SetSRID(ST_MakePoint($9::float8, $10::float8), 4326)::geography)
             END AS dist
      FROM orders o
      WHERE ($1::text[] IS NULL OR o.status = ANY($1::text[]))
        AND ($19::text[] IS NULL OR o.state = ANY($19::text[]))
        AND ($2::text[] IS NULL OR o.category = ANY($2::text[]))
        AND ($3::float8 IS NULL OR o.geom && ST_MakeEnvelope($3::float8, $4::float8, $5::float8,
                                                             $6::float8, 4326))
        AND ($7::timestamptz IS NULL OR o.updated_at >= $7::timestamptz)
        AND ($9::float8 IS NULL OR
             (o.geom && ST_MakeEnvelope($12::float8, $13::float8, $14::float8, $15::float8, 4326)
              AND ST_DWithin(o.geom::geography,
                             ST_SetSRID(ST_MakePoint($9::float8, $10::float8), 4326)::geography,
                             $11::float8)))
        AND {scope}
      ORDER BY dist, o.updated_at DESC
      LIMIT $8::int) f
