-- A re-opened case: an earlier sensor verification no longer holds.
UPDATE orders SET verified_at = NULL, verified_by = NULL WHERE id = $1
