-- A case joined into another: gw_merge_case (migration 009).
SELECT gw_merge_case($1, $2, $3, $4)
