// A weekly report over a district with 100,000 cases a month (docs/PERFORMANCE.md, "Reports").
//
// 13 weeks of generated history (center/history.h: ~3,300 cases a day over a 12 km x 11 km
// district cut into 20 streets, a growing problem planted) written into the private PostGIS; then
// the last week's report (every section: rates now and before, 28-day trend, categories, handling,
// the streets ranked, hot spots on 250 m hexagons and 12 weeks of growing problems) and the
// month's, against the peer: the bare count of the week's cases on the same table.
//   report_bench [cases_per_month=100000] [repeats=3]
#include <chrono>
#include <fstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "bench_center.h"
#include "bench_support.h"
#include "gridwatch/center/history.h"
#include "gridwatch/center/report.h"

using namespace gridwatch;
using nlohmann::json;

int main(int argc, char** argv) {
  const double per_month = argc > 1 ? std::stod(argv[1]) : 100'000;
  const int repeats = argc > 2 ? std::stoi(argv[2]) : 3;
  spdlog::set_level(spdlog::level::warn);
  auto services = bench::start_services("report-bench");
  const auto ep = services->endpoints();
  const auto dir = services->dir();
  // 20 streets, 5 x 4, over the district.
  const double lon0 = 116.30, lat0 = 39.85, lon1 = 116.44, lat1 = 39.95;
  json streets = {{"type", "FeatureCollection"}, {"features", json::array()}};
  for (int i = 0; i < 5; ++i)
    for (int j = 0; j < 4; ++j) {
      const double x0 = lon0 + (lon1 - lon0) * i / 5, x1 = lon0 + (lon1 - lon0) * (i + 1) / 5;
      const double y0 = lat0 + (lat1 - lat0) * j / 4, y1 = lat0 + (lat1 - lat0) * (j + 1) / 4;
      streets["features"].push_back(
          {{"type", "Feature"},
           {"properties", {{"code", fmt::format("s{:02}", i * 4 + j)}, {"name", fmt::format("街道 {:02}", i * 4 + j)}}},
           {"geometry", {{"type", "Polygon"}, {"coordinates", {{{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}, {x0, y0}}}}}}});
    }
  std::ofstream(dir / "streets.geojson") << streets.dump();
  center::CenterConfig cfg = bench::center_config(ep, 4);
  cfg.areas = {{.file = dir / "streets.geojson", .options = {.level_name = "street", .id_property = "code"}}};
  auto center = bench::start_center(cfg);
  center::Store& store = center->store();

  center::HistoryOptions h;
  h.to = now_utc();
  h.from = h.to - std::chrono::days{91};
  h.per_day = per_month / 30.0;
  h.seed = 20261204;
  h.west = lon0 + 0.001;
  h.east = lon1 - 0.001;
  h.south = lat0 + 0.001;
  h.north = lat1 - 0.001;
  h.grow_category = "sanitation.dumped_waste";
  h.grow_at = {116.37, 39.90};
  auto t0 = bench::Clock::now();
  const auto cases = center::generate_history(h, Catalog::builtin());
  auto written = store.insert_history(cases, "street");
  if (!written) {
    fmt::print(stderr, "history: {}\n", written.error().message);
    return 1;
  }
  PGconn* pg = PQconnectdb(ep.pg_conninfo.c_str());
  bench::exec(pg, "VACUUM ANALYZE orders");
  fmt::print("history: {} cases over 13 weeks written in {:.0f} s\n", *written, bench::seconds_since(t0));

  auto query = [&](const char* kind) {
    auto q = center::parse_report_query({{"kind", kind}}, center->areas(), cfg.analytics, now_utc());
    if (!q) {
      fmt::print(stderr, "{}\n", q.error().message);
      std::exit(1);
    }
    return *q;
  };
  const center::ReportQuery weekly = query("weekly"), monthly = query("monthly");
  const std::string count_sql =
      fmt::format("SELECT count(*) FROM orders WHERE opened_at >= '{}' AND opened_at < '{}' "
                  "AND state NOT IN ('cancelled', 'duplicate')",
                  format_rfc3339(weekly.from), format_rfc3339(weekly.to));
  std::vector<double> bare, week, month;
  size_t week_cases = 0, html_bytes = 0;
  for (int r = 0; r < repeats; ++r) {
    t0 = bench::Clock::now();
    PGresult* res = PQexec(pg, count_sql.c_str());
    week_cases = std::stoul(PQgetvalue(res, 0, 0));
    PQclear(res);
    bare.push_back(bench::seconds_since(t0));
    t0 = bench::Clock::now();
    auto w = center::build_report(store, center->areas(), Catalog::builtin(), weekly);
    if (!w) {
      fmt::print(stderr, "weekly: {}\n", w.error().message);
      return 1;
    }
    html_bytes = center::report_html(*w, "").size();
    week.push_back(bench::seconds_since(t0));
    t0 = bench::Clock::now();
    auto m = center::build_report(store, center->areas(), Catalog::builtin(), monthly);
    if (!m) {
      fmt::print(stderr, "monthly: {}\n", m.error().message);
      return 1;
    }
    month.push_back(bench::seconds_since(t0));
  }
  PQfinish(pg);
  const double b = bench::percentile(bare, 0.5), wk = bench::percentile(week, 0.5), mo = bench::percentile(month, 0.5);
  fmt::print("week {} ({} cases): bare count {:.3f} s; weekly report (figures + HTML, {} KB) {:.2f} s = {:.0f}x the count\n",
             weekly.label, week_cases, b, html_bytes / 1024, wk, wk / b);
  fmt::print("month {}: monthly report {:.2f} s = {:.0f}x the count of a week\n", monthly.label, mo, mo / b);
  fmt::print("RESULT cases={} week_cases={} bare_s={:.3f} weekly_s={:.2f} monthly_s={:.2f} weekly_vs_count={:.0f} "
             "goal_weekly_le_10s={}\n",
             *written, week_cases, b, wk, mo, wk / b, wk <= 10 ? 1 : 0);
  center->stop();
  return 0;
}
