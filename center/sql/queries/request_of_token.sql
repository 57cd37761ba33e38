-- The ticket of an Open311 token.
SELECT id FROM sources WHERE token = $1
