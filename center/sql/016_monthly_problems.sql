-- Migration 16: monthly problems picked for root-cause work
-- Append only: never edit a migration that has shipped; add the next number.
-- 每月一题: a person picks one (or more) of the month's candidates; picked problems are tracked
-- month over month (docs/analytics.md).
CREATE TABLE monthly_problems (
  month          date NOT NULL,           -- the first day of the month it was picked for
  category_group text NOT NULL,
  picked_by      text NOT NULL,
  picked_at      timestamptz NOT NULL DEFAULT now(),
  note           text NOT NULL DEFAULT '',
  score          double precision,        -- its score when it was picked
  PRIMARY KEY (month, category_group)
);
