#include "gridwatch/center/store.h"

// What the API reads: cases as GeoJSON and tiles, Open311 requests, workers, the three rates.

#include <libpq-fe.h>

#include <array>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "gridwatch/center/dispatch.h"
#include "gridwatch/center/merge.h"
#include "gridwatch/geo/distance.h"
#include "gridwatch/platform/services.h"
#include "store_db.h"

namespace gridwatch::center {

using namespace db;  // the store's plumbing (store_db.h)

namespace {

constexpr const char* kFeatureSql = R"sql(
  json_build_object(
    'type', 'Feature',
    'id', o.id,
    'geometry', CASE WHEN o.geom IS NULL THEN NULL ELSE ST_AsGeoJSON(o.geom, 7)::json END,
    'properties', json_build_object(
      'id', o.id, 'category', o.category, 'priority', o.priority, 'status', o.status,
      'source', json_build_object('kind', o.source_kind, 'agent_id', o.agent_id,
                                  'device_id', o.device_id, 'rule', o.rule),
      'accuracy_m', o.accuracy_m, 'confidence', o.confidence,
      'first_seen_at', gw_rfc3339(o.first_seen_at), 'observed_at', gw_rfc3339(o.observed_at),
      'received_at', gw_rfc3339(o.received_at), 'updated_at', gw_rfc3339(o.updated_at),
      'cleared_at', gw_rfc3339(o.cleared_at), 'description', o.description,
      'evidence', o.evidence, 'areas', o.areas, 'area_code', o.area_code,
      'opened_at', gw_rfc3339(o.opened_at), 'reports', o.reports, 'source_count', o.source_count,
      'preempted', o.preempted, 'proactive', o.proactive, 'address', o.address,
      'queue', CASE WHEN o.area_code IS NULL THEN 'dispatcher' ELSE 'area' END,
      'state', o.state, 'state_changed_at', gw_rfc3339(o.state_changed_at), 'unit_code', o.unit_code,
      'department', o.department, 'dispatched_at', gw_rfc3339(o.dispatched_at),
      'respond_due', gw_rfc3339(o.respond_due), 'resolve_due', gw_rfc3339(o.resolve_due),
      'responded_at', gw_rfc3339(o.responded_at), 'resolved_at', gw_rfc3339(o.resolved_at),
      'satisfaction', o.satisfaction, 'assignee', o.assignee,
      'first_dispatched_at', gw_rfc3339(o.first_dispatched_at),
      'verified_by_sensor', CASE WHEN o.verified_at IS NULL THEN NULL
                                 ELSE json_build_object('at', gw_rfc3339(o.verified_at), 'source_id', o.verified_by) END,
      'overdue', to_json(array_remove(ARRAY[CASE WHEN o.overdue_respond_at IS NOT NULL THEN 'respond' END,
                                            CASE WHEN o.overdue_resolve_at IS NOT NULL THEN 'resolve' END], NULL))))
)sql";

// A case as a map draws it (GET /api/v1/orders?fields=map).
constexpr const char* kMapFeatureSql = R"sql(
  json_build_object(
    'type', 'Feature',
    'id', o.id,
    'geometry', CASE WHEN o.geom IS NULL THEN NULL ELSE ST_AsGeoJSON(o.geom, 6)::json END,
    'properties', json_build_object(
      'id', o.id, 'category', o.category, 'priority', o.priority, 'status', o.status,
      'state', o.state, 'source', o.source_kind, 'reports', o.reports, 'proactive', o.proactive,
      'preempted', o.preempted,
      'overdue', o.overdue_respond_at IS NOT NULL OR o.overdue_resolve_at IS NOT NULL))
)sql";

}  // namespace

