-- The nearest grid worker on duty in the case's area whose position is fresh, other than $4 (the
-- one who resolved it, when a verifier is sought; '' at dispatch).
SELECT w.id, round(ST_Distance(w.geom::geography, o.geom::geography)::numeric, 1)
FROM orders o JOIN workers w ON w.grid = o.areas->>$2
WHERE o.id = $1 AND w.on_duty AND w.geom IS NOT NULL AND o.geom IS NOT NULL
  AND w.located_at >= now() - $3::interval AND w.id <> $4
ORDER BY w.geom::geography <-> o.geom::geography, w.id
LIMIT 1
