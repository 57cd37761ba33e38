// Routes: 每月一题 — the month's candidate problems with their evidence, a person's pick, and the
// picked problems tracked month over month (docs/analytics.md).
#include <algorithm>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "answers.h"
#include "gridwatch/center/analytics/maps.h"
#include "gridwatch/center/analytics/monthly.h"
#include "gridwatch/center/center.h"

namespace gridwatch::center {

namespace {

constexpr size_t kCandidates = 5;
constexpr int kWeeks = 13;

bool recurring(analytics::Emerging e) {
  return e == analytics::Emerging::kPersistentHot || e == analytics::Emerging::kIntensifyingHot;
}

}  // namespace

Result<nlohmann::json> Center::monthly_problems(const AnalyticsQuery& q) {
  auto groups = store_->analytics_month_groups(q.cells.from, q.cells.to, q.cells.area_level, q.cells.area_code);
  if (!groups) return std::unexpected(groups.error());
  double all = 0;
  for (const auto& g : *groups) all += g.cases;
  // The 13 weeks that end with the month, every group at once: where each keeps coming back.
  analytics::CellQuery cells = q.cells;
  cells.category.clear();
  cells.step_seconds = 7 * 86400;
  cells.from = cells.to - std::chrono::seconds{cells.step_seconds * kWeeks};
  auto all_groups = store_->analytics_cells(cells);
  if (!all_groups) return std::unexpected(all_groups.error());
  nlohmann::json candidates = nlohmann::json::array();
  for (const auto& g : *groups) {
    const analytics::CellGrid grid = all_groups->only(g.group);
    const auto classes = analytics::emerging(grid, q.q);
    size_t weeks = 0;
    std::vector<double> weekly(kWeeks, 0.0);
    analytics::CellGrid spots;
    std::vector<analytics::EmergingResult> spot_classes;
    for (size_t i = 0; i < grid.cells.size(); ++i) {
      for (size_t t = 0; t < weekly.size() && t < grid.cells[i].counts.size(); ++t) weekly[t] += grid.cells[i].counts[t];
      if (!recurring(classes[i].kind)) continue;
      weeks = std::max(weeks, classes[i].hot_steps);
      spots.cells.push_back(grid.cells[i]);
      spot_classes.push_back(classes[i]);
    }
    const analytics::ProblemScore s = analytics::problem_score({.group = g.group,
                                                                .cases = g.cases,
                                                                .all_cases = all,
                                                                .evaluated = g.evaluated,
                                                                .satisfied = g.satisfied,
                                                                .departments = g.departments,
                                                                .recurring_weeks = weeks,
                                                                .weeks = kWeeks});
    nlohmann::json names = nlohmann::json::array();
    for (const Category& c : catalog_.all())
      if (c.code.starts_with(g.group + ".")) names.push_back({{"code", c.code}, {"zh", c.name.zh}, {"en", c.name.en}});
    candidates.push_back({{"group", g.group},
                          {"categories", names},
                          {"score", s.score},
                          {"share", s.share},
                          {"recurrence", s.recurrence},
                          {"recurring_weeks", weeks},
                          {"dissatisfaction", s.dissatisfaction},
                          {"departments", s.departments},
                          {"cases", g.cases},
                          {"evaluated", g.evaluated},
                          {"satisfied", g.satisfied},
                          {"resolution_rate", g.dispatched > 0 ? nlohmann::json(g.resolved / g.dispatched) : nullptr},
                          {"weekly", weekly},
                          {"spots", analytics::emerging_json(spots, spot_classes)},
                          {"samples", g.samples}});
  }
  std::stable_sort(candidates.begin(), candidates.end(), [](const nlohmann::json& a, const nlohmann::json& b) {
    return a.at("score").get<double>() > b.at("score").get<double>();
  });
  if (candidates.size() > kCandidates) candidates.erase(candidates.begin() + kCandidates, candidates.end());
  for (size_t i = 0; i < candidates.size(); ++i) candidates[i]["rank"] = i + 1;
  auto picked = store_->monthly_problem_tracking(q.month, q.time_zone);
  if (!picked) return std::unexpected(picked.error());
  return nlohmann::json{{"month", q.month},       {"time_zone", q.time_zone}, {"cases", all},
                        {"candidates", candidates}, {"picked", *picked},        {"weeks", kWeeks}};
}

void Center::add_monthly_problem_routes(http::Server& server) {
  // The month's top 5 candidates (default: the last whole month) and the problems picked so far.
  server.get("/api/v1/analytics/monthly-problems", [this](const http::Request& req, http::Response& res) {
    auto q = analytics_request(AnalyticsKind::kMonthlyProblems, req, res);
    if (!q) return;
    auto out = monthly_problems(*q);
    if (!out) return answer_error(res, out.error(), 400);
    res.set_content(out->dump(), "application/json");
  });

  // A dispatcher or admin picks a problem of a month: {"month": "2026-11", "group": "sanitation", "note": "..."}.
  server.post("/api/v1/analytics/monthly-problems/picks", [this](const http::Request& req, http::Response& res) {
    const auto who = caller(req, res);
    if (!who) return;
    if (!who->may_pick_monthly_problem()) return deny(res, *who, "pick the monthly problem");
    auto body = json_body(req, res, {"month", "group", "note"}, R"({"month": "YYYY-MM", "group": "...", "note": "..."})");
    if (!body) return;
    if (!body->contains("month") || !(*body)["month"].is_string())
      return json_error(res, 400, "month (YYYY-MM) is required", "month");
    if (!body->contains("group") || !(*body)["group"].is_string())
      return json_error(res, 400, "group (a category group such as sanitation) is required", "group");
    const std::string group = (*body)["group"];
    const auto note_field = http::text_field(*body, "note", 2000);
    if (!note_field) return json_error(res, 400, "note is a text of at most 2000 characters", "note");
    const std::string& note = *note_field;
    QueryParams params = {{"month", (*body)["month"].get<std::string>()}};
    auto q = parse_analytics_query(AnalyticsKind::kMonthlyProblems, params, *areas_, catalog_, config_.analytics,
                                   now_utc());
    if (!q) return json_error(res, 400, q.error().message, q.error().field);
    auto figures = monthly_problems(*q);
    if (!figures) return answer_error(res, figures.error(), 400);
    const nlohmann::json* mine = nullptr;
    for (const auto& c : figures->at("candidates"))
      if (c.at("group") == group) mine = &c;
    if (!mine)
      return json_error(res, 400,
                        fmt::format("\"{}\" is not among the top {} candidates of {}", group, kCandidates, q->month),
                        "group");
    auto at = store_->pick_monthly_problem(q->month, group, who->name, note, mine->at("score").get<double>());
    if (!at) return answer_error(res, at.error(), 400);
    spdlog::info("monthly problem of {}: {} picked by {}", q->month, group, who->name);
    res.status = 201;
    res.set_content(nlohmann::json({{"month", q->month}, {"group", group}, {"picked_by", who->name}, {"picked_at", *at},
                                    {"score", mine->at("score")}})
                        .dump(),
                    "application/json");
  });
}

}  // namespace gridwatch::center
