#include <random>

#include "harness.h"

namespace gridwatch::rules::testing {
namespace {

std::string rule(const std::string& when, const std::string& extra = "") {
  return fmt::format(R"(lateness: 0s
rules:
  - id: r
    category: water.waterlogging
    priority: normal
    input: {{type: level}}
    when: {}
{})",
                     when, extra);
}

// Table-driven scenarios: per condition kind, a script of readings (time s, value) and clock
// ticks, and the intents expected.
struct Step {
  double t;
  std::optional<double> value;  // none: only the clock moves
};
struct Scenario {
  std::string name;
  std::string yaml;
  std::vector<Step> steps;
  Log expected;
};

void PrintTo(const Scenario& s, std::ostream* os) { *os << s.name; }

class Conditions : public ::testing::TestWithParam<Scenario> {};

TEST_P(Conditions, ProduceExactlyTheExpectedIntents) {
  const Scenario& s = GetParam();
  Driver d(s.yaml);
  for (const Step& step : s.steps) {
    if (step.value) EXPECT_EQ(d.reading(step.t, *step.value), Offer::kAccepted) << "t=" << step.t;
    else d.tick(step.t);
  }
  EXPECT_EQ(d.log(), s.expected);
}

INSTANTIATE_TEST_SUITE_P(
    Rules, Conditions,
    ::testing::Values(
        Scenario{"threshold_hysteresis",
                 rule("{threshold: {above: 90, clear_below: 60}}"),
                 {{1, 50}, {2, 91}, {3, 70}, {4, 95}, {5, 61}, {6, 60}, {7, 89}, {8, 90}},
                 {"open@2 normal", "clear@6", "open@8 normal"}},
        Scenario{"threshold_without_hysteresis_clears_below_the_open_value",
                 rule("{threshold: {above: 90}}"),
                 {{1, 90}, {2, 90}, {3, 89.9}},
                 {"open@1 normal", "clear@3"}},
        Scenario{"falling_threshold",
                 rule("{threshold: {below: 10, clear_above: 20}}"),
                 {{1, 15}, {2, 10}, {3, 19}, {4, 20}},
                 {"open@2 normal", "clear@4"}},
        Scenario{"duration_fires_from_a_timer_without_new_readings",
                 rule("{threshold: {above: 90}, for: 60s}"),
                 {{0, 95}, {30, std::nullopt}, {59.9, std::nullopt}, {60, std::nullopt}, {200, std::nullopt}},
                 {"open@60 normal"}},
        Scenario{"duration_interrupted_starts_again",
                 rule("{threshold: {above: 90}, for: 60s}"),
                 {{0, 95}, {50, 80}, {55, 95}, {114, std::nullopt}, {115, std::nullopt}, {120, 50}},
                 {"open@115 normal", "clear@120"}},
        Scenario{"repeating_n_times_in_a_row",
                 rule("{threshold: {above: 90}, times: 3}"),
                 {{1, 95}, {2, 95}, {3, 50}, {4, 95}, {5, 95}, {6, 96}, {7, 97}, {8, 10}},
                 {"open@6 normal", "clear@8"}},
        Scenario{"count_in_a_sliding_window_expires_by_timer",
                 rule("{count: {above: 100, at_least: 3, within: 10m}}"),
                 {{0, 120}, {60, 50}, {120, 130}, {180, 150}, {599, std::nullopt}, {600, std::nullopt}},
                 {"open@180 normal", "clear@600"}},
        Scenario{"rate_of_change",
                 rule("{rate: {above: 10, per: 1m, over: 5m}}"),
                 {{0, 0}, {60, 5}, {120, 30}, {180, 31}, {420, 31}, {480, 31}},
                 {"open@120 normal", "clear@420"}},
        Scenario{"rate_without_readings_lapses_after_the_window",
                 rule("{rate: {above: 10, per: 1m, over: 5m}}"),
                 {{0, 0}, {60, 30}, {359, std::nullopt}, {360, std::nullopt}},
                 {"open@60 normal", "clear@360"}},
        Scenario{"falling_rate",
                 rule("{rate: {below: -5, per: 1m, over: 2m}}"),
                 {{0, 100}, {60, 90}, {120, 88}},
                 {"open@60 normal", "clear@120"}},
        Scenario{"no_data_fires_without_any_message_and_clears_on_the_next",
                 rule("{no_data: {for: 10m}}"),
                 {{0, 1}, {300, 1}, {899, std::nullopt}, {900, std::nullopt}, {1000, std::nullopt}, {1200, 2}},
                 {"open@900 normal", "clear@1200"}},
        Scenario{"no_data_counts_from_start_for_a_device_that_never_reports",
                 rule("{no_data: {for: 10m}}"),
                 {{599, std::nullopt}, {600, std::nullopt}},
                 {"open@600 normal"}},
        Scenario{"all_any_not",
                 rule("{all: [{threshold: {above: 50}}, {not: {threshold: {above: 80}}}]}"),
                 {{1, 60}, {2, 85}, {3, 70}, {4, 40}},
                 {"open@1 normal", "clear@2", "open@3 normal", "clear@4"}},
        Scenario{"any_with_inactivity",
                 rule("{any: [{threshold: {above: 90}}, {no_data: {for: 1m}}]}"),
                 {{0, 10}, {30, 95}, {40, 10}, {100, std::nullopt}, {110, 10}},
                 {"open@30 normal", "clear@40", "open@100 normal", "clear@110"}},
        Scenario{"escalation_bin_full_then_overflowing_for_30_minutes",
                 R"(lateness: 0s
rules:
  - id: bin
    category: sanitation.bin_overflow
    input: {type: level}
    when: {threshold: {above: 90, clear_below: 60}}
    escalate:
      - priority: high
        when: {threshold: {above: 100}, for: 30m}
)",
                 {{0, 92}, {60, 100}, {1000, 101}, {1859, std::nullopt}, {1860, std::nullopt}, {1900, 100}, {2000, 50}},
                 {"open@0 normal", "update@1860 high", "clear@2000"}},
        Scenario{"cooldown_delays_a_new_episode",
                 rule("{threshold: {above: 90}}", "    cooldown: 5m\n"),
                 {{0, 95}, {10, 50}, {20, 95}, {309, std::nullopt}, {310, std::nullopt}, {320, 50}},
                 {"open@0 normal", "clear@10", "open@310 normal", "clear@320"}},
        Scenario{"clear_after_and_explicit_clear",
                 rule("{threshold: {above: 90}}",
                      "    clear: {threshold: {below: 20}}\n    clear_after: 1m\n"),
                 {{0, 95}, {10, 50}, {20, 10}, {50, 30}, {60, 10}, {119, std::nullopt}, {120, std::nullopt}},
                 {"open@0 normal", "clear@120"}}),
    [](const ::testing::TestParamInfo<Scenario>& p) { return p.param.name; });

