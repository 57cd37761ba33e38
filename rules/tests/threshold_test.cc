#include <gtest/gtest.h>

#include "gridwatch/rules/threshold.h"

namespace gridwatch::rules {
namespace {

using namespace std::chrono;

Reading at(int second, double value, std::string device = "bin-001") {
  return {.device_id = std::move(device),
          .ts = Timestamp{} + seconds{1'795'000'000 + second},
          .type = "bin_fill",
          .value = value,
          .unit = "%"};
}

ThresholdRule bin_rule() {
  return {.name = "bin_full", .reading_type = "bin_fill", .category = "sanitation.bin_overflow",
          .open_at = 90, .clear_at = 60};
}

// A fill level that rises, wobbles around the threshold, and is emptied: one open, one clear.
TEST(Threshold, HysteresisGivesOneEpisodePerProblem) {
  ThresholdEngine engine({bin_rule()});
  std::vector<Intent> all;
  int t = 0;
  for (double v : {40.0, 70.0, 89.9, 90.0, 88.0, 95.0, 89.0, 92.0, 61.0, 60.0, 20.0, 50.0}) {
    for (auto& i : engine.on_reading(at(t++, v))) all.push_back(i);
  }
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].kind, IntentKind::kOpen);
  EXPECT_EQ(all[0].reading.value, 90.0);
  EXPECT_EQ(all[1].kind, IntentKind::kClear);
  EXPECT_EQ(all[1].reading.value, 60.0);
  EXPECT_EQ(all[0].episode_id, all[1].episode_id);
  // The 4th reading (t0 + 3 s = 2026-11-18T11:06:43Z) opened the episode.
  EXPECT_EQ(all[0].episode_id, "bin_full.bin-001.20261118T110643Z");
  EXPECT_EQ(engine.open_episodes(), 0u);
}

TEST(Threshold, RedeliveredAndOutOfOrderReadingsChangeNothing) {
  ThresholdEngine engine({bin_rule()});
  ASSERT_EQ(engine.on_reading(at(10, 95)).size(), 1u);
  EXPECT_TRUE(engine.on_reading(at(10, 95)).empty());  // same reading again
  EXPECT_TRUE(engine.on_reading(at(5, 10)).empty());   // older reading would have cleared
  EXPECT_EQ(engine.open_episodes(), 1u);
}

TEST(Threshold, DevicesAreIndependentAndNewEpisodesGetNewIds) {
  ThresholdEngine engine({bin_rule()});
  auto a = engine.on_reading(at(1, 95, "bin-001"));
  auto b = engine.on_reading(at(1, 95, "bin-002"));
  ASSERT_EQ(a.size(), 1u);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_NE(a[0].episode_id, b[0].episode_id);
  EXPECT_EQ(engine.open_episodes(), 2u);
  ASSERT_EQ(engine.on_reading(at(2, 10, "bin-001")).size(), 1u);
  auto again = engine.on_reading(at(3, 99, "bin-001"));
  ASSERT_EQ(again.size(), 1u);
  EXPECT_NE(again[0].episode_id, a[0].episode_id);
}

TEST(Threshold, FallingRuleOpensBelow) {
  ThresholdRule low{.name = "battery_low", .reading_type = "batt_v", .category = "utilities.manhole_cover",
                    .open_at = 3.3, .clear_at = 3.6};
  ThresholdEngine engine({low});
  Reading r = at(1, 3.2);
  r.type = "batt_v";
  auto out = engine.on_reading(r);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kind, IntentKind::kOpen);
  r.ts += seconds{1};
  r.value = 3.7;
  out = engine.on_reading(r);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kind, IntentKind::kClear);
}

TEST(Threshold, OtherTypesAreIgnored) {
  ThresholdEngine engine({bin_rule()});
  Reading r = at(1, 999);
  r.type = "water_depth";
  EXPECT_TRUE(engine.on_reading(r).empty());
}

TEST(Threshold, ValidateNamesTheProblem) {
  ThresholdRule r = bin_rule();
  r.clear_at = r.open_at;
  auto st = validate(r, Catalog::builtin());
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().field, "clear_at");
  r = bin_rule();
  r.category = "sanitation.nothing";
  st = validate(r, Catalog::builtin());
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().field, "category");
  EXPECT_NE(st.error().message.find("unknown category"), std::string::npos);
  r = bin_rule();
  r.name = "Bin Full";
  EXPECT_EQ(validate(r, Catalog::builtin()).error().field, "rule");
  EXPECT_TRUE(validate(bin_rule(), Catalog::builtin()).has_value());
}

}  // namespace
}  // namespace gridwatch::rules
