-- Cases per category group (the code before its dot), area of one level ($4) and local day in time zone $3, from $1 to $2 (day 0: the local day of $1); only the cases in area $5/$6 and of category or group $7 when given.
SELECT split_part(o.category, '.', 1), o.areas->>$4::text, coalesce(min(a.name), ''),
       ((o.opened_at AT TIME ZONE $3::text)::date - ($1::timestamptz AT TIME ZONE $3::text)::date)::int AS day,
       count(*)
FROM orders o LEFT JOIN areas a ON a.level_name = $4::text AND a.code = o.areas->>$4::text
WHERE o.opened_at >= $1::timestamptz AND o.opened_at < $2::timestamptz
  AND o.state NOT IN ('cancelled', 'duplicate') AND o.areas ? $4::text
  AND ($7::text IS NULL OR o.category = $7::text OR o.category LIKE $7::text || '.%')
  AND ($6::text IS NULL OR o.areas @> jsonb_build_object($5::text, $6::text))
GROUP BY 1, 2, 4
ORDER BY 1, 2, 4