TEST(Engine, EpisodeIdsAreStableAndNameRuleSubjectAndTime) {
  Driver d(rule("{threshold: {above: 90}}"));
  d.reading(1.25, 95);
  ASSERT_EQ(d.intents().size(), 1u);
  EXPECT_EQ(d.intents()[0].id, "r.d1.20261123T000001.250Z");
  EXPECT_EQ(d.intents()[0].subject, "d1");
  EXPECT_EQ(d.intents()[0].device, "d1");
  EXPECT_EQ(d.intents()[0].evidence["readings"][0]["value"], 95.0);
  EXPECT_EQ(d.intents()[0].evidence["trigger"], "input");
  d.reading(2, 10);
  ASSERT_EQ(d.intents().size(), 2u);
  EXPECT_EQ(d.intents()[1].id, d.intents()[0].id);
  EXPECT_EQ(d.intents()[1].kind, IntentKind::kClear);
}

TEST(Engine, FirstSeenIsWhenTheDurationStarted) {
  Driver d(rule("{threshold: {above: 90}, for: 60s}"));
  d.reading(10, 95);
  d.tick(100);
  ASSERT_EQ(d.log(), (Log{"open@70 normal"}));
  EXPECT_EQ(seconds_of(d.intents()[0].first_seen), 10);
  EXPECT_EQ(d.intents()[0].evidence["trigger"], "timer");
}

