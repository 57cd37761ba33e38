-- Migration 12: an order's open and clear stored by two centers at once
-- Append only: never edit a migration that has shipped; add the next number.
-- Centers that share the order stream may take an order's open and its clear at the same moment:
-- the clear does not see the open's source yet and adds one of its own with the same id, and
-- whichever comes second fails on the key. That was kept as a dead letter (the clear lost, the
-- case left open). Now the second one, failing on the source's key, updates the source the other
-- center has just committed (a unique violation is raised once the other transaction has
-- committed; the next statement sees its row). Any other unique violation stays an error.
CREATE OR REPLACE FUNCTION gw_ingest_edge(p jsonb, raw jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  r jsonb;
  c text;
BEGIN
  INSERT INTO order_events (order_id, event, observed_at, payload)
  VALUES (p->>'id', p->>'event', (p->>'observed_at')::timestamptz, raw) ON CONFLICT DO NOTHING;
  IF NOT FOUND THEN
    RETURN jsonb_build_object('result', 'duplicate');
  END IF;
  IF p->>'event' <> 'open' THEN
    r := gw_update_source(p);
    IF r->>'result' <> 'unknown' THEN
      RETURN r;
    END IF;
  END IF;
  BEGIN
    r := gw_add_source(p);
  EXCEPTION WHEN unique_violation THEN
    GET STACKED DIAGNOSTICS c = CONSTRAINT_NAME;
    IF c IS DISTINCT FROM 'sources_pkey' THEN
      RAISE;
    END IF;
    r := jsonb_build_object('result', 'exists');  -- another center's, committed meanwhile
  END;
  IF r->>'result' = 'exists' THEN
    r := gw_update_source(p);
  END IF;
  RETURN r;
EXCEPTION
  -- Deadlocks and lock timeouts are not the event's fault: the whole batch is retried.
  WHEN deadlock_detected OR serialization_failure OR lock_not_available THEN
    RAISE;
  WHEN others THEN
    RETURN jsonb_build_object('result', 'error', 'error', SQLERRM);
END
$$;
