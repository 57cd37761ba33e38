// Generated history (history.h): seeded, well-ordered, and with what it plants.
#include <gtest/gtest.h>

#include <cmath>

#include "gridwatch/center/history.h"

namespace gridwatch::center {
namespace {

HistoryOptions options() {
  HistoryOptions o;
  o.to = *parse_rfc3339("2026-11-30T12:00:00Z");
  o.from = o.to - std::chrono::days{91};
  o.per_day = 30;
  o.west = 116.35;
  o.east = 116.43;
  o.south = 39.88;
  o.north = 39.96;
  o.grow_category = "sanitation.dumped_waste";
  o.grow_at = {116.417, 39.929};
  o.grow_first = 2;
  o.grow_last = 20;
  o.burst_category = "traffic.illegal_parking";
  o.burst_at = {116.374, 39.908};
  o.burst = 12;
  o.burst_m = 50;
  return o;
}

TEST(History, TheSameSeedGivesTheSameCasesAndAnotherOther) {
  const auto a = generate_history(options(), Catalog::builtin());
  const auto b = generate_history(options(), Catalog::builtin());
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].id, b[i].id);
    EXPECT_EQ(a[i].category, b[i].category);
    EXPECT_EQ(a[i].opened, b[i].opened);
  }
  auto o = options();
  o.seed += 1;
  const auto c = generate_history(o, Catalog::builtin());
  EXPECT_NE(a.size() == c.size() && a.front().opened == c.front().opened, true);
}

TEST(History, CasesAreClosedInOrderInsideTheWindowAndTheBox) {
  const auto o = options();
  const auto cases = generate_history(o, Catalog::builtin());
  // ~30 a day over 91 days (more on weekdays, fewer at weekends), the growing problem and the burst.
  EXPECT_GT(cases.size(), 2200u);
  EXPECT_LT(cases.size(), 3600u);
  size_t evaluated = 0, satisfied = 0, proactive = 0;
  for (const HistoryCase& h : cases) {
    EXPECT_GE(h.opened, o.from);
    EXPECT_LE(h.opened, h.dispatched);
    EXPECT_LE(h.dispatched, h.responded);
    EXPECT_LE(h.responded, h.resolved);
    EXPECT_LT(h.resolved, o.to);
    EXPECT_NE(h.category, "general.other");
    ASSERT_NE(Catalog::builtin().find(h.category), nullptr) << h.category;
    EXPECT_EQ(h.department, Catalog::builtin().find(h.category)->department_code);
    EXPECT_GE(h.at.lon, o.west - 0.01);
    EXPECT_LE(h.at.lon, o.east + 0.01);
    evaluated += h.satisfaction.empty() ? size_t{0} : size_t{1};
    satisfied += h.satisfaction == "satisfied" ? size_t{1} : size_t{0};
    proactive += h.source_kind == "hotline" ? size_t{0} : size_t{1};
  }
  EXPECT_NEAR(double(evaluated) / double(cases.size()), 0.7, 0.05);
  EXPECT_NEAR(double(satisfied) / double(evaluated), 0.85, 0.05);
  EXPECT_NEAR(double(proactive) / double(cases.size()), 0.25, 0.05);
}

TEST(History, ThePlantedProblemGrowsAndTheBurstIsInTheLastHour) {
  const auto o = options();
  const auto cases = generate_history(o, Catalog::builtin());
  std::vector<int> weekly(13, 0);
  int burst = 0;
  for (const HistoryCase& h : cases) {
    const double dx = (h.at.lon - o.grow_at.lon) * 85'000, dy = (h.at.lat - o.grow_at.lat) * 111'000;
    if (h.category == o.grow_category && std::hypot(dx, dy) < 250) {
      const auto w = std::chrono::duration_cast<std::chrono::days>(h.opened - o.from).count() / 7;
      if (w >= 0 && w < 13) ++weekly[static_cast<size_t>(w)];
    }
    if (h.category == o.burst_category && h.opened >= o.to - std::chrono::hours{1}) ++burst;
  }
  EXPECT_LT(weekly[0] + weekly[1] + weekly[2], weekly[10] + weekly[11] + weekly[12]);
  EXPECT_GE(weekly[12], 10);
  EXPECT_GE(burst, 12);
}

}  // namespace
}  // namespace gridwatch::center
