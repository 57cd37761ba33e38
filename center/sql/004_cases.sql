-- Migration 4: cases: sources, merge and history
-- Append only: never edit a migration that has shipped; add the next number.
-- An order row is now a case: one problem at one place, reported by one or more sources (edge
-- orders and hotline tickets). The case's own columns are derived from its sources by
-- gw_refresh_case(); its id is the id of the source that opened it.
ALTER TABLE orders ALTER COLUMN agent_id DROP NOT NULL;
ALTER TABLE orders
  ADD COLUMN opened_at        timestamptz,
  ADD COLUMN reports          int NOT NULL DEFAULT 1,
  ADD COLUMN source_count     int NOT NULL DEFAULT 1,
  ADD COLUMN first_edge_at    timestamptz,
  ADD COLUMN first_hotline_at timestamptz,
  ADD COLUMN preempted        boolean NOT NULL DEFAULT false,
  ADD COLUMN proactive        boolean NOT NULL DEFAULT false,
  ADD COLUMN address          text;
UPDATE orders SET opened_at = coalesce(first_seen_at, observed_at);
-- The merge search uses orders_geom_gist and filters on status: a second, partial GiST index on
-- open cases made every new case 30 % dearer to store.

CREATE TABLE sources (
  id            text PRIMARY KEY,  -- edge order id, or the service_request_id of a ticket
  case_id       text NOT NULL REFERENCES orders (id) DEFERRABLE INITIALLY DEFERRED,
  kind          text NOT NULL CHECK (kind IN ('camera', 'sensor', 'hotline')),
  channel       text NOT NULL,     -- mqtt | open311 | import:<name>
  reporter      text NOT NULL,     -- who reported, for counting independent reports
  category      text NOT NULL,
  priority      text NOT NULL,
  status        text NOT NULL CHECK (status IN ('open', 'cleared')),
  agent_id      text,
  device_id     text,
  rule          text,
  geom          geometry(Point, 4326),
  accuracy_m    double precision,
  confidence    double precision,
  areas         jsonb,
  area_code     text,
  address       text,
  description   text NOT NULL DEFAULT '',
  evidence      jsonb NOT NULL DEFAULT '{}',
  attributes    jsonb NOT NULL DEFAULT '{}',
  contact       jsonb,             -- hotline caller's details; never served by the public API
  media_url     text,
  token         text UNIQUE,
  reported_at   timestamptz NOT NULL,  -- first seen (edge) or requested (hotline)
  observed_at   timestamptz NOT NULL,
  received_at   timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  cleared_at    timestamptz,
  merge         jsonb NOT NULL     -- why it joined its case (or opened one)
);
CREATE INDEX sources_case ON sources (case_id);
CREATE SEQUENCE ticket_numbers;
CREATE INDEX sources_reported_at ON sources (reported_at);

