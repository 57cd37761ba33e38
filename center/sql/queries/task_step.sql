-- A summoned unit acknowledges or finishes its sub-task, kept in the case's history.
WITH stepped AS (
  UPDATE case_tasks SET state = $3,
    acknowledged_at = CASE WHEN $3 = 'acknowledged' THEN now() ELSE acknowledged_at END,
    done_at = CASE WHEN $3 = 'done' THEN now() ELSE done_at END,
    note = coalesce(nullif($4, ''), note)
  WHERE case_id = $1 AND unit = $2 RETURNING case_id)
INSERT INTO case_history (case_id, action, actor, detail)
SELECT case_id, $5, $6, jsonb_build_object('unit', $2::text, 'note', $4::text) FROM stepped
RETURNING gw_rfc3339(at)
