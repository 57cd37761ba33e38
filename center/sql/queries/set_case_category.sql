-- The dispatcher's category $2 for case $1: the case takes it, and so do its hotline sources (so
-- that a later merge or refresh keeps it); cameras' and sensors' sources keep their own.
WITH s AS (UPDATE sources SET category = $2 WHERE case_id = $1 AND kind = 'hotline')
UPDATE orders SET category = $2, updated_at = now() WHERE id = $1
