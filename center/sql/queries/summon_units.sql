-- 吹哨报到: summon units to a case (again), and the summons in its history.
WITH summoned AS (
  INSERT INTO case_tasks (case_id, unit, state, summoned_at, summoned_by, reason)
  SELECT $1, u, 'summoned', now(), $3, $4 FROM unnest($2::text[]) u
  ON CONFLICT (case_id, unit) DO UPDATE SET
    state = 'summoned', summoned_at = now(), summoned_by = $3, reason = $4,
    acknowledged_at = NULL, done_at = NULL, note = NULL
  RETURNING case_id)
INSERT INTO case_history (case_id, action, actor, detail)
SELECT $1, 'summon', $3, $5::jsonb WHERE EXISTS (SELECT 1 FROM summoned)
RETURNING gw_rfc3339(at)
