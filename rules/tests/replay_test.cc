#include <fstream>
#include <sstream>

#include "gridwatch/rules/replay.h"
#include "harness.h"

namespace gridwatch::rules::testing {
namespace {

struct Run {
  ReplayStats stats;
  std::vector<Intent> intents;
  std::vector<std::string> bad;
};

Run replay(const std::string& rules_yaml, const std::string& csv) {
  Engine engine(rules_from(rules_yaml), {}, Catalog::builtin(), {.accept_unknown_devices = true});
  std::istringstream in(csv);
  Run run;
  auto r = replay_csv(in, engine, [&](const Intent& i) { run.intents.push_back(i); },
                      [&](size_t line, const std::string& msg) { run.bad.push_back(fmt::format("{}: {}", line, msg)); });
  EXPECT_TRUE(r.has_value()) << r.error().message;
  if (r) run.stats = *r;
  return run;
}

const char* kBin = R"(lateness: 1h
rules:
  - id: bin_full
    category: sanitation.bin_overflow
    input: {type: bin_fill}
    when: {threshold: {above: 90, clear_below: 60}}
)";

TEST(Replay, BadRowsAreReportedByLineAndTheRestIsProcessed) {
  auto run = replay(kBin,
                    "device_id,ts,value,type,extra\n"
                    "b1,2026-11-23T08:00:00Z,50,bin_fill,x\n"
                    "b1,yesterday,95,bin_fill,x\n"
                    "b1,2026-11-23 08:05:00.123456+00:00,95,bin_fill,x\n"
                    "b1,2026-11-23T08:06:00Z,lots,bin_fill,x\n"
                    "b 1,2026-11-23T08:07:00Z,99,bin_fill,x\n"
                    "b1,2026-11-23T08:02:00Z,30,bin_fill\n"  // out of order, within lateness
                    "b1,2026-11-23T08:10:00Z,40,bin_fill,x\n"
                    "short\n");
  EXPECT_EQ(run.stats.rows, 8u);
  EXPECT_EQ(run.stats.bad_rows, 4u);
  ASSERT_EQ(run.bad.size(), 4u);
  EXPECT_NE(run.bad[0].find("3: ts:"), std::string::npos) << run.bad[0];
  EXPECT_EQ(run.bad[1], "5: value \"lots\" is not a number");
  EXPECT_NE(run.bad[2].find("6: device_id \"b 1\""), std::string::npos) << run.bad[2];
  EXPECT_EQ(run.bad[3], "9: 1 fields, expected at least 4");
  ASSERT_EQ(run.intents.size(), 2u);
  EXPECT_EQ(intent_json(run.intents[0])["ts"], "2026-11-23T08:05:00.123Z");
  EXPECT_EQ(intent_json(run.intents[0])["event"], "open");
  EXPECT_EQ(intent_json(run.intents[1])["event"], "clear");
  EXPECT_EQ(intent_json(run.intents[1])["id"], "bin_full.b1.20261123T080500.123Z");
  const auto j = intent_json(run.intents[1]);
  for (const char* key : {"ts", "event", "id", "rule", "subject", "category", "priority"})
    EXPECT_TRUE(j.contains(key)) << key;
}

TEST(Replay, HeaderWithoutTheColumnsIsRefused) {
  Engine engine(rules_from(kBin), {}, Catalog::builtin(), {.accept_unknown_devices = true});
  std::istringstream in("time,sensor,reading\n1,2,3\n");
  auto r = replay_csv(in, engine, [](const Intent&) {}, [](size_t, const std::string&) {});
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("the header must name ts, device_id, type and value"), std::string::npos);
}

// Real data: the FloodNet sensor "easily_dear_mouse" (NYC, 2023). Flood episodes with hysteresis
// (open at 50 mm, clear at 10 mm) and the sensor going silent for more than 6 hours. Each episode
// clears exactly once, opens only during the July storms, and the open/clear pairs agree with a
// direct scan of the same series.
TEST(Replay, FloodNetSensorEpisodes) {
  std::ifstream in(std::string(GRIDWATCH_SHARED_DIR) + "/data/sensors/floodnet-easily_dear_mouse-2023.csv");
  ASSERT_TRUE(in) << "missing ../shared/data/sensors";
  std::string header, line;
  std::getline(in, header);
  std::stringstream csv;
  csv << "ts,device_id,type,value\n";
  // Columns: 1 = time, 33 = depth_proc_mm.
  std::vector<std::pair<std::string, double>> series;
  while (std::getline(in, line)) {
    std::vector<std::string> f;
    std::stringstream ls(line);
    std::string cell;
    while (std::getline(ls, cell, ',')) f.push_back(cell);
    if (f.size() < 34 || f[33].empty()) continue;
    csv << f[1] << ",fs-00023,water_depth," << f[33] << "\n";
    series.emplace_back(f[1], std::stod(f[33]));
  }
  ASSERT_GT(series.size(), 10'000u);
  auto run = replay(R"(lateness: 0s
rules:
  - id: flood
    category: water.waterlogging
    input: {type: water_depth}
    when: {threshold: {above: 50, clear_below: 10}}
  - id: silent
    category: water.waterlogging
    priority: low
    input: {type: water_depth}
    when: {no_data: {for: 6h}}
)",
                    csv.str());
  EXPECT_EQ(run.stats.bad_rows, 0u);
  // The expected flood episodes by a direct scan (series is in time order).
  int expected = 0;
  bool wet = false;
  for (const auto& [t, v] : series) {
    if (!wet && v >= 50) { wet = true; ++expected; }
    else if (wet && v <= 10) wet = false;
  }
  int opens = 0, clears = 0, silent = 0;
  std::string open_id;
  for (const Intent& i : run.intents) {
    if (i.rule == "silent") {
      silent += i.kind == IntentKind::kOpen;
      continue;
    }
    if (i.kind == IntentKind::kOpen) {
      EXPECT_TRUE(open_id.empty());
      open_id = i.id;
      ++opens;
      EXPECT_EQ(format_rfc3339(i.at).substr(0, 7), "2023-07") << i.id;
    } else {
      EXPECT_EQ(i.id, open_id);
      open_id.clear();
      ++clears;
    }
  }
  EXPECT_GE(expected, 3);
  EXPECT_EQ(opens, expected);
  EXPECT_GE(clears, opens - 1);
  EXPECT_GE(silent, 1) << "the 100 days have gaps of more than 6 hours";
  RecordProperty("flood_episodes", opens);
  RecordProperty("silent_episodes", silent);
}

}  // namespace
}  // namespace gridwatch::rules::testing
