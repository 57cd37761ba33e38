-- Migration 13: grid workers on patrol: their reports, verification on site, their tracks
-- Append only: never edit a migration that has shipped; add the next number.

-- 巡查上报: what a worker finds on the round is a source of its own kind (proactive, like the edge's).
ALTER TABLE sources DROP CONSTRAINT sources_kind_check;
ALTER TABLE sources ADD CONSTRAINT sources_kind_check CHECK (kind IN ('camera', 'sensor', 'hotline', 'patrol'));

-- 核查: a resolved case of a category verified on site waits in `verifying` for another worker.
ALTER TABLE orders DROP CONSTRAINT orders_state_check;
ALTER TABLE orders ADD CONSTRAINT orders_state_check
  CHECK (state IN ('new', 'dispatched', 'accepted', 'in_progress', 'resolved', 'closed', 'rejected',
                   'reopened', 'cancelled', 'duplicate', 'verifying'));
ALTER TABLE orders
  ADD COLUMN resolved_by       text,         -- who resolved it last: may not verify it
  ADD COLUMN verify_by         text,         -- the category's verification when it was resolved
  ADD COLUMN verifier          text,         -- the worker asked to verify (NULL: the dispatcher)
  ADD COLUMN verify_due        timestamptz,
  ADD COLUMN overdue_verify_at timestamptz;

-- A sensor that sees the problem gone closes a case waiting for a sensor's verification.
CREATE OR REPLACE FUNCTION gw_sensor_verifies() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE orders SET verified_at = NEW.cleared_at, verified_by = NEW.id, updated_at = now()
  WHERE id = NEW.case_id;
  INSERT INTO case_history (case_id, action, source_id, actor, detail)
  SELECT NEW.case_id, 'verified', NEW.id, 'sensor',
         jsonb_build_object('state', o.state, 'cleared_at', gw_rfc3339(NEW.cleared_at), 'device_id', NEW.device_id)
  FROM orders o WHERE o.id = NEW.case_id;
  WITH closed AS (
    UPDATE orders SET state = 'closed', state_changed_at = now(), updated_at = now()
    WHERE id = NEW.case_id AND state = 'verifying' AND verify_by = 'sensor'
    RETURNING id)
  INSERT INTO case_history (case_id, action, source_id, actor, detail)
  SELECT id, 'verify', NEW.id, 'sensor',
         jsonb_build_object('from', 'verifying', 'to', 'closed', 'reason',
                            'the sensor ' || coalesce(NEW.device_id, NEW.id) || ' reports the problem gone')
  FROM closed;
  RETURN NULL;
END
$$;

-- Where grid workers walked (kept `patrol.keep`, then deleted), and the 50 m cells of their grid
-- each passed that day (the coverage, counted as positions arrive).
CREATE TABLE patrol_positions (
  worker     text NOT NULL,
  at         timestamptz NOT NULL,
  geom       geometry(Point, 4326) NOT NULL,
  accuracy_m real,
  grid       text NOT NULL,
  shift      text NOT NULL,
  PRIMARY KEY (worker, at)
);
CREATE INDEX patrol_positions_at ON patrol_positions (at);
CREATE TABLE patrol_cells (
  day    date NOT NULL,  -- in patrol.time_zone
  grid   text NOT NULL,
  worker text NOT NULL,
  cell   int  NOT NULL,  -- row * columns + column of the grid's lattice
  PRIMARY KEY (day, grid, worker, cell)
);
