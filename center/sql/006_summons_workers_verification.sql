-- Migration 6: summoned units, grid workers, sensor verification
-- Append only: never edit a migration that has shipped; add the next number.
-- 吹哨报到: units summoned to a case, each acknowledging and finishing its own part.
CREATE TABLE case_tasks (
  case_id         text NOT NULL REFERENCES orders (id),
  unit            text NOT NULL,
  -- cancelled: the case was sent back, cancelled, marked a duplicate or dispatched again
  state           text NOT NULL CHECK (state IN ('summoned', 'acknowledged', 'done', 'cancelled')),
  summoned_at     timestamptz NOT NULL,
  summoned_by     text NOT NULL,
  reason          text NOT NULL DEFAULT '',
  acknowledged_at timestamptz,
  done_at         timestamptz,
  note            text,
  PRIMARY KEY (case_id, unit)
);
-- Grid workers and where they last were (reported from their phones).
CREATE TABLE workers (
  id          text PRIMARY KEY,
  grid        text NOT NULL,
  on_duty     boolean NOT NULL,
  geom        geometry(Point, 4326),
  located_at  timestamptz,          -- when geom was reported (a report may carry no position)
  reported_at timestamptz NOT NULL
);
CREATE INDEX workers_grid ON workers (grid);
ALTER TABLE orders
  ADD COLUMN assignee text,                    -- the grid worker it went to
  ADD COLUMN first_dispatched_at timestamptz,  -- the three rates count a case once
  ADD COLUMN verified_at timestamptz,          -- a sensor saw the problem gone
  ADD COLUMN verified_by text;
UPDATE orders SET first_dispatched_at = dispatched_at;
-- A worker's cases: areas @> {"grid": "..."}.
CREATE INDEX orders_areas ON orders USING gin (areas jsonb_path_ops);
-- The rates per period count quarter hours first: without this the planner expects a group per
-- case and gives up parallel aggregation.
CREATE STATISTICS orders_opened_quarter ON (date_bin('15 minutes', opened_at, '2000-01-01T00:00:00Z')) FROM orders;

-- A sensor that reports its problem gone verifies the case (whatever its state).
CREATE FUNCTION gw_sensor_verifies() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE orders SET verified_at = NEW.cleared_at, verified_by = NEW.id, updated_at = now()
  WHERE id = NEW.case_id;
  INSERT INTO case_history (case_id, action, source_id, actor, detail)
  SELECT NEW.case_id, 'verified', NEW.id, 'sensor',
         jsonb_build_object('state', o.state, 'cleared_at', gw_rfc3339(NEW.cleared_at), 'device_id', NEW.device_id)
  FROM orders o WHERE o.id = NEW.case_id;
  RETURN NULL;
END
$$;
-- At commit: a new source's case row is written after the source.
CREATE CONSTRAINT TRIGGER sources_sensor_cleared AFTER UPDATE OF status ON sources
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
  WHEN (NEW.kind = 'sensor' AND OLD.status = 'open' AND NEW.status = 'cleared')
  EXECUTE FUNCTION gw_sensor_verifies();
CREATE CONSTRAINT TRIGGER sources_sensor_cleared_new AFTER INSERT ON sources
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
  WHEN (NEW.kind = 'sensor' AND NEW.status = 'cleared')
  EXECUTE FUNCTION gw_sensor_verifies();
