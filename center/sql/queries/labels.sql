-- Training labels chosen since $1 (RFC 3339 or NULL), oldest first, at most $2.
SELECT case_id, text, coalesce(suggested, ''), category, chosen_by, gw_rfc3339(chosen_at)
FROM classify_labels
WHERE $1::timestamptz IS NULL OR chosen_at >= $1::timestamptz
ORDER BY id LIMIT $2
