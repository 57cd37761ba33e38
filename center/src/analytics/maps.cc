#include "gridwatch/center/analytics/maps.h"

#include <cmath>
#include <map>
#include <string>
#include <utility>

#include "gridwatch/center/analytics/counts.h"

namespace gridwatch::center::analytics {
namespace {

nlohmann::json geometry(const Cell& c) {
  if (c.geometry.empty()) return nullptr;
  return nlohmann::json::parse(c.geometry);
}

nlohmann::json finite(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

const char* spot_name(int spot) { return spot > 0 ? "hot" : (spot < 0 ? "cold" : "none"); }

}  // namespace

Weights weights_of(const CellGrid& grid) {
  if (grid.hexagons()) {
    std::vector<std::pair<double, double>> centres;
    centres.reserve(grid.cells.size());
    for (const Cell& c : grid.cells) centres.emplace_back(c.x, c.y);
    return distance_band(centres, grid.band_m, true);
  }
  return from_pairs(grid.cells.size(), grid.touching, true);
}

nlohmann::json hotspots(const CellGrid& grid, double q) {
  std::vector<double> x;
  x.reserve(grid.cells.size());
  for (const Cell& c : grid.cells) x.push_back(c.total());
  const std::vector<CellResult> r = hot_and_cold(x, weights_of(grid), q);
  nlohmann::json features = nlohmann::json::array();
  size_t hot = 0, cold = 0;
  for (size_t i = 0; i < r.size(); ++i) {
    if (r[i].spot == 0) continue;
    (r[i].spot > 0 ? hot : cold) += 1;
    const Cell& c = grid.cells[i];
    nlohmann::json props = {{"count", x[i]}, {"z", finite(r[i].z)}, {"p", r[i].p}, {"spot", spot_name(r[i].spot)}};
    if (!c.name.empty()) props["name"] = c.name;
    features.push_back({{"type", "Feature"}, {"id", c.id}, {"geometry", geometry(c)}, {"properties", props}});
  }
  double total = 0;
  for (double v : x) total += v;
  return {{"type", "FeatureCollection"}, {"features", std::move(features)}, {"cell_count", grid.cells.size()},
          {"cases", total}, {"hot", hot}, {"cold", cold}, {"q", q}};
}

std::vector<EmergingResult> emerging(const CellGrid& grid, double q, double alpha) {
  const size_t n = grid.cells.size();
  const size_t steps = n == 0 ? 0 : grid.cells.front().counts.size();
  const Weights w = weights_of(grid);
  // per_cell[i][t]: cell i's result at step t.
  std::vector<std::vector<CellResult>> per_cell(n, std::vector<CellResult>(steps));
  std::vector<double> x(n);
  for (size_t t = 0; t < steps; ++t) {
    for (size_t i = 0; i < n; ++i) x[i] = grid.cells[i].counts[t];
    const std::vector<CellResult> r = hot_and_cold(x, w, q);
    for (size_t i = 0; i < n; ++i) per_cell[i][t] = r[i];
  }
  std::vector<EmergingResult> out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) out.push_back(classify_emerging(per_cell[i], alpha));
  return out;
}

nlohmann::json emerging_json(const CellGrid& grid, const std::vector<EmergingResult>& classes) {
  nlohmann::json features = nlohmann::json::array();
  std::map<std::string, size_t> tally;
  for (size_t i = 0; i < classes.size() && i < grid.cells.size(); ++i) {
    const EmergingResult& e = classes[i];
    tally[std::string(to_string(e.kind))] += 1;
    if (e.kind == Emerging::kNone) continue;
    const Cell& c = grid.cells[i];
    nlohmann::json props = {{"class", to_string(e.kind)},
                            {"name_zh", name_zh(e.kind)},
                            {"name_en", name_en(e.kind)},
                            {"counts", c.counts},
                            {"hot_steps", e.hot_steps},
                            {"cold_steps", e.cold_steps},
                            {"trend", {{"s", e.trend.s}, {"z", e.trend.z}, {"p", e.trend.p}, {"tau", e.trend.tau}}}};
    if (!c.name.empty()) props["name"] = c.name;
    features.push_back({{"type", "Feature"}, {"id", c.id}, {"geometry", geometry(c)}, {"properties", props}});
  }
  return {{"type", "FeatureCollection"}, {"features", std::move(features)}, {"cell_count", grid.cells.size()},
          {"classes", tally}};
}

nlohmann::json anomalies(std::span<const DailyCount> counts, int today, int baseline, double q) {
  struct Series {
    std::string group, area, name;
    std::vector<double> days;
    double today = 0;
  };
  std::map<std::pair<std::string, std::string>, Series> series;
  for (const DailyCount& d : counts) {
    if (d.day < today - baseline || d.day > today) continue;
    Series& s = series[{d.group, d.area}];
    if (s.days.empty()) s = {d.group, d.area, d.area_name, std::vector<double>(static_cast<size_t>(baseline), 0.0), 0};
    if (d.day == today) s.today += d.n;
    else s.days[static_cast<size_t>(d.day - (today - baseline))] += d.n;
  }
  std::vector<const Series*> all;
  std::vector<double> p;
  std::vector<CountBaseline> base;
  for (const auto& [key, s] : series) {
    all.push_back(&s);
    base.push_back(count_baseline(s.days));
    // One case is never a surge: a series is tested from two cases today.
    p.push_back(s.today >= 2 ? upper_tail(base.back(), s.today) : 1.0);
  }
  const std::vector<bool> found = benjamini_hochberg(p, q);
  nlohmann::json items = nlohmann::json::array();
  for (size_t i = 0; i < all.size(); ++i) {
    if (all[i]->today <= 0) continue;
    items.push_back({{"group", all[i]->group},
                     {"area", all[i]->area},
                     {"area_name", all[i]->name},
                     {"today", all[i]->today},
                     {"expected", base[i].mean},
                     {"dispersion", base[i].dispersion},
                     {"upper", upper_bound(base[i], q)},
                     {"p", p[i]},
                     {"alarm", bool(found[i])}});
  }
  std::stable_sort(items.begin(), items.end(), [](const nlohmann::json& a, const nlohmann::json& b) {
    return a.at("p").get<double>() < b.at("p").get<double>();
  });
  size_t alarms = 0;
  for (const auto& it : items) alarms += it.at("alarm").get<bool>() ? size_t{1} : size_t{0};
  return {{"series", all.size()}, {"alarms", alarms}, {"baseline_days", baseline}, {"q", q}, {"items", std::move(items)}};
}

}  // namespace gridwatch::center::analytics
