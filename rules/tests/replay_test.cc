#include <algorithm>
#include <fstream>
#include <random>
#include <sstream>

#include "gridwatch/rules/replay.h"
#include "harness.h"
#include "test_data.h"

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

// Flood episodes of a street flood sensor with hysteresis (open at 50 mm, clear at 10 mm), and
// the sensor going silent for more than 6 hours.
const char* kFloodRules = R"(lateness: 0s
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
)";

// The flood episodes of a series in time order, by a direct scan: the index of the reading that
// opens each one.
std::vector<size_t> scan_floods(const std::vector<double>& depth) {
  std::vector<size_t> opens;
  bool wet = false;
  for (size_t i = 0; i < depth.size(); ++i) {
    if (!wet && depth[i] >= 50) {
      wet = true;
      opens.push_back(i);
    } else if (wet && depth[i] <= 10) {
      wet = false;
    }
  }
  return opens;
}

// A FloodNet-style timestamp of a time with milliseconds: "2023-07-01 00:05:00.494000+00:00".
std::string floodnet_time(Timestamp t) {
  std::string s = format_rfc3339(t);  // 2023-07-01T00:05:00.494Z
  s[10] = ' ';
  s.pop_back();
  return s + "000+00:00";
}

// Two weeks of a generated depth sensor, a reading every 5 minutes: a noisy dry baseline, five
// floods whose rise wobbles across 50 mm and whose fall wobbles across 10 mm (one touches 50.0
// exactly, one falls to 10.0 exactly, one has two peaks with a dip to 30 mm between them), a
// near miss that peaks just under 50 mm, a 5.5-hour gap and an 8-hour gap in the readings. Five
// flood episodes, each cleared once; one silent episode, for the 8-hour gap only.
TEST(Replay, GeneratedFloodSensorEpisodes) {
  const Timestamp start = *parse_rfc3339("2023-07-01T00:00:00Z");
  auto time_of = [&](int step) {
    return start + Duration{std::chrono::minutes{5} * step + std::chrono::milliseconds{494}};
  };
  std::mt19937 rng(23);
  std::uniform_real_distribution<double> dry(0.0, 4.0), wobble(-3.0, 3.0);
  struct Flood {
    int at;                // first step of the rise
    double peak;           // mm
    int rise, hold, fall;  // steps
    double exact = -1;     // a value put exactly on the rise (50.0) or the fall (10.0)
    bool twin_peaks = false;
  };
  const std::vector<Flood> floods = {
      {.at = 300, .peak = 120, .rise = 12, .hold = 10, .fall = 30},
      {.at = 900, .peak = 75, .rise = 8, .hold = 4, .fall = 20, .exact = 50.0},
      {.at = 1700, .peak = 181, .rise = 20, .hold = 30, .fall = 60, .twin_peaks = true},
      {.at = 2600, .peak = 46, .rise = 10, .hold = 5, .fall = 10},  // the near miss
      {.at = 3100, .peak = 95, .rise = 6, .hold = 6, .fall = 24, .exact = 10.0},
      {.at = 3500, .peak = 60, .rise = 10, .hold = 2, .fall = 12},
  };
  constexpr int kSteps = 4000;
  // Missing steps: 66 steps of 5 min = 5.5 h (no episode), 96 steps = 8 h (one).
  auto in_gap = [](int step) {
    return (step >= 600 && step < 666) || (step >= 2200 && step < 2296);
  };
  std::stringstream csv;
  csv << ",ts,deployment_id,device_id,value,batt_v,type\n";
  std::vector<double> depth;
  std::vector<Timestamp> times;
  for (int step = 0; step < kSteps; ++step) {
    if (in_gap(step)) continue;
    double v = dry(rng);
    for (const Flood& f : floods) {
      const int k = step - f.at;
      if (k < 0 || k >= f.rise + f.hold + f.fall) continue;
      if (k < f.rise) {
        v = f.peak * (k + 1) / f.rise + wobble(rng);
        if (f.exact == 50.0 && k == f.rise / 2) v = 50.0;  // first at or above 50
      } else if (k < f.rise + f.hold) {
        v = f.peak + wobble(rng);
        if (f.twin_peaks && k - f.rise >= f.hold / 3 && k - f.rise < 2 * f.hold / 3)
          v = 30 + wobble(rng);
      } else {
        v = f.peak * (1.0 - static_cast<double>(k - f.rise - f.hold + 1) / f.fall) + wobble(rng);
        if (f.exact == 10.0 && k - f.rise - f.hold == f.fall * 3 / 4)
          v = 10.0;  // first at or below 10
      }
      v = std::max(0.0, v);
    }
    // One decimal, as written: the scan sees exactly what the replay reads.
    const std::string text = fmt::format("{:.1f}", v);
    const Timestamp t = time_of(step);
    csv << fmt::format("{},{},easily_dear_mouse,fs-00023,{},2.93,water_depth\n", step,
                       floodnet_time(t), text);
    depth.push_back(std::stod(text));
    times.push_back(t);
  }
  ASSERT_EQ(depth.size(), static_cast<size_t>(kSteps - 66 - 96));
  const std::vector<size_t> expected = scan_floods(depth);
  ASSERT_EQ(expected.size(), 5u) << "the generator's floods, by the scan";
  // The wobble crosses both thresholds more often than there are floods: hysteresis matters.
  size_t up50 = 0, down10 = 0;
  for (size_t i = 1; i < depth.size(); ++i) {
    up50 += depth[i - 1] < 50 && depth[i] >= 50;
    down10 += depth[i - 1] > 10 && depth[i] <= 10;
  }
  EXPECT_GT(up50, expected.size());
  EXPECT_GT(down10, expected.size());

  auto run = replay(kFloodRules, csv.str());
  EXPECT_EQ(run.stats.rows, depth.size());
  EXPECT_EQ(run.stats.bad_rows, 0u) << run.bad.front();
  std::vector<Intent> opens, clears, silent;
  for (const Intent& i : run.intents) {
    if (i.rule == "silent") {
      silent.push_back(i);
    } else {
      (i.kind == IntentKind::kOpen ? opens : clears).push_back(i);
    }
  }
  ASSERT_EQ(opens.size(), expected.size());
  ASSERT_EQ(clears.size(), opens.size()) << "each episode clears once";
  for (size_t e = 0; e < opens.size(); ++e) {
    EXPECT_EQ(opens[e].at, times[expected[e]]) << "episode " << e;
    EXPECT_EQ(clears[e].id, opens[e].id) << "episode " << e;
    EXPECT_GT(clears[e].at, opens[e].at) << "episode " << e;
    EXPECT_EQ(opens[e].subject, "fs-00023");
  }
  // The 8-hour gap: silent from 6 hours after the last reading before it, over at the next one.
  ASSERT_EQ(silent.size(), 2u);
  EXPECT_EQ(silent[0].kind, IntentKind::kOpen);
  EXPECT_EQ(silent[0].priority, Priority::kLow);
  EXPECT_EQ(silent[0].at, time_of(2199) + Duration{std::chrono::hours{6}});
  EXPECT_EQ(silent[1].kind, IntentKind::kClear);
  EXPECT_EQ(silent[1].id, silent[0].id);
  EXPECT_EQ(silent[1].at, time_of(2296));
}

