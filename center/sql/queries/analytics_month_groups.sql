-- The month's figures of each category group (the code before its dot): cases, evaluated and satisfied cases, the departments they went to, dispatched and resolved cases, and the three latest descriptions as samples. Parameters: from, to, the area level ($3) and code ($4) or NULL.
WITH cases AS (
  SELECT split_part(o.category, '.', 1) AS grp, o.*
  FROM orders o
  WHERE o.opened_at >= $1::timestamptz AND o.opened_at < $2::timestamptz
    AND o.state NOT IN ('cancelled', 'duplicate')
    AND ($4::text IS NULL OR o.areas @> jsonb_build_object($3::text, $4::text))
), groups AS (
  SELECT grp, count(*) AS n,
         count(*) FILTER (WHERE satisfaction IS NOT NULL) AS evaluated,
         count(*) FILTER (WHERE satisfaction = 'satisfied') AS satisfied,
         count(DISTINCT department) AS departments,
         count(*) FILTER (WHERE first_dispatched_at IS NOT NULL) AS dispatched,
         count(*) FILTER (WHERE first_dispatched_at IS NOT NULL AND state IN ('resolved', 'closed')) AS resolved
  FROM cases GROUP BY grp
)
SELECT g.grp, g.n, g.evaluated, g.satisfied, g.departments, g.dispatched, g.resolved,
       coalesce((SELECT json_agg(json_build_object('id', s.id, 'category', s.category, 'description', s.description,
                                                   'opened_at', gw_rfc3339(s.opened_at)))
                 FROM (SELECT c.id, c.category, c.description, c.opened_at FROM cases c
                       WHERE c.grp = g.grp AND c.description <> ''
                       ORDER BY c.opened_at DESC LIMIT 3) s), '[]')::text
FROM groups g
ORDER BY g.grp
