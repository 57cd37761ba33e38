-- A batch of a grid worker's positions on a shift; a position already stored stays as it was.
INSERT INTO patrol_positions (worker, at, geom, accuracy_m, grid, shift)
SELECT $1, to_timestamp(t.ms / 1000.0), ST_SetSRID(ST_MakePoint(t.lon, t.lat), 4326), t.acc, $2, $3
FROM unnest($4::bigint[], $5::float8[], $6::float8[], $7::real[]) AS t(ms, lon, lat, acc)
ON CONFLICT (worker, at) DO NOTHING
