-- A case locked for a change (pattern: the placeholder columns of orders).
SELECT {columns} FROM orders WHERE id = $1 FOR UPDATE
