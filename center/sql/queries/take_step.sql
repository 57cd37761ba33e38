-- A lifecycle step: the case's new state, its unit, SLA dues and marks, its verification, and the step
-- in its history.
WITH moved AS (
  UPDATE orders SET
    state = $2, state_changed_at = now(), updated_at = now(),
    unit_code     = CASE WHEN $3 = 'dispatch' THEN $6 ELSE unit_code END,
    department    = CASE WHEN $3 = 'dispatch' THEN $7 ELSE department END,
    dispatched_at = CASE WHEN $3 = 'dispatch' THEN now() ELSE dispatched_at END,
    first_dispatched_at = CASE WHEN $3 = 'dispatch' THEN coalesce(first_dispatched_at, now())
                               ELSE first_dispatched_at END,
    assignee      = CASE WHEN $3 = 'dispatch' THEN $11 ELSE assignee END,
    respond_due   = CASE WHEN $3 = 'dispatch' THEN now() + $8::interval ELSE respond_due END,
    resolve_due   = CASE WHEN $3 = 'dispatch' THEN now() + $9::interval ELSE resolve_due END,
    responded_at  = CASE WHEN $3 = 'dispatch' THEN NULL
                         WHEN $3 IN ('accept', 'reject') THEN coalesce(responded_at, now())
                         ELSE responded_at END,
    resolved_at   = CASE WHEN $3 = 'dispatch' THEN NULL WHEN $3 = 'resolve' THEN now() ELSE resolved_at END,
    overdue_respond_at = CASE WHEN $3 = 'dispatch' THEN NULL ELSE overdue_respond_at END,
    overdue_resolve_at = CASE WHEN $3 = 'dispatch' THEN NULL ELSE overdue_resolve_at END,
    satisfaction  = coalesce($10, satisfaction),
    -- resolve: who did (may not verify it), and the verification it waits for ($12-$14)
    resolved_by   = CASE WHEN $3 = 'resolve' THEN $4 ELSE resolved_by END,
    verify_by     = CASE WHEN $3 = 'resolve' THEN $12 WHEN $3 = 'dispatch' THEN NULL ELSE verify_by END,
    verifier      = CASE WHEN $3 = 'resolve' THEN $13 WHEN $3 = 'dispatch' THEN NULL ELSE verifier END,
    verify_due    = CASE WHEN $3 = 'resolve' THEN now() + $14::interval WHEN $3 = 'dispatch' THEN NULL
                         ELSE verify_due END,
    overdue_verify_at = CASE WHEN $3 IN ('resolve', 'dispatch') THEN NULL ELSE overdue_verify_at END
  WHERE id = $1 RETURNING id)
INSERT INTO case_history (case_id, action, actor, detail)
SELECT id, $3, $4, $5::jsonb FROM moved
RETURNING gw_rfc3339(at)
