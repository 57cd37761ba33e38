-- Keeps a monthly problem picked for root-cause work (month $1 as YYYY-MM-01, group $2, who $3, note $4, score $5); picking it again replaces the note.
INSERT INTO monthly_problems (month, category_group, picked_by, note, score)
VALUES ($1::date, $2::text, $3::text, $4::text, $5::float8)
ON CONFLICT (month, category_group) DO UPDATE SET picked_by = EXCLUDED.picked_by, picked_at = now(),
  note = EXCLUDED.note, score = EXCLUDED.score
RETURNING gw_rfc3339(picked_at)
