-- Cases as a GeoJSON FeatureCollection, filtered, nearest first when near a point, each with the steps the caller may take when $20 maps states to them (pattern: the placeholder feature is case_feature or case_map_feature, the placeholder filter is orders_filter).
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
      {filter}
      ORDER BY dist, o.updated_at DESC
      LIMIT $8::int) f
