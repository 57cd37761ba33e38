// Routes: hot spots, emerging hot spots and unusual counts (docs/analytics.md). Who may read the
// rates may read these.
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "answers.h"
#include "gridwatch/center/analytics/maps.h"
#include "gridwatch/center/center.h"

namespace gridwatch::center {

namespace {

// The window and cells of an answer; size_m is the hexagons' edge used (the grid's: larger than
// the default when it was fitted to the area).
nlohmann::json describe(const AnalyticsQuery& q, const analytics::CellGrid& grid) {
  nlohmann::json j = {{"from", format_rfc3339(q.cells.from)},
                      {"to", format_rfc3339(q.cells.to)},
                      {"cells", q.cells.cells},
                      {"category", q.cells.category.empty() ? nlohmann::json(nullptr) : nlohmann::json(q.cells.category)}};
  if (q.cells.cells == "hex") j["size_m"] = grid.size_m;
  if (!q.cells.area_code.empty()) j["area"] = {{"level", q.cells.area_level}, {"code", q.cells.area_code}};
  return j;
}

}  // namespace

std::optional<AnalyticsQuery> Center::analytics_request(AnalyticsKind kind, const http::Request& req,
                                                        http::Response& res) {
  const auto who = caller(req, res);
  if (!who) return std::nullopt;
  if (!who->may_read_stats()) {
    deny(res, *who, "read the analytics");
    return std::nullopt;
  }
  auto q = parse_analytics_query(kind, req.params, *areas_, catalog_, config_.analytics, now_utc());
  if (!q) {
    json_error(res, 400, q.error().message, q.error().field);
    return std::nullopt;
  }
  return *q;
}

void Center::add_analytics_routes(http::Server& server) {
  // Gi* hot and cold spots over a window (default the last 28 days), FDR-corrected.
  server.get("/api/v1/analytics/hotspots", [this](const http::Request& req, http::Response& res) {
    auto q = analytics_request(AnalyticsKind::kHotspots, req, res);
    if (!q) return;
    auto grid = store_->analytics_cells(q->cells);
    if (!grid) return answer_error(res, grid.error(), 400);
    nlohmann::json out = analytics::hotspots(*grid, q->q);
    out.update(describe(*q, *grid));
    res.set_content(out.dump(), "application/geo+json");
  });

  // Gi* per week (or day) over 13 (or `steps`) steps, each cell classed by its history and trend.
  server.get("/api/v1/analytics/emerging", [this](const http::Request& req, http::Response& res) {
    auto q = analytics_request(AnalyticsKind::kEmerging, req, res);
    if (!q) return;
    auto grid = store_->analytics_cells(q->cells);
    if (!grid) return answer_error(res, grid.error(), 400);
    nlohmann::json out = analytics::emerging_json(*grid, analytics::emerging(*grid, q->q));
    out.update(describe(*q, *grid));
    out["step"] = q->cells.step_seconds == 86400 ? "day" : "week";
    out["steps"] = q->cells.steps();
    out["q"] = q->q;
    res.set_content(out.dump(), "application/geo+json");
  });

  // Today's (or `day`'s) count of each category group in each street against the days before.
  server.get("/api/v1/analytics/anomalies", [this](const http::Request& req, http::Response& res) {
    auto q = analytics_request(AnalyticsKind::kAnomalies, req, res);
    if (!q) return;
    auto counts = store_->analytics_daily(q->cells.from, q->cells.to, q->time_zone, q->level, q->cells);
    if (!counts) return answer_error(res, counts.error(), 400);
    nlohmann::json out = analytics::anomalies(*counts, q->baseline_days, q->baseline_days, q->q);
    out["day"] = q->day;
    out["level"] = q->level;
    out["time_zone"] = q->time_zone;
    out["category"] = q->cells.category.empty() ? nlohmann::json(nullptr) : nlohmann::json(q->cells.category);
    if (!q->cells.area_code.empty()) out["area"] = {{"level", q->cells.area_level}, {"code", q->cells.area_code}};
    res.set_content(out.dump(), "application/json");
  });
}

}  // namespace gridwatch::center
