-- the dead letters of source $1 beyond the newest $2, deleted (a capped source's rotation)
DELETE FROM dead_letters
 WHERE source = $1
   AND id <= (SELECT id FROM dead_letters WHERE source = $1 ORDER BY id DESC OFFSET $2::bigint LIMIT 1)