TEST(Engine, OutOfOrderReadingsWithinLatenessAreEvaluatedInOrder) {
  Driver d(R"(lateness: 10s
rules:
  - id: r
    category: water.waterlogging
    priority: normal
    input: {type: level}
    when: {threshold: {above: 90}, times: 2}
)");
  // Sent out of order: 95 @2 arrives after 95 @3 and 50 @4 ... in time order: 95, 95, 50.
  EXPECT_EQ(d.reading_at(3, 3, 95), Offer::kAccepted);
  EXPECT_EQ(d.reading_at(4, 4, 50), Offer::kAccepted);
  EXPECT_EQ(d.reading_at(2, 5, 95), Offer::kAccepted);
  EXPECT_TRUE(d.log().empty()) << "nothing is decided before the watermark passes";
  d.tick(14);
  EXPECT_EQ(d.log(), (Log{"open@3 normal", "clear@4"}));
  // Too late, a duplicate, and from the future.
  EXPECT_EQ(d.reading_at(3.5, 20, 99), Offer::kLate);
  EXPECT_EQ(d.reading_at(15, 20, 99), Offer::kAccepted);
  EXPECT_EQ(d.reading_at(15, 20, 99), Offer::kDuplicate);
  EXPECT_EQ(d.reading_at(200, 20, 99), Offer::kFuture);
  auto s = d.engine().stats();
  EXPECT_EQ(s.late, 1u);
  EXPECT_EQ(s.duplicates, 1u);
  EXPECT_EQ(s.future, 1u);
}

TEST(Engine, UnknownDevicesAndUnusedTypes) {
  Driver d(rule("{threshold: {above: 90}}"));
  EXPECT_EQ(d.reading(1, 95, "stranger"), Offer::kUnknownDevice);
  EXPECT_EQ(d.reading(1, 95, "d1", "temperature"), Offer::kUnused);
  Driver open(rule("{threshold: {above: 90}}"), {}, {.accept_unknown_devices = true});
  EXPECT_EQ(open.reading(1, 95, "stranger"), Offer::kAccepted);
  EXPECT_EQ(open.log(), (Log{"open@1 normal"}));
}

TEST(Engine, SelectorsAndSubjects) {
  const std::string yaml = R"(lateness: 0s
rules:
  - id: basin
    category: water.waterlogging
    subject: group
    input: {type: level, groups: [underpass]}
    when: {threshold: {above: 100}}
  - id: block
    category: water.waterlogging
    subject: cell
    cell_m: 500
    input: {type: level, tags: [street]}
    when: {threshold: {above: 100}}
)";
  Driver d(yaml, {{.id = "a", .group = "underpass", .location = OrderLocation{.position = {116.40, 39.90}}},
                  {.id = "b", .group = "underpass", .tags = {"street"}, .location = OrderLocation{.position = {116.4001, 39.9001}}},
                  {.id = "c", .tags = {"street"}, .location = OrderLocation{.position = {116.5, 39.9}}}});
  d.reading(1, 150, "a");  // basin/underpass opens; a has no street tag
  d.reading(2, 150, "b");  // same group: no second basin episode; block cell of b opens
  d.reading(3, 150, "c");  // another cell
  ASSERT_EQ(d.intents().size(), 3u);
  EXPECT_EQ(d.intents()[0].id.substr(0, 16), "basin.underpass.");
  EXPECT_TRUE(d.intents()[1].subject.starts_with("cell_")) << d.intents()[1].subject;
  EXPECT_NE(d.intents()[1].subject, d.intents()[2].subject);
  EXPECT_EQ(d.intents()[2].location->position.lon, 116.5);
}

TEST(Engine, ADeviceSilentFromTheStartIsPlacedAndNamedByItsConfiguration) {
  // It never reported: the no-data episode still has the device's place and id (an order
  // without a location cannot be published), and the evidence says since when nothing came.
  Driver d(R"(lateness: 0s
rules:
  - id: silent
    category: sanitation.bin_overflow
    input: {type: level}
    when: {no_data: {for: 10m}}
)",
           {{.id = "bin-7", .location = OrderLocation{.position = {116.41, 39.91}, .accuracy_m = 5}}});
  d.tick(0);
  d.tick(600);
  ASSERT_EQ(d.intents().size(), 1u);
  const Intent& i = d.intents()[0];
  ASSERT_TRUE(i.location.has_value());
  EXPECT_EQ(i.location->position.lon, 116.41);
  EXPECT_EQ(i.location->position.lat, 39.91);
  EXPECT_EQ(i.device, "bin-7");
  EXPECT_EQ(i.evidence.value("no_input_since", ""), format_rfc3339(at(0)));
  EXPECT_FALSE(i.evidence.contains("readings"));
}

