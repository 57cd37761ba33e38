-- Is a case within a scope (pattern: the placeholder scope is the scope's condition); no row: no such case.
SELECT {scope} FROM orders o WHERE o.id = $1
