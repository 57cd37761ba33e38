-- A photo a worker or a resident uploaded.
INSERT INTO media (id, content_type, uploaded_by, bytes) VALUES ($1, $2, $3, $4::bytea)
