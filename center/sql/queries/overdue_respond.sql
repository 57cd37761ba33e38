-- Cases dispatched and not accepted by their respond due: flagged once per dispatch.
UPDATE orders SET overdue_respond_at = $1::timestamptz, updated_at = now()
WHERE state = 'dispatched' AND respond_due < $1::timestamptz AND overdue_respond_at IS NULL
RETURNING id, gw_rfc3339(respond_due), state
