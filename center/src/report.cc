// The figures of a report (center/report.h, docs/reports.md).
#include "gridwatch/center/report.h"

#include <algorithm>
#include <map>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "gridwatch/center/analytics/maps.h"

namespace gridwatch::center {

namespace {

using nlohmann::json;

constexpr size_t kTop = 10;

// "东城区 / 东四街道": the areas that contain a point, coarsest first.
std::string where(const geo::AreaIndex& areas, double lon, double lat) {
  std::string out;
  const geo::Area* a = areas.locate(LonLat{lon, lat});
  auto lineage = areas.lineage(a);
  for (auto it = lineage.rbegin(); it != lineage.rend(); ++it) out += (out.empty() ? "" : " / ") + (*it)->name;
  return out;
}

std::map<std::string, std::string> names_of_level(const geo::AreaIndex& areas, const std::string& level) {
  std::map<std::string, std::string> names;
  for (size_t l = 0; l < areas.levels(); ++l)
    for (const geo::Area& a : areas.areas(l))
      if (a.level_name == level) names[a.code] = a.name;
  return names;
}

// Hot spots over the report's span (at least the 28 days to its end: a day is too few cases for
// Gi*), and for a week or longer the growing problems over the 12 weeks to its end.
json spatial(Store& store, const geo::AreaIndex& areas, const ReportQuery& q) {
  json out = json::object();
  analytics::CellQuery cells{.from = std::min(q.from, q.to - std::chrono::days{28}),
                             .to = q.to,
                             .size_m = q.hexagon_m,
                             .fit_size = true,
                             .area_level = q.area_level,
                             .area_code = q.area_code};
  auto grid = store.analytics_cells(cells);
  if (!grid) {
    spdlog::warn("report: no hot spots: {}", grid.error().message);
    out["hotspots"] = {{"error", grid.error().message}};
  } else {
    json h = analytics::hotspots(*grid, q.q);
    std::map<std::string, const analytics::Cell*> by_id;
    for (const analytics::Cell& c : grid->cells) by_id[c.id] = &c;
    json top = json::array();
    for (const json& f : h.at("features"))
      if (f.at("properties").at("spot") == "hot") {
        const analytics::Cell* c = by_id.at(f.at("id").get<std::string>());
        top.push_back({{"id", c->id},
                       {"count", f.at("properties").at("count")},
                       {"z", f.at("properties").at("z")},
                       {"p", f.at("properties").at("p")},
                       {"lon", c->lon},
                       {"lat", c->lat},
                       {"where", where(areas, c->lon, c->lat)}});
      }
    std::stable_sort(top.begin(), top.end(), [](const json& a, const json& b) {
      return a.at("count").get<double>() > b.at("count").get<double>();
    });
    const size_t hot = top.size();
    if (top.size() > kTop) top.erase(top.begin() + static_cast<std::ptrdiff_t>(kTop), top.end());
    out["hotspots"] = {{"from", format_rfc3339(cells.from)}, {"to", format_rfc3339(cells.to)},
                       {"size_m", grid->size_m}, {"cells", h.at("cell_count")}, {"cases", h.at("cases")},
                       {"hot", hot}, {"cold", h.at("cold")}, {"q", q.q}, {"top", std::move(top)}};
  }
  if (q.to - q.from < std::chrono::days{7}) return out;
  cells.to = q.to;
  cells.step_seconds = 7 * 86400;
  cells.from = q.to - std::chrono::days{7 * 12};
  auto weeks = store.analytics_cells(cells);
  if (!weeks) {
    out["emerging"] = {{"error", weeks.error().message}};
    return out;
  }
  const auto classes = analytics::emerging(*weeks, q.q);
  std::map<std::string, size_t> tally;
  json growing = json::array();
  for (size_t i = 0; i < classes.size(); ++i) {
    const analytics::Emerging k = classes[i].kind;
    if (k == analytics::Emerging::kNone) continue;
    tally[std::string(analytics::to_string(k))] += 1;
    const bool worse = k == analytics::Emerging::kNewHot || k == analytics::Emerging::kConsecutiveHot ||
                       k == analytics::Emerging::kIntensifyingHot || k == analytics::Emerging::kPersistentHot;
    if (!worse) continue;
    const analytics::Cell& c = weeks->cells[i];
    growing.push_back({{"id", c.id},
                       {"class", analytics::to_string(k)},
                       {"name_zh", analytics::name_zh(k)},
                       {"name_en", analytics::name_en(k)},
                       {"counts", c.counts},
                       {"last", c.counts.empty() ? 0.0 : c.counts.back()},
                       {"where", where(areas, c.lon, c.lat)}});
  }
  // Intensifying first, then by the last week's count.
  std::stable_sort(growing.begin(), growing.end(), [](const json& a, const json& b) {
    const bool ia = a.at("class") == "intensifying_hot", ib = b.at("class") == "intensifying_hot";
    if (ia != ib) return ia;
    return a.at("last").get<double>() > b.at("last").get<double>();
  });
  const size_t n = growing.size();
  if (growing.size() > kTop) growing.erase(growing.begin() + static_cast<std::ptrdiff_t>(kTop), growing.end());
  out["emerging"] = {{"from", format_rfc3339(cells.from)}, {"to", format_rfc3339(cells.to)}, {"weeks", 12},
                     {"classes", tally}, {"growing_cells", n}, {"growing", std::move(growing)}};
  return out;
}

}  // namespace

json unit_score(const json& g) {
  double sum = 0, weights = 0;
  auto add = [&](const char* rate, double w) {
    if (!g.contains(rate) || g.at(rate).is_null()) return;
    sum += w * g.at(rate).get<double>();
    weights += w;
  };
  add("response_rate", kResponseWeight);
  add("resolution_rate", kResolutionWeight);
  add("satisfaction_rate", kSatisfactionWeight);
  return weights > 0 ? json(sum / weights) : json(nullptr);
}

Result<json> build_report(Store& store, const geo::AreaIndex& areas, const Catalog& catalog, const ReportQuery& q) {
  const auto span = q.to - q.from;
  const Timestamp previous_from = q.from - span;
  json out = {{"kind", to_string(q.kind)},
              {"label", q.label},
              {"from_day", q.first_day},
              {"from", format_rfc3339(q.from)},
              {"to", format_rfc3339(q.to)},
              {"previous_from", format_rfc3339(previous_from)},
              {"time_zone", q.time_zone},
              {"generated_at", format_rfc3339(q.now)}};
  if (!q.area_code.empty())
    out["area"] = {{"level", q.area_level}, {"code", q.area_code}, {"name", names_of_level(areas, q.area_level)[q.area_code]}};

  StatsQuery s{.time_zone = q.time_zone, .from = q.from, .to = q.to, .now = q.now,
               .area_level = q.area_level, .area_code = q.area_code};
  auto current = store.stats(s);
  if (!current) return std::unexpected(current.error());
  s.from = previous_from;
  s.to = q.from;
  auto previous = store.stats(s);
  if (!previous) return std::unexpected(previous.error());
  out["totals"] = current->at("total");
  out["previous"] = previous->at("total");

  // The days of the span, and at least the 28 days to its end: a trend to read the span against.
  // Every day, those without a case too.
  s.period = "day";
  s.from = q.trend_from;
  s.to = q.to;
  auto days = store.stats(s);
  if (!days) return std::unexpected(days.error());
  std::map<std::string, const json*> by_day;
  for (const json& g : days->at("groups")) by_day[g.at("period").get<std::string>()] = &g;
  json daily = json::array();
  for (const std::string& day : q.trend_days) {
    const auto it = by_day.find(day);
    if (it == by_day.end()) {
      daily.push_back({{"day", day}, {"cases", 0}, {"proactive", 0}, {"resolved", 0}, {"response_rate", nullptr},
                       {"resolution_rate", nullptr}, {"satisfaction_rate", nullptr}});
      continue;
    }
    const json& g = *it->second;
    daily.push_back({{"day", day}, {"cases", g.at("cases")}, {"proactive", g.at("proactive")},
                     {"resolved", g.at("resolved")}, {"response_rate", g.at("response_rate")},
                     {"resolution_rate", g.at("resolution_rate")}, {"satisfaction_rate", g.at("satisfaction_rate")}});
  }
  out["daily"] = std::move(daily);
  out["trend_from"] = format_rfc3339(s.from);

  auto categories = store.report_categories(q.from, q.to, previous_from, q.area_level, q.area_code);
  if (!categories) return std::unexpected(categories.error());
  json top = json::array();
  for (const json& c : *categories) {
    if (top.size() == kTop) break;
    const std::string code = c.at("category").get<std::string>();
    const Category* known = catalog.find(code);
    top.push_back({{"category", code},
                   {"name_zh", known ? known->name.zh : code},
                   {"name_en", known ? known->name.en : code},
                   {"cases", c.at("cases")},
                   {"previous", c.at("previous")}});
  }
  out["categories"] = std::move(top);
  out["category_count"] = categories->size();

  auto handling = store.report_handling(q.from, q.to, q.now, q.area_level, q.area_code);
  if (!handling) return std::unexpected(handling.error());
  out["handling"] = std::move(*handling);

  json units = {{"level", q.level}, {"rows", json::array()}};
  if (!q.level.empty()) {
    s.by = q.level;
    s.period = "";
    s.from = q.from;
    auto by_unit = store.stats(s);
    if (!by_unit) return std::unexpected(by_unit.error());
    const auto names = names_of_level(areas, q.level);
    json rows = json::array();
    for (const json& g : by_unit->at("groups")) {
      if (g.at("key").is_null()) continue;  // cases outside every area of the level
      const std::string code = g.at("key").get<std::string>();
      const auto name = names.find(code);
      rows.push_back({{"code", code},
                      {"name", name != names.end() ? name->second : code},
                      {"cases", g.at("cases")},
                      {"response_rate", g.at("response_rate")},
                      {"resolution_rate", g.at("resolution_rate")},
                      {"satisfaction_rate", g.at("satisfaction_rate")},
                      {"proactive_share", g.at("proactive_share")},
                      {"score", unit_score(g)}});
    }
    // Best score first; units with nothing to score last, by their number of cases.
    std::stable_sort(rows.begin(), rows.end(), [](const json& a, const json& b) {
      const bool na = a.at("score").is_null(), nb = b.at("score").is_null();
      if (na != nb) return nb;
      if (!na && a.at("score").get<double>() != b.at("score").get<double>())
        return a.at("score").get<double>() > b.at("score").get<double>();
      return a.at("cases").get<int64_t>() > b.at("cases").get<int64_t>();
    });
    int rank = 0;
    for (json& r : rows) r["rank"] = ++rank;
    units["rows"] = std::move(rows);
  }
  out["units"] = std::move(units);
  out["weights"] = {{"response", kResponseWeight}, {"resolution", kResolutionWeight}, {"satisfaction", kSatisfactionWeight}};

  if (q.spatial) out.update(spatial(store, areas, q));

  // A daily report: its (last) day's unusual counts per category group and unit, against the 28
  // local days before it (day index 28 of the counts read from their first midnight).
  if (q.kind == ReportKind::kDaily && !q.level.empty()) {
    constexpr int kBaseline = kReportBaselineDays;
    analytics::CellQuery scope{.area_level = q.area_level, .area_code = q.area_code};
    auto counts = store.analytics_daily(q.last_day_from, q.last_day_to, q.time_zone, q.level, scope);
    if (!counts) return std::unexpected(counts.error());
    json a = analytics::anomalies(*counts, kBaseline, kBaseline, q.q);
    json alarms = json::array();
    for (const json& it : a.at("items"))
      if (it.at("alarm").get<bool>()) alarms.push_back(it);
    out["anomalies"] = {{"day", q.last_day}, {"level", q.level}, {"series", a.at("series")}, {"baseline_days", kBaseline},
                        {"alarms", std::move(alarms)}};
  }
  return out;
}

}  // namespace gridwatch::center
