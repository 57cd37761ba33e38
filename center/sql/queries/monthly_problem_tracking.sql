-- The problems picked up to month $1 (YYYY-MM-01) and, for each, its cases, dispatched and resolved cases per month from the month it was picked for to month $1 (local months in time zone $2).
SELECT json_build_object('month', to_char(p.month, 'YYYY-MM'), 'group', p.category_group, 'picked_by', p.picked_by,
         'picked_at', gw_rfc3339(p.picked_at), 'note', p.note, 'score', p.score,
         'months', (SELECT coalesce(json_agg(json_build_object('month', to_char(m, 'YYYY-MM'), 'cases', k.cases,
                                                             'dispatched', k.dispatched, 'resolved', k.resolved)
                                           ORDER BY m), '[]')
                    FROM generate_series(p.month, $1::date, interval '1 month') m,
                         LATERAL (SELECT count(*) AS cases,
                                         count(*) FILTER (WHERE o.first_dispatched_at IS NOT NULL) AS dispatched,
                                         count(*) FILTER (WHERE o.first_dispatched_at IS NOT NULL
                                                          AND o.state IN ('resolved', 'closed')) AS resolved
                                  FROM orders o
                                  WHERE split_part(o.category, '.', 1) = p.category_group
                                    AND o.opened_at >= (m::timestamp AT TIME ZONE $2::text)
                                    AND o.opened_at < ((m + interval '1 month')::timestamp AT TIME ZONE $2::text)
                                    AND o.state NOT IN ('cancelled', 'duplicate')) k))::text
FROM monthly_problems p
WHERE p.month <= $1::date
ORDER BY p.month, p.category_group
