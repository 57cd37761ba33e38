-- Cases not resolved by their resolve due: flagged once per dispatch.
UPDATE orders SET overdue_resolve_at = $1::timestamptz, updated_at = now()
WHERE state IN ('dispatched', 'accepted', 'in_progress') AND resolve_due < $1::timestamptz
  AND overdue_resolve_at IS NULL
RETURNING id, gw_rfc3339(resolve_due), state
