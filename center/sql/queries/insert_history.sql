-- Generated history (history.h): closed cases written straight in, from a JSON array ($1) of objects with id, category, department, priority, kind, lon, lat, opened, dispatched, responded, resolved, respond_s, resolve_s, satisfaction and description; each in the areas its point is in, its unit the area of the dispatch level ($2); an id already there is skipped. The number written.
WITH h AS (
  SELECT * FROM json_to_recordset($1::json) AS r(id text, category text, department text, priority text, kind text,
    lon float8, lat float8, opened timestamptz, dispatched timestamptz, responded timestamptz, resolved timestamptz,
    respond_s float8, resolve_s float8, satisfaction text, description text)
), ins AS (
  INSERT INTO orders (id, category, priority, status, source_kind, geom, observed_at, opened_at, state, areas,
                      unit_code, department, dispatched_at, first_dispatched_at, respond_due, resolve_due,
                      responded_at, resolved_at, satisfaction, proactive, description, cleared_at, state_changed_at)
  SELECT h.id, h.category, h.priority, 'cleared', h.kind, p.geom, h.opened, h.opened, 'closed', a.areas,
         a.areas->>$2::text, h.department, h.dispatched, h.dispatched,
         h.dispatched + make_interval(secs => h.respond_s), h.dispatched + make_interval(secs => h.resolve_s),
         h.responded, h.resolved, nullif(h.satisfaction, ''), h.kind <> 'hotline', h.description, h.resolved, h.resolved
  FROM h, LATERAL (SELECT ST_SetSRID(ST_MakePoint(h.lon, h.lat), 4326) AS geom) p,
       LATERAL (SELECT jsonb_object_agg(x.level_name, x.code) AS areas FROM areas x WHERE ST_Intersects(x.geom, p.geom)) a
  ON CONFLICT (id) DO NOTHING
  RETURNING 1
)
SELECT count(*) FROM ins
