-- The nearest grid worker on duty in the case's area whose position is fresh. When a verifier is
-- sought ($4 the one who resolved it; '' at dispatch), neither $4 nor the worker the case was
-- dispatched to: the verifier is someone who did not do the work.
SELECT w.id, round(ST_Distance(w.geom::geography, o.geom::geography)::numeric, 1)
FROM orders o JOIN workers w ON w.grid = o.areas->>$2
WHERE o.id = $1 AND w.on_duty AND w.geom IS NOT NULL AND o.geom IS NOT NULL
  AND w.located_at >= now() - $3::interval AND w.id <> $4
  AND ($4 = '' OR o.assignee IS NULL OR w.id <> o.assignee)
ORDER BY w.geom::geography <-> o.geom::geography, w.id
LIMIT 1