TEST(Engine, ZoneEventsStationaryVehicleInNoParkingHours) {
  // No parking 07:00-09:00 Asia/Shanghai on weekdays: 2026-11-23 00:00Z is Monday 08:00 there.
  Driver d(R"(lateness: 0s
timezone: Asia/Shanghai
rules:
  - id: no_parking
    category: traffic.illegal_parking
    input: {zones: ["cam1:gate"]}
    when:
      all:
        - zone: {objects: [car, truck], stationary: 2m, expire: 2h}
        - schedule: {days: weekdays, from: "07:00", to: "09:00"}
)");
  EXPECT_EQ(d.event(10, ZoneEventKind::kEntered, "t1"), Offer::kAccepted);
  d.event(70, ZoneEventKind::kStationary, "t1", 60);
  d.event(75, ZoneEventKind::kEntered, "p1", 0, "person");
  d.tick(129);
  EXPECT_TRUE(d.log().empty());
  d.tick(130);  // stationary since 10 s: 2 minutes at 130 s
  d.event(200, ZoneEventKind::kStationary, "t1", 190);
  d.tick(3599);
  d.tick(3600);  // 09:00 local: the schedule ends, so does the episode
  EXPECT_EQ(d.log(), (Log{"open@130 normal", "clear@3600"}));
  EXPECT_EQ(d.intents()[0].subject, "cam1:gate");
  EXPECT_EQ(d.intents()[0].evidence["events"][0]["track"], "t1");
  EXPECT_EQ(d.event(3700, ZoneEventKind::kEntered, "t9", 0, "car", "other"), Offer::kUnused);
}

TEST(Engine, ZoneTrackThatLeavesOrGoesSilentClears) {
  Driver d(R"(lateness: 0s
rules:
  - id: blocked
    category: fire.blocked_lane
    input: {zones: ["cam1:*"]}
    when: {zone: {stationary: 30s, expire: 2m}}
)");
  d.event(1, ZoneEventKind::kStationary, "a", 0);
  d.tick(31);
  d.event(40, ZoneEventKind::kLeft, "a");
  d.event(100, ZoneEventKind::kStationary, "b", 50);
  d.tick(220);  // b's last event at 100 s: forgotten 2 minutes later
  EXPECT_EQ(d.log(), (Log{"open@31 urgent", "clear@40", "open@100 urgent", "clear@220"}));
}

// Property: after an open, any noise that stays inside the hysteresis band never opens a second
// episode, and every episode clears exactly once.
TEST(Engine, NoiseInsideTheBandNeverFlaps) {
  std::mt19937_64 rng(42);
  for (int trial = 0; trial < 200; ++trial) {
    Driver d(rule("{threshold: {above: 90, clear_below: 60}}"));
    std::uniform_real_distribution<double> band(60.001, 89.999), any(0, 120);
    double t = 0;
    int opens = 0, clears = 0;
    bool open = false;
    for (int cycle = 0; cycle < 5; ++cycle) {
      d.reading(++t, 95 + any(rng) / 10);
      for (int i = 0; i < 50; ++i) d.reading(++t, band(rng));
      d.reading(++t, any(rng) < 60 ? 30 : 60);
      for (int i = 0; i < 20; ++i) d.reading(++t, band(rng));
    }
    for (const Intent& i : d.intents()) {
      if (i.kind == IntentKind::kOpen) {
        EXPECT_FALSE(open);
        open = true;
        ++opens;
      } else if (i.kind == IntentKind::kClear) {
        EXPECT_TRUE(open);
        open = false;
        ++clears;
      }
    }
    ASSERT_EQ(opens, 5) << "trial " << trial;
    ASSERT_EQ(clears, 5) << "trial " << trial;
  }
}

