-- The three rates' counts per group and period (pattern: the placeholder key groups, the placeholder quarter is the quarter hour or NULL).
SELECT coalesce(json_agg(json_build_object(
  'key', g.key, 'period', to_char(g.period, 'YYYY-MM-DD'), 'cases', g.cases, 'dispatched', g.dispatched,
  'response_due', g.response_due, 'responded_on_time', g.responded_on_time, 'resolved', g.resolved,
  'evaluated', g.evaluated, 'satisfied', g.satisfied, 'proactive', g.proactive)
  ORDER BY g.key NULLS LAST, g.period), '[]')::text
FROM (SELECT key, CASE WHEN $2 = '' THEN NULL ELSE date_trunc($2, quarter AT TIME ZONE $3) END AS period,
             sum(cases) AS cases, sum(dispatched) AS dispatched, sum(response_due) AS response_due,
             sum(responded_on_time) AS responded_on_time, sum(resolved) AS resolved, sum(evaluated) AS evaluated,
             sum(satisfied) AS satisfied, sum(proactive) AS proactive
      FROM (SELECT {key} AS key, {quarter} AS quarter, count(*) AS cases,
                   count(*) FILTER (WHERE o.first_dispatched_at IS NOT NULL) AS dispatched,
                   count(*) FILTER (WHERE o.first_dispatched_at IS NOT NULL
                                    AND (o.responded_at IS NOT NULL OR o.respond_due < $6::timestamptz)) AS response_due,
                   count(*) FILTER (WHERE o.responded_at <= o.respond_due) AS responded_on_time,
                   count(*) FILTER (WHERE o.first_dispatched_at IS NOT NULL AND o.state IN ('resolved', 'closed'))
                     AS resolved,
                   count(*) FILTER (WHERE o.satisfaction IS NOT NULL) AS evaluated,
                   count(*) FILTER (WHERE o.satisfaction = 'satisfied') AS satisfied,
                   count(*) FILTER (WHERE o.proactive) AS proactive
            FROM orders o
            WHERE o.opened_at >= $4::timestamptz AND o.opened_at < $5::timestamptz
              AND o.state NOT IN ('cancelled', 'duplicate')
              AND ($7::text IS NULL OR o.areas @> jsonb_build_object($7::text, $8::text))
              AND $1::text IS NOT NULL  -- (types $1 when the grouping does not use it)
            GROUP BY 1, 2) h
      GROUP BY 1, 2) g
