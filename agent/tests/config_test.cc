#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <fmt/format.h>

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
rules:
  rules:
    - id: bin_full
      category: sanitation.bin_overflow
      input: {type: bin_fill}
      when: {threshold: {above: 90, clear_below: 60}}
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
  ASSERT_EQ(c->rules.rules.size(), 1u);
  EXPECT_EQ(c->rules.rules[0].id, "bin_full");
  ASSERT_EQ(c->devices().size(), 1u);
  EXPECT_EQ(c->devices()[0].location->position.lat, 39.909);
  EXPECT_EQ(c->broker.topic_prefix, "gw/v1");
  EXPECT_EQ(c->data_dir, "gridwatch-data/agent-box-01");
}

TEST(AgentConfig, UnknownKeyWithFileLineAndKey) {
  expect_error(with("      input: {type: bin_fill}", "      input: {type: bin_fill}\n      colour: red"),
               "rules.rules[0].colour", "agent.yaml:16: rules.rules[0].colour: unknown key");
}

TEST(AgentConfig, WrongType) {
  expect_error(with("above: 90", "above: ninety"), "rules.rules[0].when.threshold.above",
               "agent.yaml:16: rules.rules[0].when.threshold.above: expected a number, got \"ninety\"");
  expect_error(with("interval: 10s", "interval: often"), "status.interval", "not a duration");
}

// Other nodes of a clustered broker, tried in turn: of the same kind as url, never url itself.
TEST(AgentConfig, BrokerFailoverUrls) {
  auto c = parse(with("  url: tcp://127.0.0.1:1883\n", "  url: tcp://127.0.0.1:1883\n  failover_urls: [tcp://10.0.0.2:1883, mqtt://n3:1883]\n"));
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->broker.failover_urls, (std::vector<std::string>{"tcp://10.0.0.2:1883", "mqtt://n3:1883"}));
  EXPECT_TRUE(parse(kGood)->broker.failover_urls.empty());
  expect_error(with("  url: tcp://127.0.0.1:1883\n", "  url: tcp://127.0.0.1:1883\n  failover_urls: [http://n2]\n"),
               "broker.failover_urls", "\"http://n2\" must start with tcp://, mqtt:// or ssl://");
  expect_error(with("  url: tcp://127.0.0.1:1883\n", "  url: tcp://127.0.0.1:1883\n  failover_urls: [ssl://n2:8883]\n"),
               "broker.failover_urls", "\"ssl://n2:8883\": every node must be without TLS like url");
  expect_error(with("  url: tcp://127.0.0.1:1883\n", "  url: tcp://127.0.0.1:1883\n  failover_urls: [tcp://127.0.0.1:1883]\n"),
               "broker.failover_urls", "is url itself");
}

TEST(AgentConfig, OutOfRangeCoordinate) {
  expect_error(with("lat: 39.909", "lat: 99.9"), "sensors[0].location.lat",
               "99.9 is out of range [-90, 90]");
}

TEST(AgentConfig, RulesFromAFileRelativeToTheConfig) {
  auto dir = std::filesystem::temp_directory_path() / fmt::format("gw-agent-config-{}", getpid());
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "rules.yaml") << "rules:\n  - id: r\n    category: water.waterlogging\n"
                                       "    input: {type: bin_fill}\n    when: {no_data: {for: 1h}}\n";
  std::string text = with("rules:\n  rules:", "rules: rules.yaml\nunused:");
  text = text.substr(0, text.find("unused:"));
  std::ofstream(dir / "agent.yaml") << text;
  auto c = load_agent_config(dir / "agent.yaml", Catalog::builtin());
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->rules_file, dir / "rules.yaml");
  ASSERT_EQ(c->rules.rules.size(), 1u);
  std::ofstream(dir / "rules.yaml") << "rules:\n  - id: r\n    category: x.y\n";
  c = load_agent_config(dir / "agent.yaml", Catalog::builtin());
  ASSERT_FALSE(c.has_value());
  EXPECT_NE(c.error().message.find("rules.yaml:3: rules[0].category: unknown category"), std::string::npos)
      << c.error().message;
  std::filesystem::remove_all(dir);
}

TEST(AgentConfig, UnknownCategoryAndImpossibleThresholds) {
  expect_error(with("sanitation.bin_overflow", "sanitation.bins"), "rules.rules[0].category",
               "unknown category \"sanitation.bins\"");
  expect_error(with("clear_below: 60", "clear_below: 95"), "rules.rules[0].when.threshold.clear_below",
               "on the wrong side");
}

TEST(AgentConfig, MissingAndDuplicate) {
  expect_error(with("  id: box-01\n", "  log_level: info\n"), "agent.id", "required key is missing");
  expect_error(with("rules:\n  rules:", "  - device_id: bin-001\n    type: bin_fill\n    location: {lon: 1, lat: 2}\nrules:\n  rules:"),
               "sensors[1].device_id", "duplicate device");
  expect_error(with("tcp://127.0.0.1:1883", "http://x"), "broker.url", "must start with tcp://");
}

}  // namespace
}  // namespace gridwatch::agent