// Restart in the middle of a duration: the snapshot carries the half-elapsed duration, and the
// restored engine fires at the original time, once.
TEST(Engine, RestartInTheMiddleOfADurationFiresOnTimeOnce) {
  const std::string yaml = rule("{threshold: {above: 90}, for: 10m}");
  nlohmann::json snap;
  {
    Driver before(yaml);
    before.reading(0, 95);
    before.reading(240, 96);
    before.tick(300);
    EXPECT_TRUE(before.log().empty());
    snap = before.engine().snapshot();
  }
  Engine after(rules_from(yaml), {{.id = "d1"}}, Catalog::builtin());
  auto warnings = after.restore(snap);
  ASSERT_TRUE(warnings.has_value()) << warnings.error().message;
  EXPECT_TRUE(warnings->empty());
  Log log;
  for (double now : {400.0, 599.0, 600.0, 601.0, 900.0})
    for (const Intent& i : after.advance(at(now))) log.push_back(brief(i));
  EXPECT_EQ(log, (Log{"open@600 normal"}));
  // A restart long after the due time fires once, stamped with the due time.
  Engine late(rules_from(yaml), {{.id = "d1"}}, Catalog::builtin());
  ASSERT_TRUE(late.restore(snap).has_value());
  log.clear();
  for (const Intent& i : late.advance(at(5000))) log.push_back(brief(i));
  for (const Intent& i : late.advance(at(6000))) log.push_back(brief(i));
  EXPECT_EQ(log, (Log{"open@600 normal"}));
}

TEST(Engine, RestoredOpenEpisodeClearsWithItsIdAndIsNotReopened) {
  const std::string yaml = rule("{threshold: {above: 90, clear_below: 60}}");
  Driver before(yaml);
  before.reading(1, 95);
  const std::string id = before.intents().at(0).id;
  Engine after(rules_from(yaml), {{.id = "d1"}}, Catalog::builtin());
  ASSERT_TRUE(after.restore(before.engine().snapshot()).has_value());
  // The reading that opened it, sent again after the restart: a duplicate.
  EXPECT_EQ(after.offer(Reading{.device_id = "d1", .ts = at(1), .type = "level", .value = 95}, at(2)),
            Offer::kDuplicate);
  ASSERT_EQ(after.offer(Reading{.device_id = "d1", .ts = at(2), .type = "level", .value = 95}, at(2)),
            Offer::kAccepted);
  EXPECT_TRUE(after.advance(at(2)).empty()) << "still the same episode";
  ASSERT_EQ(after.offer(Reading{.device_id = "d1", .ts = at(3), .type = "level", .value = 50}, at(3)),
            Offer::kAccepted);
  auto out = after.advance(at(3));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kind, IntentKind::kClear);
  EXPECT_EQ(out[0].id, id);
}

TEST(Engine, ChangedRuleKeepsTheOpenEpisodeButForgetsConditions) {
  Driver before(rule("{threshold: {above: 90}}"));
  before.reading(1, 95);
  Engine after(rules_from(rule("{threshold: {above: 80}}")), {{.id = "d1"}}, Catalog::builtin());
  auto warnings = after.restore(before.engine().snapshot());
  ASSERT_TRUE(warnings.has_value());
  ASSERT_EQ(warnings->size(), 1u);
  EXPECT_NE((*warnings)[0].find("rule \"r\" changed"), std::string::npos) << (*warnings)[0];
  ASSERT_EQ(after.offer(Reading{.device_id = "d1", .ts = at(2), .type = "level", .value = 50}, at(2)),
            Offer::kAccepted);
  auto out = after.advance(at(2));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kind, IntentKind::kClear);
  EXPECT_EQ(out[0].id, before.intents()[0].id);
}

TEST(Engine, AReadingSentAgainAfterItWasEvaluatedIsADuplicateNotLate) {
  Driver d(R"(lateness: 5s
rules:
  - id: r
    category: water.waterlogging
    input: {type: level}
    when: {threshold: {above: 90}}
)");
  EXPECT_EQ(d.reading_at(10, 10, 50), Offer::kAccepted);
  d.tick(30);  // applied long ago
  EXPECT_EQ(d.reading_at(10, 30, 50), Offer::kDuplicate);
  EXPECT_EQ(d.reading_at(9, 30, 50), Offer::kLate);
  EXPECT_EQ(d.engine().stats().duplicates, 1u);
}

