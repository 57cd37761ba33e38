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
#include "sql_queries.h"
#include "store_db.h"

namespace gridwatch::center {

using namespace db;  // the store's plumbing (store_db.h)

Result<nlohmann::json> Store::requests(const RequestQuery& q) {
  auto l = lease();
  if (!l) return std::unexpected(l.error());
  Param start, end;
  if (q.start) start = format_rfc3339(*q.start);
  if (q.end) end = format_rfc3339(*q.end);
  const bool by_id = !q.ids.empty();
  return call_json(l->get(), sql::requests_json,
                   {text_array(q.ids), by_id ? Param{} : text_array(q.service_codes), by_id ? Param{} : start,
                    by_id ? Param{} : end, by_id || !q.status ? Param{} : Param{*q.status},
                    std::to_string(q.page_size), std::to_string((q.page - 1) * q.page_size)});
}

Result<bool> Store::token_reports(std::string_view token, std::string_view case_id) {
  auto l = lease();
  if (!l) return std::unexpected(l.error());
  auto r = exec(l->get(), sql::token_in_case,
                {std::string(token), std::string(case_id)});
  if (!r) return std::unexpected(r.error());
  return PQntuples(r->get()) == 1;
}

Result<std::optional<std::string>> Store::request_of_token(std::string_view token) {
  auto l = lease();
  if (!l) return std::unexpected(l.error());
  auto r = exec(l->get(), sql::request_of_token, {std::string(token)});
  if (!r) return std::unexpected(r.error());
  if (PQntuples(r->get()) == 0) return std::optional<std::string>{};
  return std::optional<std::string>{PQgetvalue(r->get(), 0, 0)};
}

Result<std::string> Store::cases_tile(const TileQuery& q) {
  auto l = lease_read();
  if (!l) return std::unexpected(l.error());
  const auto sp = scope_params(q.scope);
  const std::string text = fmt::format(fmt::runtime(sql::cases_tile), fmt::arg("scope", scope_sql(4)));
  auto r = exec(l->get(), text.c_str(),
                {std::to_string(q.z), std::to_string(q.x), std::to_string(q.y), sp[0], sp[1], sp[2],
                 text_array(q.categories), text_array(q.states), text_array(q.sources),
                 q.overdue_only ? "true" : "false", q.proactive_only ? "true" : "false"});
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
  auto r = exec(l->get(), sql::upsert_worker,
                {std::string(id), std::string(grid), on_duty ? "true" : "false", lon, lat});
  if (!r) return std::unexpected(r.error());
  return {};
}

Result<std::string> Store::workers_geojson() {
  auto l = lease_read();
  if (!l) return std::unexpected(l.error());
  auto r = exec(l->get(), sql::workers_geojson);
  if (!r) return std::unexpected(r.error());
  return std::string(PQgetvalue(r->get(), 0, 0));
}

Result<nlohmann::json> Store::stats(const StatsQuery& q) {
  auto l = lease_read();
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
  const std::string text = fmt::format(fmt::runtime(sql::rates), fmt::arg("key", key), fmt::arg("quarter", quarter));
  auto r = exec(l->get(), text.c_str(),
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
  return call_json(l->get(), sql::case_sources,
                   {std::string(case_id)});
}

Result<std::string> Store::orders_geojson(const OrderQuery& q) {
  auto l = lease_read();
  if (!l) return std::unexpected(l.error());
  // The radius test runs on geography (ellipsoidal metres); the box around the circle, 1 % wider
  // than the spherical one to cover the ellipsoid, lets the geometry GiST index pick candidates.
  const std::string filter = fmt::format(fmt::runtime(sql::orders_filter), fmt::arg("scope", scope_sql(16)));
  const std::string text =
      q.count_only ? fmt::format(fmt::runtime(sql::orders_count), fmt::arg("filter", filter))
                   : fmt::format(fmt::runtime(sql::orders_geojson),
                                 fmt::arg("feature", q.map_fields ? sql::case_map_feature : sql::case_feature),
                                 fmt::arg("filter", filter));
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
  auto r = exec(l->get(), text.c_str(),
                {text_array(q.statuses), text_array(q.categories), b0, b1, b2, b3, since,
                 std::to_string(q.limit), near_lon, near_lat, radius, n0, n1, n2, n3, sp[0], sp[1], sp[2],
                 text_array(q.states), q.allowed_by_state.empty() ? Param{} : Param{q.allowed_by_state}});
  if (!r) return std::unexpected(r.error());
  return std::string(PQgetvalue(r->get(), 0, 0));
}

Result<std::optional<std::string>> Store::order_geojson(std::string_view id) {
  auto l = lease();
  if (!l) return std::unexpected(l.error());
  // A case by its id, or the case a source (an edge order or ticket that was merged) belongs to.
  const std::string text = fmt::format(fmt::runtime(sql::order_geojson), fmt::arg("feature", sql::case_feature));
  auto r = exec(l->get(), text.c_str(), {std::string(id)});
  if (!r) return std::unexpected(r.error());
  if (PQntuples(r->get()) == 0) return std::optional<std::string>{};
  return std::optional<std::string>{PQgetvalue(r->get(), 0, 0)};
}

}  // namespace gridwatch::center
