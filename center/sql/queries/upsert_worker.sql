-- A grid worker's position and duty.
INSERT INTO workers (id, grid, on_duty, geom, located_at, reported_at)
VALUES ($1, $2, $3::boolean,
        CASE WHEN $4::float8 IS NULL THEN NULL ELSE ST_SetSRID(ST_MakePoint($4::float8, $5::float8), 4326) END,
        CASE WHEN $4::float8 IS NULL THEN NULL ELSE now() END, now())
ON CONFLICT (id) DO UPDATE SET grid = EXCLUDED.grid, on_duty = EXCLUDED.on_duty,
  geom = coalesce(EXCLUDED.geom, workers.geom), located_at = coalesce(EXCLUDED.located_at, workers.located_at),
  reported_at = EXCLUDED.reported_at
