-- A migration applied.
INSERT INTO schema_migrations (version, name) VALUES ($1::int, $2)
