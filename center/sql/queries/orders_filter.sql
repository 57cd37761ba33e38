-- The filters of GET /api/v1/orders (a fragment of orders_geojson and orders_count; pattern: the placeholder scope is the caller's scope).
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