Result<nlohmann::json> Store::requests(const RequestQuery& q) {
  auto l = lease();
  if (!l) return std::unexpected(l.error());
  Param start, end;
  if (q.start) start = format_rfc3339(*q.start);
  if (q.end) end = format_rfc3339(*q.end);
  const bool by_id = !q.ids.empty();
  return call_json(l->get(), R"sql(
SELECT coalesce(json_agg(json_strip_nulls(json_build_object(
  'service_request_id', r.id, 'status', r.status, 'service_code', r.category,
  'description', nullif(r.description, ''), 'requested_datetime', gw_rfc3339(r.reported_at),
  'updated_datetime', gw_rfc3339(r.updated), 'address', r.address,
  'address_id', r.attributes->>'address_id', 'lat', ST_Y(r.geom), 'long', ST_X(r.geom),
  'media_url', r.media_url, 'case_id', r.case_id, 'source_count', r.source_count, 'state', r.state))
  ORDER BY r.reported_at DESC, r.id), '[]')::text
FROM (SELECT s.id, s.category, s.description, s.reported_at, s.address, s.attributes, s.geom,
             s.media_url, s.case_id, o.source_count,
             CASE WHEN o.status = 'cleared' OR o.state IN ('closed', 'cancelled', 'duplicate') THEN 'closed'
                  ELSE 'open' END AS status, o.state,
             greatest(s.updated_at, o.updated_at) AS updated
      FROM sources s JOIN orders o ON o.id = s.case_id
      WHERE ($1::text[] IS NULL OR s.id = ANY($1::text[]))
        AND ($2::text[] IS NULL OR s.category = ANY($2::text[]))
        AND ($3::timestamptz IS NULL OR s.reported_at >= $3::timestamptz)
        AND ($4::timestamptz IS NULL OR s.reported_at <= $4::timestamptz)
        AND ($5::text IS NULL OR (CASE WHEN o.status = 'cleared' OR o.state IN ('closed', 'cancelled', 'duplicate') THEN 'closed'
                  ELSE 'open' END) = $5)
      ORDER BY s.reported_at DESC, s.id
      LIMIT $6::int OFFSET $7::int) r
)sql",
                   {text_array(q.ids), by_id ? Param{} : text_array(q.service_codes), by_id ? Param{} : start,
                    by_id ? Param{} : end, by_id || !q.status ? Param{} : Param{*q.status},
                    std::to_string(q.page_size), std::to_string((q.page - 1) * q.page_size)});
}

Result<bool> Store::token_reports(std::string_view token, std::string_view case_id) {
  auto l = lease();
  if (!l) return std::unexpected(l.error());
  auto r = exec(l->get(), "SELECT 1 FROM sources WHERE token = $1 AND case_id = $2",
                {std::string(token), std::string(case_id)});
  if (!r) return std::unexpected(r.error());
  return PQntuples(r->get()) == 1;
}

Result<std::optional<std::string>> Store::request_of_token(std::string_view token) {
  auto l = lease();
  if (!l) return std::unexpected(l.error());
  auto r = exec(l->get(), "SELECT id FROM sources WHERE token = $1", {std::string(token)});
  if (!r) return std::unexpected(r.error());
  if (PQntuples(r->get()) == 0) return std::optional<std::string>{};
  return std::optional<std::string>{PQgetvalue(r->get(), 0, 0)};
}

Result<std::string> Store::cases_tile(int z, int x, int y, const Scope& scope) {
  auto l = lease();
  if (!l) return std::unexpected(l.error());
  const auto sp = scope_params(scope);
  const std::string sql = fmt::format(R"sql(
WITH t AS (SELECT ST_TileEnvelope($1::int, $2::int, $3::int) AS env),
c AS (
  SELECT o.id, o.category, o.state, o.priority, o.source_kind AS source, o.preempted, o.reports,
         (o.overdue_respond_at IS NOT NULL OR o.overdue_resolve_at IS NOT NULL) AS overdue,
         ST_AsMVTGeom(ST_Transform(o.geom, 3857), t.env, 4096, 64, true) AS geom
  FROM orders o, t
  WHERE o.status = 'open' AND o.state NOT IN ('closed', 'cancelled', 'duplicate')
    AND o.geom && ST_Transform(t.env, 4326) AND {}
)
SELECT ST_AsMVT(c, 'cases', 4096, 'geom') FROM c WHERE c.geom IS NOT NULL
)sql",
                                      scope_sql(4));
  auto r = exec(l->get(), sql.c_str(), {std::to_string(z), std::to_string(x), std::to_string(y), sp[0], sp[1], sp[2]});
  if (!r) return std::unexpected(r.error());
  if (PQntuples(r->get()) == 0 || PQgetisnull(r->get(), 0, 0)) return std::string();
  size_t n = 0;
  unsigned char* bytes = PQunescapeBytea(reinterpret_cast<const unsigned char*>(PQgetvalue(r->get(), 0, 0)), &n);
  if (!bytes) return fail(ErrorCode::kInternal, "database: the tile could not be decoded");
  std::string tile(reinterpret_cast<const char*>(bytes), n);
  PQfreemem(bytes);
  return tile;
}

