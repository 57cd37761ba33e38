#include <gtest/gtest.h>

#include "gridwatch/agent/config.h"

namespace gridwatch::agent {
namespace {

constexpr std::string_view kGood = R"(agent:
  id: box-01
broker:
  url: tcp://127.0.0.1:1883
status:
  interval: 10s
sensors:
  - device_id: bin-001
    type: bin_fill
    location: {lon: 116.397, lat: 39.909, accuracy_m: 5}
thresholds:
  - rule: bin_full
    type: bin_fill
    category: sanitation.bin_overflow
    open_at: 90
    clear_at: 60
)";

Result<AgentConfig> parse(std::string_view text) {
  return parse_agent_config(text, "agent.yaml", Catalog::builtin());
}

void expect_error(std::string_view text, std::string_view key, std::string_view message) {
  auto c = parse(text);
  ASSERT_FALSE(c.has_value()) << "accepted:\n" << text;
  EXPECT_EQ(c.error().code, ErrorCode::kConfig);
  EXPECT_EQ(c.error().field, key) << c.error().message;
  EXPECT_NE(c.error().message.find(message), std::string::npos) << c.error().message;
}

std::string with(std::string_view from, std::string_view to) {
  std::string s(kGood);
  auto pos = s.find(from);
  EXPECT_NE(pos, std::string::npos) << from;
  s.replace(pos, from.size(), to);
  return s;
}

TEST(AgentConfig, Good) {
  auto c = parse(kGood);
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->id, "box-01");
  EXPECT_EQ(c->status_interval, std::chrono::seconds{10});
  ASSERT_EQ(c->sensors.size(), 1u);
  EXPECT_DOUBLE_EQ(c->sensors[0].location.position.lat, 39.909);
  ASSERT_EQ(c->thresholds.size(), 1u);
  EXPECT_TRUE(c->thresholds[0].rising());
  EXPECT_EQ(c->broker.topic_prefix, "gw/v1");
  EXPECT_EQ(c->data_dir, "gridwatch-data/agent-box-01");
}

TEST(AgentConfig, UnknownKeyWithFileLineAndKey) {
  expect_error(with("    open_at: 90", "    open_at: 90\n    opne_at: 95"),
               "thresholds[0].opne_at", "agent.yaml:16: thresholds[0].opne_at: unknown key");
}

TEST(AgentConfig, WrongType) {
  expect_error(with("open_at: 90", "open_at: ninety"), "thresholds[0].open_at",
               "agent.yaml:15: thresholds[0].open_at: expected a number, got \"ninety\"");
  expect_error(with("interval: 10s", "interval: often"), "status.interval", "not a duration");
}

TEST(AgentConfig, OutOfRangeCoordinate) {
  expect_error(with("lat: 39.909", "lat: 99.9"), "sensors[0].location.lat",
               "99.9 is out of range [-90, 90]");
}

TEST(AgentConfig, UnknownCategoryAndEqualThresholds) {
  expect_error(with("sanitation.bin_overflow", "sanitation.bins"), "thresholds[0].category",
               "unknown category \"sanitation.bins\"");
  expect_error(with("clear_at: 60", "clear_at: 90"), "thresholds[0].clear_at", "must differ");
}

TEST(AgentConfig, MissingAndDuplicate) {
  expect_error(with("  id: box-01\n", "  log_level: info\n"), "agent.id", "required key is missing");
  expect_error(with("thresholds:", "  - device_id: bin-001\n    type: bin_fill\n    location: {lon: 1, lat: 2}\nthresholds:"),
               "sensors[1].device_id", "duplicate device");
  expect_error(with("tcp://127.0.0.1:1883", "http://x"), "broker.url", "must start with tcp://");
}

}  // namespace
}  // namespace gridwatch::agent
