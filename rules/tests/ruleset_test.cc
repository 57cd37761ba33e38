#include <gtest/gtest.h>

#include "gridwatch/rules/ruleset.h"
#include "matchers.h"

namespace gridwatch::rules {
namespace {

using gridwatch::testing::FailsWith;

TEST(RuleSet, ReadsEveryConditionKind) {
  auto r = parse_rules(R"(version: 1
timezone: Asia/Shanghai
lateness: 10s
rules:
  - id: bin_full
    category: sanitation.bin_overflow
    input: {type: bin_fill, groups: [wangfujing], tags: [street]}
    when: {threshold: {above: 90, clear_below: 60}}
    escalate:
      - priority: high
        when: {threshold: {above: 100}, for: 30m}
    cooldown: 10m
    description: "{where}: {value}%"
  - id: flood
    category: water.waterlogging
    priority: urgent
    subject: cell
    cell_m: 200
    input: {types: [water_depth, rain]}
    when:
      any:
        - threshold: {type: water_depth, above: 150, clear_below: 50}
        - all:
            - rate: {type: water_depth, above: 20, per: 1m, over: 5m}
            - count: {type: rain, above: 10, at_least: 3, within: 15m}
    clear_after: 5m
  - id: gauge_silent
    category: water.waterlogging
    input: {type: water_depth}
    when: {no_data: {for: 30m}}
  - id: no_parking
    category: traffic.illegal_parking
    input: {zones: ["cam-1:gate", "cam-2:*"]}
    when:
      all:
        - zone: {objects: [car], stationary: 2m}
        - schedule: {days: [mon, tue, wed, thu, fri], from: "07:00", to: "09:00"}
        - not: {count: {event: entered, at_least: 50, within: 1m}}
      times: 1
)",
                       "rules.yaml", Catalog::builtin());
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->timezone, "Asia/Shanghai");
  EXPECT_EQ(r->lateness, std::chrono::seconds{10});
  ASSERT_EQ(r->rules.size(), 4u);
  const Rule& bin = r->rules[0];
  EXPECT_EQ(bin.priority, Priority::kNormal);  // the category's default
  EXPECT_EQ(bin.nodes[bin.when].kind, NodeKind::kThreshold);
  EXPECT_EQ(bin.nodes[bin.when].clear_at, 60);
  ASSERT_EQ(bin.escalations.size(), 1u);
  EXPECT_EQ(bin.nodes[bin.escalations[0].when].hold, std::chrono::minutes{30});
  EXPECT_EQ(bin.cooldown, std::chrono::minutes{10});
  const Rule& flood = r->rules[1];
  EXPECT_EQ(flood.subject, SubjectKind::kCell);
  EXPECT_EQ(flood.priority, Priority::kUrgent);
  EXPECT_EQ(flood.nodes[flood.when].kind, NodeKind::kAny);
  EXPECT_EQ(flood.buffers, 2u);
  EXPECT_TRUE(flood.has_timers);
  EXPECT_EQ(r->rules[3].subject, SubjectKind::kZone);
  EXPECT_FALSE(bin.source_text_hash.empty());
  EXPECT_NE(bin.source_text_hash, flood.source_text_hash);
}

// Bad rule files: the error names file, line and key.
TEST(RuleSet, BadRulesNameFileLineAndKey) {
  const std::string head = "rules:\n  - id: r\n    category: water.waterlogging\n    input: {type: level}\n";
  struct Case {
    std::string body, field, message;
  };
  for (const Case& c : std::vector<Case>{
           {"    when: {threshold: {above: 90, clear_below: 95}}\n", "rules[0].when.threshold.clear_below",
            "rules.yaml:5: rules[0].when.threshold.clear_below: clear_below 95 is on the wrong side of above 90"},
           {"    when: {threshold: {below: 10, clear_above: 5}}\n", "rules[0].when.threshold.clear_above",
            "clear_above 5 is on the wrong side of below 10"},
           {"    when: {threshold: {above: 90, clear_above: 95}}\n", "rules[0].when.threshold.clear_above",
            "a rising threshold (above) clears with clear_below"},
           {"    when: {threshold: {above: 90}}\n    colour: red\n", "rules[0].colour", "rules.yaml:6: rules[0].colour: unknown key"},
           {"    when: {treshold: {above: 90}}\n", "rules[0].when.treshold", "unknown key"},
           {"    when: {threshold: {above: 90}, no_data: {for: 1m}}\n", "rules[0].when.no_data", "one condition per item"},
           {"    when: {count: {at_least: 0, within: 1m}}\n", "rules[0].when.count.at_least", "out of range"},
           {"    when: {count: {at_least: 2, within: 1m, above: 5, below: 1}}\n", "rules[0].when.count.below", "nothing can match"},
           {"    when: {zone: {stationary: 1m}}\n", "rules[0].when.zone", "zone needs input zones"},
           {"    when: {schedule: {from: \"07:00\", to: \"07:00\"}}\n", "rules[0].when.schedule.to", "an empty window"},
           {"    when: {schedule: {from: \"7am\"}}\n", "rules[0].when.schedule.from", "expected HH:MM"},
           {"    when: {schedule: {days: [mon, funday]}}\n", "rules[0].when.schedule.days", "unknown day \"funday\""},
           {"    when: {schedule: {timezone: Mars/Olympus}}\n", "rules[0].when.schedule.timezone", "unknown time zone \"Mars/Olympus\""},
           {"    when: {threshold: {above: 90}}\n    escalate: [{priority: low, when: {threshold: {above: 99}}}]\n",
            "rules[0].escalate[0].priority", "escalation to low is not more urgent than"},
           {"    when: {rate: {above: 1}}\n", "rules[0].when.rate.over", "required key is missing"},
           {"    when: {threshold: {type: rain, above: 1}}\n", "rules[0].when.threshold.type", "not among the rule's input types"},
           {"    subject: zone\n    when: {threshold: {above: 1}}\n", "rules[0].subject", "subject zone needs input zones"},
           {"    when: {threshold: {above: 1}}\n  - id: r\n    category: water.waterlogging\n    input: {type: level}\n    when: {threshold: {above: 1}}\n",
            "rules[1].id", "duplicate rule id \"r\""},
       }) {
    auto r = parse_rules(head + c.body, "rules.yaml", Catalog::builtin());
    EXPECT_THAT(r, FailsWith(ErrorCode::kConfig, c.field, c.message)) << c.body;
  }
  EXPECT_THAT(parse_rules("rules:\n  - id: r\n    category: no.such\n    input: {type: level}\n    when: {threshold: {above: 1}}\n",
                          "rules.yaml", Catalog::builtin()),
              FailsWith(ErrorCode::kConfig, "rules[0].category", "rules.yaml:3: rules[0].category: unknown category \"no.such\""));
  EXPECT_THAT(parse_rules("timezone: Nowhere/Land\nrules: []\n", "rules.yaml", Catalog::builtin()),
              FailsWith(ErrorCode::kConfig, "timezone", "unknown time zone"));
  EXPECT_THAT(load_rules("/nonexistent/rules.yaml", Catalog::builtin()),
              FailsWith(ErrorCode::kConfig, "", "/nonexistent/rules.yaml"));
}

}  // namespace
}  // namespace gridwatch::rules
