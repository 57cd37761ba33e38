-- Migration 3: orders placed in areas
-- Append only: never edit a migration that has shipped; add the next number.
ALTER TABLE orders ADD COLUMN areas jsonb;
ALTER TABLE orders ADD COLUMN area_code text;
CREATE INDEX orders_area_code ON orders (area_code);