Status Store::report_worker(std::string_view id, std::string_view grid, std::optional<LonLat> where, bool on_duty) {
  auto l = lease();
  if (!l) return std::unexpected(l.error());
  Param lon, lat;
  if (where) {
    lon = num(where->lon);
    lat = num(where->lat);
  }
  auto r = exec(l->get(), R"sql(
INSERT INTO workers (id, grid, on_duty, geom, located_at, reported_at)
VALUES ($1, $2, $3::boolean,
        CASE WHEN $4::float8 IS NULL THEN NULL ELSE ST_SetSRID(ST_MakePoint($4::float8, $5::float8), 4326) END,
        CASE WHEN $4::float8 IS NULL THEN NULL ELSE now() END, now())
ON CONFLICT (id) DO UPDATE SET grid = EXCLUDED.grid, on_duty = EXCLUDED.on_duty,
  geom = coalesce(EXCLUDED.geom, workers.geom), located_at = coalesce(EXCLUDED.located_at, workers.located_at),
  reported_at = EXCLUDED.reported_at)sql",
                {std::string(id), std::string(grid), on_duty ? "true" : "false", lon, lat});
  if (!r) return std::unexpected(r.error());
  return {};
}

Result<std::string> Store::workers_geojson() {
  auto l = lease();
  if (!l) return std::unexpected(l.error());
  auto r = exec(l->get(), R"sql(
SELECT json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg(json_build_object(
  'type', 'Feature', 'id', w.id,
  'geometry', CASE WHEN w.geom IS NULL THEN NULL ELSE ST_AsGeoJSON(w.geom, 7)::json END,
  'properties', json_build_object('id', w.id, 'grid', w.grid, 'on_duty', w.on_duty,
                                  'reported_at', gw_rfc3339(w.reported_at),
                                  'located_at', gw_rfc3339(w.located_at),
                                  'open_cases', (SELECT count(*) FROM orders o WHERE o.assignee = w.id
                                                 AND o.state IN ('dispatched', 'accepted', 'in_progress'))))
  ORDER BY w.id), '[]'))::text
FROM workers w)sql");
  if (!r) return std::unexpected(r.error());
  return std::string(PQgetvalue(r->get(), 0, 0));
}

