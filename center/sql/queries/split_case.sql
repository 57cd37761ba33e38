-- Sources moved out of a case into a new one: gw_split_case (migration 004).
SELECT gw_split_case($1, $2::text[], $3, $4)
