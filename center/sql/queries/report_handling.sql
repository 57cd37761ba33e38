-- How the cases opened in [$1, $2) were handled (by source kind, late, hours to respond and resolve) and the work open at $3 (open, overdue); $4/$5 an area level and code, or NULL.
WITH w AS MATERIALIZED (
  SELECT o.source_kind, o.first_dispatched_at, o.responded_at, o.respond_due, o.resolved_at, o.resolve_due,
         o.overdue_respond_at, o.overdue_resolve_at
  FROM orders o
  WHERE o.opened_at >= $1::timestamptz AND o.opened_at < $2::timestamptz
    AND o.state NOT IN ('cancelled', 'duplicate')
    AND ($4::text IS NULL OR o.areas @> jsonb_build_object($4::text, $5::text))
), kinds AS (
  SELECT coalesce(json_object_agg(k.kind, k.n), '{}') AS j
  FROM (SELECT coalesce(source_kind, 'unknown') AS kind, count(*) AS n FROM w GROUP BY 1) k
), late AS (
  SELECT count(*) FILTER (WHERE overdue_respond_at IS NOT NULL OR responded_at > respond_due) AS respond_late,
         count(*) FILTER (WHERE overdue_resolve_at IS NOT NULL OR resolved_at > resolve_due) AS resolve_late,
         percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM responded_at - first_dispatched_at) / 3600)
           FILTER (WHERE responded_at IS NOT NULL AND first_dispatched_at IS NOT NULL) AS respond_hours,
         percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM resolved_at - first_dispatched_at) / 3600)
           FILTER (WHERE resolved_at IS NOT NULL AND first_dispatched_at IS NOT NULL) AS resolve_hours
  FROM w
), now_open AS (
  SELECT count(*) AS open,
         count(*) FILTER (WHERE o.state IN ('dispatched', 'accepted', 'in_progress')
                          AND ((o.responded_at IS NULL AND o.respond_due < $3::timestamptz)
                               OR o.resolve_due < $3::timestamptz)) AS overdue
  FROM orders o
  WHERE o.state NOT IN ('closed', 'cancelled', 'duplicate') AND o.opened_at < $3::timestamptz
    AND ($4::text IS NULL OR o.areas @> jsonb_build_object($4::text, $5::text))
)
SELECT json_build_object('by_kind', kinds.j, 'respond_late', late.respond_late, 'resolve_late', late.resolve_late,
                         'median_respond_hours', late.respond_hours, 'median_resolve_hours', late.resolve_hours,
                         'open', now_open.open, 'overdue', now_open.overdue)::text
FROM kinds, late, now_open
