-- Cases resolved and not verified on site by their verify due: flagged once per resolve.
UPDATE orders SET overdue_verify_at = $1::timestamptz, updated_at = now()
WHERE state = 'verifying' AND verify_due < $1::timestamptz AND overdue_verify_at IS NULL
RETURNING id, gw_rfc3339(verify_due), state
