-- How many cases GET /api/v1/orders would give without a limit, as an object with count (fields=count; pattern: the placeholder filter is orders_filter).
-- The parameters are those of orders_geojson; $8 (the limit) and $20 (the steps by state) are the
-- list's own, named here only so that the one list of parameters serves both.
WITH list_only AS (SELECT $8::int AS lim, $20::jsonb AS steps)
SELECT json_build_object('count', count(*))::text
FROM orders o
{filter}
