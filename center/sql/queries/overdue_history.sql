-- An overdue mark in the case's history.
INSERT INTO case_history (case_id, action, actor, detail) VALUES ($1, 'overdue', 'sla', $2::jsonb)
