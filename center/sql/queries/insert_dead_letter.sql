-- Input refused, kept with its reason.
INSERT INTO dead_letters (source, reason, payload) VALUES ($1, $2, $3::bytea)
