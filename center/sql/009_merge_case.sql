-- Migration 9: a dispatcher merges a case into another
-- Append only: never edit a migration that has shipped; add the next number.
-- The reverse of a split: every source of case cid joins case into_id; cid stays as a duplicate
-- (its history says where its reports went). Both cases are locked in id order.
CREATE FUNCTION gw_merge_case(cid text, into_id text, reason text, actor text) RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
  ids text[];
  from_state text;
  into_state text;
BEGIN
  IF cid = into_id THEN
    RAISE EXCEPTION 'a case cannot be merged into itself' USING ERRCODE = '22023';
  END IF;
  PERFORM 1 FROM orders WHERE id IN (cid, into_id) ORDER BY id FOR UPDATE;
  SELECT state INTO from_state FROM orders WHERE id = cid;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'no case "%"', cid USING ERRCODE = 'P0002';
  END IF;
  SELECT state INTO into_state FROM orders WHERE id = into_id;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'no case "%" to merge into', into_id USING ERRCODE = 'P0002';
  END IF;
  IF from_state IN ('closed', 'cancelled', 'duplicate') THEN
    RAISE EXCEPTION 'case "%" is % and cannot be merged', cid, from_state USING ERRCODE = '22023';
  END IF;
  IF into_state IN ('closed', 'cancelled', 'duplicate') THEN
    RAISE EXCEPTION 'case "%" is %: merge into an open case', into_id, into_state USING ERRCODE = '22023';
  END IF;
  SELECT array_agg(id ORDER BY received_at, id) INTO ids FROM sources WHERE case_id = cid;
  UPDATE sources SET case_id = into_id, updated_at = now(),
         merge = jsonb_build_object('decision', 'merged_by_dispatcher', 'from', cid, 'reason', reason,
                                    'by', actor, 'before', merge)
  WHERE case_id = cid;
  UPDATE orders SET state = 'duplicate', state_changed_at = now(), updated_at = now(), source_count = 0
  WHERE id = cid;
  UPDATE case_tasks SET state = 'cancelled' WHERE case_id = cid AND state IN ('summoned', 'acknowledged');
  INSERT INTO case_history (case_id, action, actor, detail)
  VALUES (cid, 'merged_into', actor, jsonb_build_object('into', into_id, 'sources', ids, 'reason', reason,
                                                        'from', from_state, 'to', 'duplicate')),
         (into_id, 'merged_from', actor, jsonb_build_object('from_case', cid, 'sources', ids, 'reason', reason));
  PERFORM gw_refresh_case(into_id);
  RETURN coalesce(cardinality(ids), 0);
END
$$;
