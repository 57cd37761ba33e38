-- The first result of a step sent again with the same request_id (a phone that lost the answer).
SELECT action, detail->>'from', detail->>'to', gw_rfc3339(at), coalesce(detail->>'unit', ''), coalesce(detail->>'worker', '') FROM case_history WHERE case_id = $1 AND detail ? 'request_id' AND detail->>'request_id' = $2 ORDER BY id LIMIT 1
