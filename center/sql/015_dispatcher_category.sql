-- Migration 15: the dispatcher's category holds
-- A category a dispatcher chose (POST .../actions {"action": "dispatch", "category": ...}) stays
-- the case's when sources are added, updated, cleared or merged later: gw_refresh_case takes it
-- before the most urgent source's. One training label per case: the latest choice.
ALTER TABLE orders ADD COLUMN dispatcher_category text;

DELETE FROM classify_labels a USING classify_labels b WHERE a.case_id = b.case_id AND a.id < b.id;
CREATE UNIQUE INDEX classify_labels_case ON classify_labels (case_id);

CREATE OR REPLACE FUNCTION gw_refresh_case(cid text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
UPDATE orders o SET
  category         = coalesce(o.dispatcher_category, s.top_category),
  priority         = gw_priority_name(s.best - (s.reports >= 2)::int - (s.reports >= 4)::int),
  status           = CASE WHEN s.open_count > 0 THEN 'open' ELSE 'cleared' END,
  cleared_at       = CASE WHEN s.open_count > 0 THEN NULL ELSE s.last_cleared END,
  source_kind      = p.kind,
  agent_id         = p.agent_id,
  device_id        = p.device_id,
  rule             = p.rule,
  geom             = p.geom,
  accuracy_m       = p.accuracy_m,
  confidence       = p.confidence,
  areas            = p.areas,
  area_code        = p.area_code,
  address          = p.address,
  description      = p.description,
  evidence         = p.evidence,
  first_seen_at    = s.opened,
  opened_at        = s.opened,
  observed_at      = s.last_observed,
  reports          = s.reports,
  source_count     = s.n,
  first_edge_at    = s.first_edge,
  first_hotline_at = s.first_hotline,
  preempted        = coalesce(s.first_edge < s.first_hotline, false),
  proactive        = p.kind <> 'hotline',
  updated_at       = now()
FROM (SELECT count(*) AS n, count(DISTINCT reporter) AS reports,
             min(gw_priority_rank(priority)) AS best,
             (array_agg(category ORDER BY gw_priority_rank(priority), reported_at))[1] AS top_category,
             count(*) FILTER (WHERE status = 'open') AS open_count,
             max(cleared_at) AS last_cleared,
             min(reported_at) AS opened, max(observed_at) AS last_observed,
             min(reported_at) FILTER (WHERE kind <> 'hotline') AS first_edge,
             min(reported_at) FILTER (WHERE kind = 'hotline') AS first_hotline,
             (array_agg(id ORDER BY reported_at, received_at, id))[1] AS primary_id
      FROM sources WHERE case_id = cid) s
JOIN sources p ON p.id = s.primary_id
WHERE o.id = cid;
END
$$;
