-- Migration 17: the cases by the time they were opened
-- Append only: never edit a migration that has shipped; add the next number.
-- The rates, the analytics and the reports read the cases opened in a window; without this every
-- one of them read the whole table (a year of a district is millions of cases).
CREATE INDEX orders_opened_at ON orders (opened_at);