CREATE TABLE case_history (
  id        bigserial PRIMARY KEY,
  case_id   text NOT NULL,
  at        timestamptz NOT NULL DEFAULT now(),
  action    text NOT NULL,       -- opened | merged | updated | cleared | split | split_from
  source_id text,
  actor     text,
  detail    jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX case_history_case ON case_history (case_id, id);

-- Existing orders become cases of one source each.
INSERT INTO sources (id, case_id, kind, channel, reporter, category, priority, status, agent_id,
                     device_id, rule, geom, accuracy_m, confidence, areas, area_code, description,
                     evidence, reported_at, observed_at, received_at, updated_at, cleared_at, merge)
SELECT id, id, source_kind, 'mqtt', concat_ws('/', agent_id, device_id), category, priority, status,
       agent_id, device_id, rule, geom, accuracy_m, confidence, areas, area_code, description,
       evidence, coalesce(first_seen_at, observed_at), observed_at, received_at, updated_at,
       cleared_at, '{"decision": "new", "why": "stored before cases were merged"}'
FROM orders;
UPDATE orders SET proactive = true;

CREATE FUNCTION gw_priority_rank(p text) RETURNS int LANGUAGE sql IMMUTABLE AS
  $$ SELECT CASE p WHEN 'urgent' THEN 0 WHEN 'high' THEN 1 WHEN 'normal' THEN 2 ELSE 3 END $$;
CREATE FUNCTION gw_priority_name(r int) RETURNS text LANGUAGE sql IMMUTABLE AS
  $$ SELECT (ARRAY['urgent', 'high', 'normal', 'low'])[greatest(0, least(3, r)) + 1] $$;

-- Derives a case from its sources. The primary source (the first reported) gives the place,
-- the description and the evidence; the category is that of the most urgent source; the
-- priority is the most urgent source's, one step higher from 2 independent reports (distinct
-- reporters) and two steps from 4; the case is open while any source is.
CREATE FUNCTION gw_refresh_case(cid text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
UPDATE orders o SET
  category         = s.top_category,
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

-- Adds a source (an edge order seen for the first time, or a ticket) and decides its case.
-- p: the source's fields, plus "merge": [{category, radius_m, window_s}] (the categories it may
-- join, with radius and window), "box": [min lon, min lat, max lon, max lat] around the widest
-- radius, and "locks": advisory lock keys of the places the decision reads (taken in order, so
-- two sources at one place are decided one after the other). Returns {"result": "new" | "merged"
-- | "exists", "case_id", "decision"}.
CREATE FUNCTION gw_add_source(p jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  pt geometry;
  env geometry;
  t timestamptz := (p->>'reported_at')::timestamptz;
  k bigint;
  existing text;
  cand_id text;
  cand_d float8;
  cand_opened timestamptz;
  cand_category text;
  cand_radius float8;
  cand_window float8;
  cid text;
  decision jsonb;
BEGIN
  -- A ticket without an id gets the next number: h20261123-000000042.
  IF p->>'id' IS NULL THEN
    p := p || jsonb_build_object('id', 'h' || to_char(now() AT TIME ZONE 'UTC', 'YYYYMMDD') || '-' ||
                                       to_char(nextval('ticket_numbers'), 'FM000000000'));
  END IF;
  IF (p->>'want_token')::boolean THEN
    p := p || jsonb_build_object('token', gen_random_uuid()::text);
  END IF;
  IF p->>'lon' IS NOT NULL THEN
    pt := ST_SetSRID(ST_MakePoint((p->>'lon')::float8, (p->>'lat')::float8), 4326);
  END IF;
  FOR k IN SELECT x::bigint FROM jsonb_array_elements_text(coalesce(p->'locks', '[]')) x ORDER BY 1 LOOP
    PERFORM pg_advisory_xact_lock(k);
  END LOOP;
  SELECT case_id INTO existing FROM sources WHERE id = p->>'id';
  IF existing IS NOT NULL THEN
    RETURN jsonb_build_object('result', 'exists', 'id', p->>'id', 'case_id', existing);
  END IF;
  IF pt IS NOT NULL AND jsonb_array_length(coalesce(p->'merge', '[]')) > 0 THEN
    -- A variable, not an expression of p: the cached plan then searches the GiST index.
    env := ST_MakeEnvelope((p->'box'->>0)::float8, (p->'box'->>1)::float8,
                           (p->'box'->>2)::float8, (p->'box'->>3)::float8, 4326);
    SELECT o.id, ST_Distance(o.geom::geography, pt::geography), o.opened_at, o.category,
           m.radius_m, m.window_s
      INTO cand_id, cand_d, cand_opened, cand_category, cand_radius, cand_window
    FROM orders o
    JOIN jsonb_to_recordset(p->'merge') AS m(category text, radius_m float8, window_s float8)
      ON o.category = m.category
    WHERE o.status = 'open'
      AND o.geom && env
      AND ST_DWithin(o.geom::geography, pt::geography, m.radius_m)
      AND abs(extract(epoch FROM t - o.opened_at)) <= m.window_s
    ORDER BY 2, o.opened_at DESC, o.id
    LIMIT 1;
  END IF;
  IF cand_id IS NULL THEN
    cid := p->>'id';
    IF EXISTS (SELECT 1 FROM orders WHERE id = cid) THEN
      cid := cid || '.' || substr(md5(random()::text), 1, 8);
    END IF;
    decision := jsonb_build_object(
      'decision', 'new',
      'why', CASE WHEN pt IS NULL THEN 'no location: cannot be merged'
                  WHEN jsonb_array_length(coalesce(p->'merge', '[]')) = 0
                    THEN 'the category does not merge'
                  ELSE 'no open case of a compatible category within its radius and window' END);
  ELSE
    cid := cand_id;
    decision := jsonb_build_object(
      'decision', 'merged', 'case_id', cand_id, 'case_category', cand_category,
      'distance_m', round(cand_d::numeric, 1), 'radius_m', cand_radius,
      'age_s', round(extract(epoch FROM t - cand_opened)::numeric, 1), 'window_s', cand_window);
  END IF;
  INSERT INTO sources (id, case_id, kind, channel, reporter, category, priority, status, agent_id,
                       device_id, rule, geom, accuracy_m, confidence, areas, area_code, address,
                       description, evidence, attributes, contact, media_url, token, reported_at,
                       observed_at, cleared_at, merge)
  VALUES (p->>'id', cid, p->>'kind', p->>'channel', coalesce(p->>'reporter', 'ticket:' || (p->>'id')),
          p->>'category', p->>'priority',
          coalesce(p->>'status', 'open'), p->>'agent_id', p->>'device_id', p->>'rule', pt,
          (p->>'accuracy_m')::float8, (p->>'confidence')::float8, p->'areas', p->>'area_code',
          p->>'address', coalesce(p->>'description', ''), coalesce(p->'evidence', '{}'),
          coalesce(p->'attributes', '{}'), p->'contact', p->>'media_url', p->>'token', t,
          coalesce((p->>'observed_at')::timestamptz, t),
          CASE WHEN p->>'status' = 'cleared' THEN coalesce((p->>'observed_at')::timestamptz, t) END,
          decision);
  IF cand_id IS NULL THEN
    -- A case of one source: its columns are the source's (what gw_refresh_case would derive).
    INSERT INTO orders (id, category, priority, status, source_kind, agent_id, device_id, rule, geom,
                        accuracy_m, confidence, first_seen_at, observed_at, cleared_at, description,
                        evidence, areas, area_code, address, opened_at, reports, source_count,
                        first_edge_at, first_hotline_at, preempted, proactive)
    SELECT cid, category, priority, status, kind, agent_id, device_id, rule, geom, accuracy_m,
           confidence, reported_at, observed_at, cleared_at, description, evidence, areas, area_code,
           address, reported_at, 1, 1, CASE WHEN kind <> 'hotline' THEN reported_at END,
           CASE WHEN kind = 'hotline' THEN reported_at END, false, kind <> 'hotline'
    FROM sources WHERE id = p->>'id';
  ELSE
    PERFORM gw_refresh_case(cid);
  END IF;
  INSERT INTO case_history (case_id, action, source_id, actor, detail)
  VALUES (cid, CASE WHEN cand_id IS NULL THEN 'opened' ELSE 'merged' END, p->>'id',
          p->>'channel', decision);
  RETURN jsonb_build_object('result', CASE WHEN cand_id IS NULL THEN 'new' ELSE 'merged' END,
                            'id', p->>'id', 'token', p->>'token', 'case_id', cid,
                            'decision', decision);
END
$$;

-- A later event of a known edge order (update or clear).
CREATE FUNCTION gw_update_source(p jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  cid text;
  newer boolean;
  was text;
  owner_kind text;
  owner text;
BEGIN
  SELECT case_id, (p->>'observed_at')::timestamptz >= observed_at, status, kind, agent_id
    INTO cid, newer, was, owner_kind, owner
  FROM sources WHERE id = p->>'id' FOR UPDATE;
  IF cid IS NULL THEN
    RETURN jsonb_build_object('result', 'unknown');
  END IF;
  -- Only the agent that reported an order may change it; tickets are not edge orders.
  IF owner_kind = 'hotline' OR owner IS DISTINCT FROM p->>'agent_id' THEN
    RETURN jsonb_build_object('result', 'error', 'error',
                              format('id "%s" belongs to another source', p->>'id'));
  END IF;
  UPDATE sources SET
    geom        = coalesce(geom, CASE WHEN p->>'lon' IS NULL THEN NULL ELSE
                    ST_SetSRID(ST_MakePoint((p->>'lon')::float8, (p->>'lat')::float8), 4326) END),
    accuracy_m  = coalesce(accuracy_m, (p->>'accuracy_m')::float8),
    areas       = coalesce(areas, p->'areas'),
    area_code   = coalesce(area_code, p->>'area_code'),
    reported_at = least(reported_at, (p->>'reported_at')::timestamptz),
    priority    = CASE WHEN p->>'event' = 'update' AND newer THEN p->>'priority' ELSE priority END,
    description = CASE WHEN p->>'event' = 'update' AND newer THEN p->>'description' ELSE description END,
    evidence    = CASE WHEN newer AND p->'evidence' <> '{}' THEN p->'evidence' ELSE evidence END,
    confidence  = coalesce((p->>'confidence')::float8, confidence),
    status      = CASE WHEN p->>'event' = 'clear' THEN 'cleared' ELSE status END,
    cleared_at  = CASE WHEN p->>'event' = 'clear' THEN coalesce(cleared_at, (p->>'observed_at')::timestamptz)
                       ELSE cleared_at END,
    observed_at = greatest(observed_at, (p->>'observed_at')::timestamptz),
    updated_at  = now()
  WHERE id = p->>'id';
  INSERT INTO case_history (case_id, action, source_id, actor, detail)
  VALUES (cid, CASE WHEN p->>'event' = 'clear' THEN 'cleared' ELSE 'updated' END, p->>'id', 'mqtt',
          jsonb_build_object('event', p->>'event', 'observed_at', p->>'observed_at',
                             'priority', p->>'priority'));
  PERFORM gw_refresh_case(cid);
  RETURN jsonb_build_object('result', 'updated', 'case_id', cid);
END
$$;

-- One edge order event, whole: stored once in order_events (a copy delivered again changes
-- nothing), then a new source (with its merge decision) or an update of a known one. An error
-- undoes all of it and is returned as {"result": "error", "error": "..."}, so that one bad event
-- does not abort the batch it came in.
CREATE FUNCTION gw_ingest_edge(p jsonb, raw jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  r jsonb;
BEGIN
  INSERT INTO order_events (order_id, event, observed_at, payload)
  VALUES (p->>'id', p->>'event', (p->>'observed_at')::timestamptz, raw) ON CONFLICT DO NOTHING;
  IF NOT FOUND THEN
    RETURN jsonb_build_object('result', 'duplicate');
  END IF;
  IF p->>'event' <> 'open' THEN
    r := gw_update_source(p);
    IF r->>'result' <> 'unknown' THEN
      RETURN r;
    END IF;
  END IF;
  r := gw_add_source(p);
  IF r->>'result' = 'exists' THEN
    r := gw_update_source(p);
  END IF;
  RETURN r;
EXCEPTION
  -- Deadlocks and lock timeouts are not the event's fault: the whole batch is retried.
  WHEN deadlock_detected OR serialization_failure OR lock_not_available THEN
    RAISE;
  WHEN others THEN
    RETURN jsonb_build_object('result', 'error', 'error', SQLERRM);
END
$$;

-- Moves `ids` out of case `cid` into a new case (a dispatcher undoing a wrong merge). Returns the
-- new case's id. Raises when a source is not in the case or when no source would be left.
CREATE FUNCTION gw_split_case(cid text, ids text[], reason text, actor text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  moving int;
  total int;
  nid text;
  first_id text;
BEGIN
  PERFORM 1 FROM orders WHERE id = cid FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'no case "%"', cid USING ERRCODE = 'P0002';
  END IF;
  SELECT count(*) FILTER (WHERE id = ANY(ids)), count(*),
         (array_agg(id ORDER BY received_at, id) FILTER (WHERE id = ANY(ids)))[1]
    INTO moving, total, first_id
  FROM sources WHERE case_id = cid;
  IF moving <> cardinality(ARRAY(SELECT DISTINCT unnest(ids))) THEN
    RAISE EXCEPTION 'not every source named is in case "%"', cid USING ERRCODE = '22023';
  END IF;
  IF moving = total THEN
    RAISE EXCEPTION 'a split must leave at least one source in case "%"', cid USING ERRCODE = '22023';
  END IF;
  nid := first_id;
  IF EXISTS (SELECT 1 FROM orders WHERE id = nid) THEN
    nid := first_id || '.split' ||
           (SELECT count(*) + 1 FROM orders WHERE left(id, length(first_id) + 6) = first_id || '.split');
  END IF;
  INSERT INTO orders (id, category, priority, status, source_kind, observed_at)
  SELECT nid, category, priority, 'open', kind, observed_at FROM sources WHERE id = first_id;
  UPDATE sources SET case_id = nid, updated_at = now(),
         merge = jsonb_build_object('decision', 'split', 'from', cid, 'reason', reason, 'by', actor,
                                    'before', merge)
  WHERE id = ANY(ids);
  INSERT INTO case_history (case_id, action, actor, detail)
  VALUES (cid, 'split', actor, jsonb_build_object('sources', ids, 'to', nid, 'reason', reason)),
         (nid, 'split_from', actor, jsonb_build_object('sources', ids, 'from', cid, 'reason', reason));
  PERFORM gw_refresh_case(cid);
  PERFORM gw_refresh_case(nid);
  RETURN nid;
END
$$;
