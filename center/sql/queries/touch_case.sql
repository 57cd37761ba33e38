-- A case changed without a step (its map and events show it).
UPDATE orders SET updated_at = now() WHERE id = $1
