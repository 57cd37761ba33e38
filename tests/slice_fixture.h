// The walking skeleton's fixture: the fixture's services, a `gridwatch center` and a
// `gridwatch agent` process with a sensor and its rule (slice_test.cc, slice_agent_test.cc).
#pragma once

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <map>
#include <mutex>
#include <random>
#include <regex>
#include <set>
#include <thread>

#include <fmt/format.h>

#include "gridwatch/domain/order.h"
#include "gridwatch/geo/distance.h"
#include "gridwatch/platform/mqtt.h"
#include "center_under_test.h"
#include "support.h"

namespace gridwatch::testing {

using json = nlohmann::json;
using namespace std::chrono_literals;

// True once the last status message on `status` has this state.
inline bool reports(Listener& status, const std::string& state) {
  return eventually([&] {
    auto j = status.last_json();
    return j && j->value("state", "") == state;
  });
}

class Slice : public ::testing::Test {
 protected:
  void SetUp() override {
    svc_ = services();
    ASSERT_FALSE(svc_.mqtt_url.empty());
    dir_ = temp_dir("slice");
    prefix_ = unique_prefix();
    static std::atomic<int> n{0};
    tag_ = fmt::format("{}-{}", getpid(), n++);
    agent_id_ = fmt::format("agent-{}", tag_);
    center_.emplace(dir_, CenterSpec{.id = "c-" + tag_, .prefix = prefix_, .pool_size = 2});
    http_port_ = center_->port();
    ASSERT_TRUE(center_->start());
    auto pub = platform::MqttClient::create(
        mqtt_options(svc_, fmt::format("t-pub-{}", tag_)));
    ASSERT_TRUE(pub.has_value());
    pub_ = std::move(*pub);
    ASSERT_TRUE(pub_->connect(10s).has_value());
  }

  void TearDown() override {
    if (HasFailure()) {
      std::cerr << "---- center metrics\n" << http_get(http_port_, "/metrics").body;
      std::cerr << "---- agent log\n" << read_file(dir_ / "agent.log");
    }
    agent_.reset();
    center_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::string agent_yaml() const {
    return fmt::format(R"(agent:
  id: {}
  data_dir: {}
broker:
  url: {}
  topic_prefix: {}
status:
  interval: 1s
outbox:
  drain_rate: {}
sensors:
  - device_id: bin-7
    type: bin_fill
    location: {{lon: {}, lat: {}, accuracy_m: 5}}
  - device_id: bin-8
    type: bin_fill
    location: {{lon: {}, lat: {}, accuracy_m: 5}}
{}rules:
  lateness: 0s
  rules:
    - id: bin_full
      category: sanitation.bin_overflow
      input: {{type: bin_fill, devices: [bin-7]}}
      when: {{threshold: {{above: 90, clear_below: 60}}}}
    - id: bin_stuck
      category: sanitation.bin_overflow
      input: {{type: bin_fill, devices: [bin-8]}}
      when: {{threshold: {{above: 95}}, for: 6s}}
{})",
                       agent_id_, (dir_ / "agent-data").string(), broker_url_and_account(svc_), prefix_, drain_rate_, bin7().lon,
                       bin7().lat, bin7().lon + 0.0011, bin7().lat, more_sensors_, more_rules_);
  }

  void start_agent() {
    write_file(dir_ / "agent.yaml", agent_yaml());
    agent_.emplace(start_gridwatch({"agent", "--config", (dir_ / "agent.yaml").string()},
                                   dir_ / "agent.log"));
  }

  void publish(const std::string& topic, const std::string& payload) {
    ASSERT_TRUE(pub_->publish_and_wait(topic, payload, 1, false, 5s).has_value());
  }

  // Readings are stamped `second` seconds after the first one this test sends (the agent
  // evaluates readings at their own time and refuses those behind its lateness window).
  Timestamp reading_time(int second) {
    if (!t0_) t0_ = std::chrono::ceil<std::chrono::seconds>(now_utc());
    return *t0_ + std::chrono::seconds{second};
  }
  // The first second not yet behind the agent's clock, with `ahead` seconds to spare: a
  // reading sent after a slow step (a reload, a restart) must not be late.
  int second_from_now(int ahead = 2) {
    return static_cast<int>(std::chrono::duration_cast<std::chrono::seconds>(now_utc() - reading_time(0)).count()) +
           ahead;
  }
  // The time part of an episode id: 2026-11-23T08:00:02Z -> 20261123T080002Z.
  std::string id_time(int second) {
    std::string out;
    for (char c : format_rfc3339(reading_time(second)))
      if (c != '-' && c != ':') out += c;
    return out;
  }

  void publish_reading(const std::string& device, int second, double value) {
    json r = {{"ts", format_rfc3339(reading_time(second))},
              {"type", "bin_fill"},
              {"value", value},
              {"unit", "%"}};
    publish(fmt::format("{}/sensors/{}/reading", prefix_, device), r.dump());
  }

  // A place of this test's own: its orders are kilometres from anything an earlier step of the
  // test placed elsewhere.
  LonLat spot() const {
    const size_t h = std::hash<std::string>{}(tag_);
    return {.lon = 115.5 + static_cast<double>(h % 997) * 0.002,
            .lat = 39.5 + static_cast<double>((h / 997) % 991) * 0.002};
  }

  // The bin sensors' place (4 decimals, as written in the agent's config).
  LonLat bin7() const {
    return {.lon = std::round(spot().lon * 1e4) / 1e4, .lat = std::round(spot().lat * 1e4) / 1e4};
  }

  std::string order_json(const std::string& id) const {
    return json({{"schema", "gw.order/1"},
                 {"event", "open"},
                 {"id", id},
                 // Never merged (radius 0): each order is a case of its own.
                 {"category", "general.other"},
                 {"source", {{"kind", "camera"}, {"agent_id", agent_id_}}},
                 {"location", {{"lon", spot().lon}, {"lat", spot().lat}}},
                 {"observed_at", "2026-11-23T08:00:00Z"}})
        .dump();
  }

  std::string orders_topic() const { return fmt::format("{}/orders/{}", prefix_, agent_id_); }

  int count(const std::string& query, const std::string& param) {
    auto rows = sql(svc_.pg_conninfo, query, {param});
    return rows.empty() ? -1 : std::stoi(rows[0][0]);
  }

  platform::ServiceEndpoints svc_;
  std::filesystem::path dir_;
  double drain_rate_ = 500;  // outbox.drain_rate of the agent
  std::string more_sensors_, more_rules_;  // appended to the agent's sensors and rules
  std::string prefix_, tag_, agent_id_;
  int http_port_ = 0;
  std::optional<CenterUnderTest> center_;
  std::optional<platform::ChildProcess> agent_;
  std::unique_ptr<platform::MqttClient> pub_;
  std::optional<Timestamp> t0_;
};


}  // namespace gridwatch::testing
