#include "gridwatch/center/store.h"

// Analytics: the counts that hot spots, emerging hot spots, anomalies and the monthly problems
// are computed from (their arithmetic is in center/src/analytics/).

#include <libpq-fe.h>

#include <charconv>
#include <cmath>
#include <map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "sql_queries.h"
#include "store_db.h"

namespace gridwatch::center {

using namespace db;  // the store's plumbing (store_db.h)

namespace analytics {

size_t CellQuery::steps() const {
  if (step_seconds <= 0) return 1;
  const auto span = std::chrono::duration_cast<std::chrono::seconds>(to - from).count();
  return static_cast<size_t>((span + step_seconds - 1) / step_seconds);
}

CellGrid CellGrid::only(const std::string& group) const {
  CellGrid g;
  g.touching = touching;
  g.band_m = band_m;
  g.size_m = size_m;
  g.cells.reserve(cells.size());
  for (const Cell& c : cells) {
    Cell one = c;
    one.groups.clear();
    auto it = c.groups.find(group);
    one.counts = it != c.groups.end() ? it->second : std::vector<double>(c.counts.size(), 0.0);
    g.cells.push_back(std::move(one));
  }
  return g;
}

double fitted_hexagon_m(double size_m, double cells) {
  const double room = 0.9 * double(kMaxCells);
  if (cells <= room) return size_m;
  // A hexagon's area grows with the square of its edge.
  return std::ceil(size_m * std::sqrt(cells / room) / 50.0) * 50.0;
}

double Cell::total() const {
  double t = 0;
  for (double c : counts) t += c;
  return t;
}

}  // namespace analytics

namespace {

double number(PGresult* r, int row, int col) {
  const char* v = PQgetvalue(r, row, col);
  return std::strtod(v, nullptr);
}

// {"sanitation/0": 3, "traffic/4": 1} into the cell's counts per step (all groups) and per group.
void step_counts(const char* json, size_t n, analytics::Cell& cell) {
  cell.counts.assign(n, 0.0);
  const nlohmann::json steps = nlohmann::json::parse(json);
  for (auto it = steps.begin(); it != steps.end(); ++it) {
    const std::string& k = it.key();
    const size_t slash = k.rfind('/');
    if (slash == std::string::npos) continue;
    int step = -1;
    std::from_chars(k.data() + slash + 1, k.data() + k.size(), step);
    if (step < 0 || static_cast<size_t>(step) >= n) continue;
    const double v = it.value().get<double>();
    cell.counts[static_cast<size_t>(step)] += v;
    auto& g = cell.groups[k.substr(0, slash)];
    if (g.empty()) g.assign(n, 0.0);
    g[static_cast<size_t>(step)] += v;
  }
}

}  // namespace

Result<analytics::CellGrid> Store::analytics_cells(const analytics::CellQuery& q) {
  auto l = lease_read();
  if (!l) return std::unexpected(l.error());
  const size_t steps = q.steps();
  const auto span_s = std::chrono::duration_cast<std::chrono::seconds>(q.to - q.from).count();
  const std::string step = std::to_string(q.step_seconds > 0 ? q.step_seconds : std::max<int64_t>(span_s, 1));
  analytics::CellGrid grid;
  if (q.cells == "hex") {
    auto est = exec(l->get(), sql::analytics_hex_estimate,
                    {num(q.size_m), format_rfc3339(q.from), format_rfc3339(q.to), optional_text(q.area_level),
                     optional_text(q.area_code), optional_text(q.category)});
    if (!est) return std::unexpected(est.error());
    const double cells = number(est->get(), 0, 0);
    // Too many: larger hexagons when the size was not asked for (they fit by construction),
    // refused otherwise or when even those would be beyond the largest edge.
    const bool too_many = cells > double(analytics::kMaxCells);
    const double size_m = too_many && q.fit_size ? analytics::fitted_hexagon_m(q.size_m, cells) : q.size_m;
    if ((too_many && !q.fit_size) || size_m > analytics::kMaxHexagonM)
      return fail(ErrorCode::kInvalidArgument,
                  fmt::format("hexagons of {} m would make about {:.0f} cells over the area (at most {}): use a larger "
                              "size or a smaller area",
                              q.size_m, cells, analytics::kMaxCells),
                  "size");
    if (size_m != q.size_m)
      spdlog::debug("analytics: hexagons of {} m would make about {:.0f} cells over the area; {} m instead", q.size_m,
                    cells, size_m);
    auto r = exec(l->get(), sql::analytics_hex_cells,
                  {num(size_m), format_rfc3339(q.from), format_rfc3339(q.to), step, optional_text(q.area_level),
                   optional_text(q.area_code), optional_text(q.category)});
    if (!r) return std::unexpected(r.error());
    const int rows = PQntuples(r->get());
    if (static_cast<size_t>(rows) > analytics::kMaxCells)
      return fail(ErrorCode::kInvalidArgument,
                  fmt::format("hexagons of {} m make {} cells over the area (at most {})", size_m, rows,
                              analytics::kMaxCells),
                  "size");
    grid.cells.reserve(static_cast<size_t>(rows));
    for (int i = 0; i < rows; ++i) {
      analytics::Cell c;
      c.id = fmt::format("h:{}:{}", PQgetvalue(r->get(), i, 0), PQgetvalue(r->get(), i, 1));
      c.x = number(r->get(), i, 2);
      c.y = number(r->get(), i, 3);
      c.lon = number(r->get(), i, 4);
      c.lat = number(r->get(), i, 5);
      c.geometry = PQgetvalue(r->get(), i, 6);
      step_counts(PQgetvalue(r->get(), i, 7), steps, c);
      grid.cells.push_back(std::move(c));
    }
    // Neighbouring hexagons' centres are √3 × edge apart; the next ring's are 3 × edge.
    grid.band_m = std::sqrt(3.0) * size_m * 1.01;
    grid.size_m = size_m;
    return grid;
  }
  auto r = exec(l->get(), sql::analytics_area_cells,
                {format_rfc3339(q.from), format_rfc3339(q.to), step, q.cells, optional_text(q.area_level),
                 optional_text(q.area_code), optional_text(q.category)});
  if (!r) return std::unexpected(r.error());
  const int rows = PQntuples(r->get());
  if (rows == 0)
    return fail(ErrorCode::kInvalidArgument,
                q.area_code.empty() ? fmt::format("no areas of level \"{}\"", q.cells)
                                    : fmt::format("no areas of level \"{}\" in area \"{}\"", q.cells, q.area_code),
                "cells");
  std::map<std::string, size_t, std::less<>> index;
  for (int i = 0; i < rows; ++i) {
    analytics::Cell c;
    c.id = PQgetvalue(r->get(), i, 0);
    c.name = PQgetvalue(r->get(), i, 1);
    c.x = c.lon = number(r->get(), i, 2);
    c.y = c.lat = number(r->get(), i, 3);
    c.geometry = PQgetvalue(r->get(), i, 4);
    step_counts(PQgetvalue(r->get(), i, 5), steps, c);
    index[c.id] = grid.cells.size();
    grid.cells.push_back(std::move(c));
  }
  auto t = exec(l->get(), sql::analytics_area_touching, {q.cells});
  if (!t) return std::unexpected(t.error());
  for (int i = 0; i < PQntuples(t->get()); ++i) {
    auto a = index.find(std::string_view(PQgetvalue(t->get(), i, 0)));
    auto b = index.find(std::string_view(PQgetvalue(t->get(), i, 1)));
    if (a != index.end() && b != index.end()) grid.touching.emplace_back(a->second, b->second);
  }
  return grid;
}

Result<std::vector<analytics::DailyCount>> Store::analytics_daily(Timestamp from, Timestamp to, const std::string& tz,
                                                              const std::string& level,
                                                              const analytics::CellQuery& scope) {
  auto l = lease_read();
  if (!l) return std::unexpected(l.error());
  auto r = exec(l->get(), sql::analytics_daily_counts,
                {format_rfc3339(from), format_rfc3339(to), tz, level, optional_text(scope.area_level),
                 optional_text(scope.area_code), optional_text(scope.category)});
  if (!r) return std::unexpected(r.error());
  std::vector<analytics::DailyCount> out;
  for (int i = 0; i < PQntuples(r->get()); ++i)
    out.push_back({PQgetvalue(r->get(), i, 0), PQgetvalue(r->get(), i, 1), PQgetvalue(r->get(), i, 2),
                   static_cast<int>(number(r->get(), i, 3)), number(r->get(), i, 4)});
  return out;
}

Result<std::vector<Store::MonthGroup>> Store::analytics_month_groups(Timestamp from, Timestamp to,
                                                                     const std::string& area_level,
                                                                     const std::string& area_code) {
  auto l = lease_read();
  if (!l) return std::unexpected(l.error());
  auto r = exec(l->get(), sql::analytics_month_groups,
                {format_rfc3339(from), format_rfc3339(to), optional_text(area_level), optional_text(area_code)});
  if (!r) return std::unexpected(r.error());
  std::vector<MonthGroup> out;
  for (int i = 0; i < PQntuples(r->get()); ++i)
    out.push_back({.group = PQgetvalue(r->get(), i, 0),
                   .cases = number(r->get(), i, 1),
                   .evaluated = number(r->get(), i, 2),
                   .satisfied = number(r->get(), i, 3),
                   .departments = number(r->get(), i, 4),
                   .dispatched = number(r->get(), i, 5),
                   .resolved = number(r->get(), i, 6),
                   .samples = nlohmann::json::parse(PQgetvalue(r->get(), i, 7))});
  return out;
}

Result<std::string> Store::pick_monthly_problem(const std::string& month, const std::string& group,
                                                const std::string& by, const std::string& note, double score) {
  auto l = lease();
  if (!l) return std::unexpected(l.error());
  auto r = exec(l->get(), sql::pick_monthly_problem, {month + "-01", group, by, note, num(score)});
  if (!r) return std::unexpected(r.error());
  return std::string(PQgetvalue(r->get(), 0, 0));
}

Result<nlohmann::json> Store::monthly_problem_tracking(const std::string& month, const std::string& tz) {
  auto l = lease_read();
  if (!l) return std::unexpected(l.error());
  auto r = exec(l->get(), sql::monthly_problem_tracking, {month + "-01", tz});
  if (!r) return std::unexpected(r.error());
  nlohmann::json out = nlohmann::json::array();
  for (int i = 0; i < PQntuples(r->get()); ++i) out.push_back(nlohmann::json::parse(PQgetvalue(r->get(), i, 0)));
  return out;
}

Result<size_t> Store::insert_history(std::span<const HistoryCase> cases, const std::string& dispatch_level) {
  auto l = lease();
  if (!l) return std::unexpected(l.error());
  size_t written = 0;
  constexpr size_t kBatch = 2000;
  for (size_t start = 0; start < cases.size(); start += kBatch) {
    nlohmann::json rows = nlohmann::json::array();
    for (size_t i = start; i < std::min(cases.size(), start + kBatch); ++i) {
      const HistoryCase& h = cases[i];
      rows.push_back({{"id", h.id},
                      {"category", h.category},
                      {"department", h.department},
                      {"priority", h.priority},
                      {"kind", h.source_kind},
                      {"lon", h.at.lon},
                      {"lat", h.at.lat},
                      {"opened", format_rfc3339(h.opened)},
                      {"dispatched", format_rfc3339(h.dispatched)},
                      {"responded", format_rfc3339(h.responded)},
                      {"resolved", format_rfc3339(h.resolved)},
                      {"respond_s", std::chrono::duration<double>(h.respond_within).count()},
                      {"resolve_s", std::chrono::duration<double>(h.resolve_within).count()},
                      {"satisfaction", h.satisfaction},
                      {"description", h.description}});
    }
    auto r = exec(l->get(), sql::insert_history, {rows.dump(), dispatch_level});
    if (!r) return std::unexpected(r.error());
    written += static_cast<size_t>(number(r->get(), 0, 0));
  }
  return written;
}

}  // namespace gridwatch::center
