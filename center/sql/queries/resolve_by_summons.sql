-- The last summoned unit done resolves the case.
WITH moved AS (
  UPDATE orders SET state = 'resolved', state_changed_at = now(), updated_at = now(), resolved_at = now()
  WHERE id = $1 RETURNING id)
INSERT INTO case_history (case_id, action, actor, detail) SELECT id, 'resolve', $2, $3::jsonb FROM moved