Result<nlohmann::json> Store::stats(const StatsQuery& q) {
  auto l = lease();
  if (!l) return std::unexpected(l.error());
  // One pass over the cases opened in the span (cancelled and duplicate cases are not counted),
  // counted per group and quarter hour; the quarter hours are then summed into local days, weeks
  // or months (every time zone's offset is a whole number of quarter hours). The group and
  // quarter-hour expressions are written out (not chosen in SQL) so that the planner knows how
  // many groups to expect and aggregates in parallel. The total is the sum of the groups.
  const std::string key = q.by.empty()             ? "'all'::text"
                          : q.by == "unit"         ? "o.unit_code"
                          : q.by == "department"   ? "o.department"
                                                   : "o.areas->>$1::text";
  const std::string quarter =
      q.period.empty() ? "NULL::timestamptz" : "date_bin('15 minutes', o.opened_at, '2000-01-01T00:00:00Z')";
  const std::string sql = fmt::format(R"sql(
SELECT coalesce(json_agg(json_build_object(
  'key', g.key, 'period', to_char(g.period, 'YYYY-MM-DD'), 'cases', g.cases, 'dispatched', g.dispatched,
  'response_due', g.response_due, 'responded_on_time', g.responded_on_time, 'resolved', g.resolved,
  'evaluated', g.evaluated, 'satisfied', g.satisfied, 'proactive', g.proactive)
  ORDER BY g.key NULLS LAST, g.period), '[]')::text
FROM (SELECT key, CASE WHEN $2 = '' THEN NULL ELSE date_trunc($2, quarter AT TIME ZONE $3) END AS period,
             sum(cases) AS cases, sum(dispatched) AS dispatched, sum(response_due) AS response_due,
             sum(responded_on_time) AS responded_on_time, sum(resolved) AS resolved, sum(evaluated) AS evaluated,
             sum(satisfied) AS satisfied, sum(proactive) AS proactive
      FROM (SELECT {0} AS key, {1} AS quarter, count(*) AS cases,
                   count(*) FILTER (WHERE o.first_dispatched_at IS NOT NULL) AS dispatched,
                   count(*) FILTER (WHERE o.first_dispatched_at IS NOT NULL
                                    AND (o.responded_at IS NOT NULL OR o.respond_due < $6::timestamptz)) AS response_due,
                   count(*) FILTER (WHERE o.responded_at <= o.respond_due) AS responded_on_time,
                   count(*) FILTER (WHERE o.first_dispatched_at IS NOT NULL AND o.state IN ('resolved', 'closed'))
                     AS resolved,
                   count(*) FILTER (WHERE o.satisfaction IS NOT NULL) AS evaluated,
                   count(*) FILTER (WHERE o.satisfaction = 'satisfied') AS satisfied,
                   count(*) FILTER (WHERE o.proactive) AS proactive
            FROM orders o
            WHERE o.opened_at >= $4::timestamptz AND o.opened_at < $5::timestamptz
              AND o.state NOT IN ('cancelled', 'duplicate')
              AND ($7::text IS NULL OR o.areas @> jsonb_build_object($7::text, $8::text))
              AND $1::text IS NOT NULL  -- (types $1 when the grouping does not use it)
            GROUP BY 1, 2) h
      GROUP BY 1, 2) g)sql",
                                      key, quarter);
  auto r = exec(l->get(), sql.c_str(),
                {q.by, q.period, q.time_zone, format_rfc3339(q.from), format_rfc3339(q.to), format_rfc3339(q.now),
                 q.area_code.empty() ? Param{} : Param{q.area_level}, q.area_code.empty() ? Param{} : Param{q.area_code}});
  if (!r) return std::unexpected(r.error());
  auto groups = nlohmann::json::parse(PQgetvalue(r->get(), 0, 0));
  static constexpr const char* kCounts[] = {"cases",    "dispatched", "response_due", "responded_on_time", "resolved",
                                            "evaluated", "satisfied",  "proactive"};
  auto rates = [](nlohmann::json& g) {
    auto ratio = [&](const char* num, const char* den) -> nlohmann::json {
      const auto d = g.at(den).get<int64_t>();
      if (d == 0) return nullptr;
      return static_cast<double>(g.at(num).get<int64_t>()) / static_cast<double>(d);
    };
    g["response_rate"] = ratio("responded_on_time", "response_due");
    g["resolution_rate"] = ratio("resolved", "dispatched");
    g["satisfaction_rate"] = ratio("satisfied", "evaluated");
    g["proactive_share"] = ratio("proactive", "cases");
  };
  nlohmann::json total = nlohmann::json::object();
  for (const char* k : kCounts) total[k] = 0;
  for (auto& g : groups) {
    for (const char* k : kCounts) total[k] = total[k].get<int64_t>() + g.at(k).get<int64_t>();
    rates(g);
  }
  rates(total);
  return nlohmann::json{{"groups", std::move(groups)}, {"total", std::move(total)}};
}

Result<nlohmann::json> Store::case_sources(std::string_view case_id) {
  auto l = lease();
  if (!l) return std::unexpected(l.error());
  return call_json(l->get(), R"sql(
SELECT json_build_object(
  'sources', coalesce((SELECT json_agg(json_build_object(
      'id', s.id, 'kind', s.kind, 'channel', s.channel, 'category', s.category,
      'priority', s.priority, 'status', s.status, 'agent_id', s.agent_id, 'device_id', s.device_id,
      'rule', s.rule, 'lon', ST_X(s.geom), 'lat', ST_Y(s.geom), 'accuracy_m', s.accuracy_m,
      'address', s.address, 'description', s.description, 'attributes', s.attributes,
      'evidence', s.evidence, 'media_url', s.media_url, 'reported_at', gw_rfc3339(s.reported_at),
      'received_at', gw_rfc3339(s.received_at), 'cleared_at', gw_rfc3339(s.cleared_at),
      'merge', s.merge) ORDER BY s.received_at, s.id) FROM sources s WHERE s.case_id = $1), '[]'),
  'history', coalesce((SELECT json_agg(json_build_object(
      'at', gw_rfc3339(h.at), 'action', h.action, 'source_id', h.source_id, 'actor', h.actor,
      'detail', h.detail) ORDER BY h.id) FROM case_history h WHERE h.case_id = $1), '[]'),
  'tasks', coalesce((SELECT json_agg(json_build_object(
      'unit', t.unit, 'state', t.state, 'summoned_at', gw_rfc3339(t.summoned_at), 'summoned_by', t.summoned_by,
      'reason', t.reason, 'acknowledged_at', gw_rfc3339(t.acknowledged_at), 'done_at', gw_rfc3339(t.done_at),
      'note', t.note) ORDER BY t.summoned_at, t.unit) FROM case_tasks t WHERE t.case_id = $1), '[]'))::text
)sql",
                   {std::string(case_id)});
}

