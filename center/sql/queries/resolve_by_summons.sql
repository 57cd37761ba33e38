-- The last summoned unit done resolves the case ($4: resolved, verifying or closed, by the
-- category's verification; $5 verify_by, $6 the verifier, $7 the verification's time).
WITH moved AS (
  UPDATE orders SET state = $4, state_changed_at = now(), updated_at = now(), resolved_at = now(),
    resolved_by = $2, verify_by = $5, verifier = $6, verify_due = now() + $7::interval,
    overdue_verify_at = NULL
  WHERE id = $1 RETURNING id)
INSERT INTO case_history (case_id, action, actor, detail) SELECT id, 'resolve', $2, $3::jsonb FROM moved
