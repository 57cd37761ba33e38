-- The cases opened per category in [$1, $2) and in the span before it [$3, $1), busiest first (cancelled and duplicate cases are not counted; $4/$5 an area level and code, or NULL).
SELECT coalesce(json_agg(json_build_object('category', c.category, 'cases', c.cases, 'previous', c.previous)
                         ORDER BY c.cases DESC, c.previous DESC, c.category), '[]')::text
FROM (SELECT o.category,
             count(*) FILTER (WHERE o.opened_at >= $1::timestamptz) AS cases,
             count(*) FILTER (WHERE o.opened_at < $1::timestamptz) AS previous
      FROM orders o
      WHERE o.opened_at >= $3::timestamptz AND o.opened_at < $2::timestamptz
        AND o.state NOT IN ('cancelled', 'duplicate')
        AND ($4::text IS NULL OR o.areas @> jsonb_build_object($4::text, $5::text))
      GROUP BY o.category) c
