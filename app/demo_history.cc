#include "demo_history.h"

#include <chrono>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "demo_hotline.h"
#include "demo_http.h"
#include "gridwatch/center/history.h"

namespace gridwatch::app {

namespace {

constexpr uint64_t kSeed = 20261204;

}  // namespace

bool seed_demo_history(center::Center& center) {
  using namespace std::chrono;
  center::HistoryOptions o;
  o.to = now_utc();
  o.from = o.to - days{91};
  o.per_day = 40;
  o.seed = kSeed;
  // Dongcheng and Xicheng (东城区, 西城区), inside the demo's synthetic grid.
  o.west = 116.350;
  o.east = 116.435;
  o.south = 39.880;
  o.north = 39.960;
  o.grow_category = "sanitation.dumped_waste";  // 乱堆物堆料 by the 东四 lanes, growing week by week
  o.grow_at = {116.4170, 39.9290};
  o.grow_first = 3;
  o.grow_last = 16;
  o.burst_category = "traffic.illegal_parking";  // 车乱停放 by 西单, today only
  o.burst_at = {116.3740, 39.9080};
  o.burst = 14;
  o.burst_m = 60;
  // Within today, Beijing time (the anomalies' day): from local midnight or six hours ago,
  // whichever is later (just after midnight, all at midnight).
  const auto midnight = floor<days>(o.to + hours{8}) - hours{8};
  o.burst_from = std::max<Timestamp>(Timestamp{midnight}, o.to - hours{6});
  const auto cases = center::generate_history(o, center.catalog());
  auto n = center.store().insert_history(cases, center.config().dispatch_level);
  if (!n) {
    spdlog::error("demo history: {}", n.error().message);
    return false;
  }
  fmt::print("History: {} generated closed cases over the last 13 weeks (seed {}; a growing 乱堆物堆料 problem by "
             "东四, a burst of 车乱停放 by 西单 today), written straight into the store\n",
             *n, kSeed);
  return true;
}

std::string demo_analytics_lines(int http_port) {
  const char* token = DemoHotline::kAdminToken;
  std::string out;
  if (auto h = demo_call(http_port, "GET", "/api/v1/analytics/hotspots?category=sanitation", {}, token))
    out += fmt::format("  hot spots (28 days, sanitation, hexagons of {} m): {} hot and {} cold of {} cells\n",
                       h->value("size_m", 0.0), h->value("hot", 0), h->value("cold", 0), h->value("cell_count", 0));
  if (auto e = demo_call(http_port, "GET", "/api/v1/analytics/emerging?category=sanitation", {}, token)) {
    const auto& classes = e->at("classes");
    out += fmt::format("  emerging (13 weeks, sanitation): {} intensifying, {} persistent, {} new hot spot cells\n",
                       classes.value("intensifying_hot", 0), classes.value("persistent_hot", 0),
                       classes.value("new_hot", 0));
  }
  if (auto a = demo_call(http_port, "GET", "/api/v1/analytics/anomalies?level=grid", {}, token)) {
    std::string first;
    for (const auto& it : a->at("items"))
      if (it.value("alarm", false)) {
        first = fmt::format(" — first: {} in {} {} today against {:.1f} expected", it.value("group", ""),
                            it.value("area_name", ""), it.value("today", 0.0), it.value("expected", 0.0));
        break;
      }
    out += fmt::format("  anomalies today ({} series by {}): {} alarm(s){}\n", a->value("series", 0),
                       a->value("level", ""), a->value("alarms", 0), first);
  }
  if (auto m = demo_call(http_port, "GET", "/api/v1/analytics/monthly-problems", {}, token)) {
    const auto& c = m->at("candidates");
    if (!c.empty())
      out += fmt::format("  每月一题 {} candidates: #1 {} (score {:.3f}, {} of 13 weeks recurring)\n",
                         m->value("month", ""), c[0].value("group", ""), c[0].value("score", 0.0),
                         c[0].value("recurring_weeks", 0));
  }
  return out.empty() ? "  analytics: no answer\n" : out;
}

}  // namespace gridwatch::app