Result<std::string> Store::orders_geojson(const OrderQuery& q) {
  auto l = lease();
  if (!l) return std::unexpected(l.error());
  // The radius test runs on geography (ellipsoidal metres); the box around the circle, 1 % wider
  // than the spherical one to cover the ellipsoid, lets the geometry GiST index pick candidates.
  std::string sql = fmt::format(R"sql(
SELECT json_build_object('type', 'FeatureCollection',
                         'features', coalesce(json_agg(
                            CASE WHEN f.dist IS NULL THEN f.feature
                                 ELSE jsonb_set(f.feature::jsonb, '{{properties,distance_m}}',
                                                to_jsonb(round(f.dist::numeric, 1)))::json END
                            ORDER BY f.dist, f.updated_at DESC), '[]'::json))::text
FROM (SELECT {} AS feature, o.updated_at,
             CASE WHEN $9::float8 IS NULL THEN NULL
                  ELSE ST_Distance(o.geom::geography,
                                   ST_SetSRID(ST_MakePoint($9::float8, $10::float8), 4326)::geography)
             END AS dist
      FROM orders o
      WHERE ($1::text[] IS NULL OR o.status = ANY($1::text[]))
        AND ($19::text[] IS NULL OR o.state = ANY($19::text[]))
        AND ($2::text[] IS NULL OR o.category = ANY($2::text[]))
        AND ($3::float8 IS NULL OR o.geom && ST_MakeEnvelope($3::float8, $4::float8, $5::float8,
                                                             $6::float8, 4326))
        AND ($7::timestamptz IS NULL OR o.updated_at >= $7::timestamptz)
        AND ($9::float8 IS NULL OR
             (o.geom && ST_MakeEnvelope($12::float8, $13::float8, $14::float8, $15::float8, 4326)
              AND ST_DWithin(o.geom::geography,
                             ST_SetSRID(ST_MakePoint($9::float8, $10::float8), 4326)::geography,
                             $11::float8)))
        AND {}
      ORDER BY dist, o.updated_at DESC
      LIMIT $8::int) f
)sql",
                                q.map_fields ? kMapFeatureSql : kFeatureSql, scope_sql(16));
  Param b0, b1, b2, b3, since, near_lon, near_lat, radius, n0, n1, n2, n3;
  if (q.bbox) {
    b0 = num((*q.bbox)[0]);
    b1 = num((*q.bbox)[1]);
    b2 = num((*q.bbox)[2]);
    b3 = num((*q.bbox)[3]);
  }
  if (q.near) {
    near_lon = num(q.near->lon);
    near_lat = num(q.near->lat);
    radius = num(q.radius_m);
    auto box = geo::bbox_around(*q.near, q.radius_m * 1.01);
    n0 = num(box[0]);
    n1 = num(box[1]);
    n2 = num(box[2]);
    n3 = num(box[3]);
  }
  if (q.since) since = format_rfc3339(*q.since);
  const auto sp = scope_params(q.scope);
  auto r = exec(l->get(), sql.c_str(),
                {text_array(q.statuses), text_array(q.categories), b0, b1, b2, b3, since,
                 std::to_string(q.limit), near_lon, near_lat, radius, n0, n1, n2, n3, sp[0], sp[1], sp[2],
                 text_array(q.states)});
  if (!r) return std::unexpected(r.error());
  return std::string(PQgetvalue(r->get(), 0, 0));
}

Result<std::optional<std::string>> Store::order_geojson(std::string_view id) {
  auto l = lease();
  if (!l) return std::unexpected(l.error());
  // A case by its id, or the case a source (an edge order or ticket that was merged) belongs to.
  std::string sql = fmt::format(
      "SELECT {}::text FROM orders o WHERE o.id = coalesce((SELECT id FROM orders WHERE id = $1), "
      "(SELECT case_id FROM sources WHERE id = $1))",
      kFeatureSql);
  auto r = exec(l->get(), sql.c_str(), {std::string(id)});
  if (!r) return std::unexpected(r.error());
  if (PQntuples(r->get()) == 0) return std::optional<std::string>{};
  return std::optional<std::string>{PQgetvalue(r->get(), 0, 0)};
}

}  // namespace gridwatch::center