// Real data: the FloodNet sensor "easily_dear_mouse" (NYC, 2023), with the rules above. Each
// episode clears exactly once, opens only during the July storms, and the open/clear pairs agree
// with a direct scan of the same series. The same on a generated series:
// Replay.GeneratedFloodSensorEpisodes.
TEST(ReplayRealData, FloodNetSensorEpisodes) {
  GW_NEED_DATA(file, "sensors/floodnet-easily_dear_mouse-2023.csv");
  std::ifstream in(file);
  ASSERT_TRUE(in) << file << " cannot be read";
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
  auto run = replay(kFloodRules, csv.str());
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

namespace gridwatch::rules::testing {
namespace {

// An export of hourly readings from several monitors, all stamped on the hour, replayed with no
// lateness: equal timestamps are in order, none is refused as late.
TEST(Replay, MonitorsReportingOnTheSameInstantsAreNotLate) {
  std::string csv = "ts,device_id,type,value\n";
  for (int h = 0; h < 6; ++h)
    for (const char* dev : {"m1", "m2", "m3", "m4"})
      csv += fmt::format("2021-01-19T{:02}:00:00Z,{},water_depth,{}\n", h, dev, h == 2 || h == 3 ? 80 : 0);
  auto run = replay(R"(lateness: 0s
rules:
  - id: flood
    category: water.waterlogging
    input: {type: water_depth}
    when: {threshold: {above: 50, clear_below: 10}}
)",
                    csv);
  EXPECT_EQ(run.stats.rows, 24u);
  EXPECT_EQ(run.stats.bad_rows, 0u) << (run.bad.empty() ? "" : run.bad.front());
  EXPECT_EQ(run.stats.engine.late, 0u);
  ASSERT_EQ(run.intents.size(), 8u);  // each monitor opens at 02:00 and clears at 04:00
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(intent_json(run.intents[i])["event"], "open");
    EXPECT_EQ(intent_json(run.intents[i])["ts"], "2021-01-19T02:00:00Z");
    EXPECT_EQ(intent_json(run.intents[4 + i])["event"], "clear");
    EXPECT_EQ(intent_json(run.intents[4 + i])["ts"], "2021-01-19T04:00:00Z");
  }
}

}  // namespace
}  // namespace gridwatch::rules::testing
