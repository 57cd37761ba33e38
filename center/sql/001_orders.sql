-- Migration 1: orders, order events, dead letters
-- Append only: never edit a migration that has shipped; add the next number.
CREATE TABLE orders (
  id            text PRIMARY KEY,
  category      text NOT NULL,
  priority      text NOT NULL,
  status        text NOT NULL CHECK (status IN ('open', 'cleared')),
  source_kind   text NOT NULL,
  agent_id      text NOT NULL,
  device_id     text,
  rule          text,
  geom          geometry(Point, 4326),
  accuracy_m    double precision,
  confidence    double precision,
  first_seen_at timestamptz,
  observed_at   timestamptz NOT NULL,
  received_at   timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  cleared_at    timestamptz,
  description   text NOT NULL DEFAULT '',
  evidence      jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX orders_geom_gist ON orders USING gist (geom);
CREATE INDEX orders_status_category ON orders (status, category);
CREATE INDEX orders_updated_at ON orders (updated_at DESC);
CREATE TABLE order_events (
  order_id    text NOT NULL,
  event       text NOT NULL,
  observed_at timestamptz NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now(),
  payload     jsonb NOT NULL,
  PRIMARY KEY (order_id, event, observed_at)
);
CREATE TABLE dead_letters (
  id          bigserial PRIMARY KEY,
  received_at timestamptz NOT NULL DEFAULT now(),
  source      text NOT NULL,
  reason      text NOT NULL,
  payload     bytea NOT NULL
);
CREATE FUNCTION gw_rfc3339(t timestamptz) RETURNS text LANGUAGE sql IMMUTABLE AS
  $$ SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') $$;
