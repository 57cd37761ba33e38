-- Migration 10: every change of a case is announced to the centers on the database
-- Append only: never edit a migration that has shipped; add the next number.
-- Several centers share one database: each streams the cases that change to its maps and phones
-- (/api/v1/events). A change made through one center reaches the others by NOTIFY on channel
-- gw_cases, delivered at commit to every session that LISTENs: {"case_id", "by"}, "by" the
-- application_name of the writer's session (gridwatch-center/ID), so that a center skips its own
-- changes, which it has streamed already.
CREATE FUNCTION gw_notify_case_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('gw_cases', json_build_object('case_id', NEW.id,
                                                  'by', current_setting('application_name', true))::text);
  RETURN NULL;
END
$$;

CREATE TRIGGER orders_notify_change AFTER INSERT OR UPDATE ON orders
  FOR EACH ROW EXECUTE FUNCTION gw_notify_case_change();