// Monitors that all report on the hour, with no lateness allowed (the agent with `lateness: 0s`,
// a replay of hourly exports): readings of several devices stamped with the same instant as the
// clock are all on time and evaluated; one stamped before the clock is late.
TEST(Engine, SeveralDevicesOnTheSameInstantAreAllOnTimeWithNoLateness) {
  Driver d(R"(lateness: 0s
rules:
  - id: r
    category: water.waterlogging
    input: {type: level}
    when: {threshold: {above: 90, clear_below: 10}}
)",
           {{.id = "d1"}, {.id = "d2"}, {.id = "d3"}});
  for (double t : {3600.0, 7200.0}) {
    const double v = t == 3600 ? 95 : 5;
    EXPECT_EQ(d.reading(t, v, "d1"), Offer::kAccepted) << t;
    EXPECT_EQ(d.reading(t, v, "d2"), Offer::kAccepted) << t;
    EXPECT_EQ(d.reading(t, v, "d3"), Offer::kAccepted) << t;
  }
  EXPECT_EQ(d.reading_at(7199, 7200, 50, "d1"), Offer::kLate);
  d.tick(7200.001);
  EXPECT_EQ(d.log(), (Log{"open@3600 high", "open@3600 high", "open@3600 high", "clear@7200", "clear@7200",
                          "clear@7200"}));
  EXPECT_EQ(d.engine().stats().late, 1u);
}

// A changed rule with timers: its restored open episode is not cleared by a timer before any
// new input has been read (that would tell the center "verified by sensor" with no reading).
TEST(Engine, ChangedRuleWithTimersWaitsForAnInputBeforeClearing) {
  Driver before(rule("{threshold: {above: 90, clear_below: 60}}", "    cooldown: 1m\n"));
  before.reading(1, 95);
  Engine after(rules_from(rule("{threshold: {above: 90, clear_below: 50}}", "    cooldown: 1m\n")), {{.id = "d1"}},
               Catalog::builtin());
  ASSERT_TRUE(after.restore(before.engine().snapshot()).has_value());
  EXPECT_TRUE(after.advance(at(100)).empty()) << "no clear without a reading";
  ASSERT_EQ(after.offer(Reading{.device_id = "d1", .ts = at(101), .type = "level", .value = 95}, at(101)),
            Offer::kAccepted);
  EXPECT_TRUE(after.advance(at(101)).empty()) << "still a problem: stays open";
  ASSERT_EQ(after.offer(Reading{.device_id = "d1", .ts = at(102), .type = "level", .value = 40}, at(102)),
            Offer::kAccepted);
  auto out = after.advance(at(102));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kind, IntentKind::kClear);
}

TEST(Engine, ABrokenSnapshotLeavesTheEngineAsItWas) {
  Driver d(rule("{threshold: {above: 90, clear_below: 60}}"));
  d.reading(1, 95);
  nlohmann::json snap = d.engine().snapshot();
  snap["states"][0]["nodes"][0] = nlohmann::json::array({nullptr});  // too short
  auto r = d.engine().restore(snap);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kParse);
  d.reading(2, 50);  // the engine still has its open episode, and clears it
  EXPECT_EQ(d.log(), (Log{"open@1 normal", "clear@2"}));
}

TEST(Engine, DescriptionTemplate) {
  Driver d(rule("{threshold: {above: 90}}", "    description: \"{device}: {type} at {value} ({category_zh} / {category_en})\"\n"),
           {{.id = "d1", .description = "Xizhimen underpass"}});
  d.reading(1, 151.5);
  d.reading(2, 10);
  ASSERT_EQ(d.intents().size(), 2u);
  EXPECT_EQ(d.intents()[0].description, "d1: level at 151.5 (道路积水 / Waterlogging)");
  EXPECT_EQ(d.intents()[1].description, "cleared: d1: level at 10 (道路积水 / Waterlogging)");
}

}  // namespace
}  // namespace gridwatch::rules::testing
