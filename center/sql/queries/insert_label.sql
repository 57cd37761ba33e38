-- A dispatcher's category for case $1 ($2, by $3) as its training label: the text of the case's
-- hotline tickets that have a description, and what the classifier had suggested for the first
-- of them. A later choice for the same case replaces it.
INSERT INTO classify_labels (case_id, text, suggested, category, chosen_by)
SELECT $1, string_agg(s.description, ' / ' ORDER BY s.received_at, s.id),
       (array_agg(s.suggestion->>'category' ORDER BY s.received_at, s.id)
          FILTER (WHERE s.suggestion IS NOT NULL))[1],
       $2, $3
FROM sources s WHERE s.case_id = $1 AND s.kind = 'hotline' AND coalesce(s.description, '') <> ''
HAVING count(*) > 0
ON CONFLICT (case_id) DO UPDATE SET text = EXCLUDED.text, suggested = EXCLUDED.suggested,
  category = EXCLUDED.category, chosen_by = EXCLUDED.chosen_by, chosen_at = now()
