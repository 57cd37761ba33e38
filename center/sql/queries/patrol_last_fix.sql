-- The last position stored of a grid worker: milliseconds since the epoch, lon, lat, accuracy.
SELECT (extract(epoch FROM at) * 1000)::bigint, ST_X(geom), ST_Y(geom), accuracy_m
FROM patrol_positions WHERE worker = $1
ORDER BY at DESC LIMIT 1
