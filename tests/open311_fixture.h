// The Open311 tests' fixture: a center of the test's own on the fixture's services, with an
// Open311 API key and a dispatcher's token, and helpers to post tickets and publish edge orders.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <iostream>
#include <random>

#include <fmt/format.h>

#include "gridwatch/domain/order.h"
#include "gridwatch/domain/time.h"
#include "gridwatch/platform/mqtt.h"
#include "gridwatch/platform/process.h"
#include "center_under_test.h"
#include "support.h"

namespace gridwatch::testing {

class Open311 : public ::testing::Test {
 protected:
  using json = nlohmann::json;

  void SetUp() override {
    svc_ = services();
    ASSERT_FALSE(svc_.pg_conninfo.empty());
    dir_ = temp_dir("open311");
    static std::atomic<int> n{0};
    tag_ = fmt::format("{}-{}", getpid(), n++);
    prefix_ = unique_prefix();
    center_.emplace(dir_, CenterSpec{.id = "o311-" + tag_,
                                     .prefix = prefix_,
                                     .sections = fmt::format("open311:\n  api_keys:\n    - {{name: tests, key: \"{}\"}}\n", kKey) +
                                                 extra_sections(),
                                     .auth = auth_yaml(fmt::format(
                                         "    - {{name: dispatcher-7, role: dispatcher, token: \"{}\"}}\n", kDispatcherToken))});
    port_ = center_->port();
    ASSERT_TRUE(center_->start());
  }
  // More YAML sections of the center's configuration (a derived fixture's).
  virtual std::string extra_sections() { return ""; }
  void TearDown() override {
    center_.reset();
    std::filesystem::remove_all(dir_);
  }
  // A place of this test's own: a random point in a 50 x 50 km square, so two tests' reports
  // are practically never within a merge radius.
  LonLat spot() {
    if (!spot_) {
      std::mt19937_64 rng(std::hash<std::string>{}(tag_ + "spot"));
      std::uniform_real_distribution<double> u(0, 0.5);
      spot_ = LonLat{.lon = 116.0 + u(rng), .lat = 39.7 + u(rng)};
    }
    return *spot_;
  }
  // `east_m` metres east of the spot.
  LonLat east_of_spot(double east_m) {
    LonLat p = spot();
    p.lon += east_m / (111'319.49 * std::cos(p.lat * M_PI / 180));
    return p;
  }
  HttpReply post(std::vector<std::pair<std::string, std::string>> fields, const std::string& path = "requests.json") {
    return http_post(port_, "/open311/v2/" + path, form_encode(fields));
  }
  // POSTs a ticket and returns its receipt (fails the test on anything but 200).
  json ticket(const std::string& code, LonLat where, const std::string& description,
              std::vector<std::pair<std::string, std::string>> extra = {}) {
    std::vector<std::pair<std::string, std::string>> f = {{"api_key", kKey},
                                                          {"service_code", code},
                                                          {"lat", fmt::format("{:.8f}", where.lat)},
                                                          {"long", fmt::format("{:.8f}", where.lon)},
                                                          {"description", description}};
    f.insert(f.end(), extra.begin(), extra.end());
    auto r = post(f);
    EXPECT_EQ(r.status, 200) << r.body;
    json j = json::parse(r.body, nullptr, false);
    if (!j.is_array() || j.empty()) return json::object();
    return j[0];
  }
  json case_of(const std::string& id) {
    auto r = http_get(port_, "/api/v1/orders/" + id);
    EXPECT_EQ(r.status, 200) << r.body;
    return json::parse(r.body, nullptr, false);
  }
  void publish_order(const json& order) {
    if (!pub_) {
      auto pub = platform::MqttClient::create(mqtt_options(svc_, fmt::format("t-o311-{}", tag_)));
      ASSERT_TRUE(pub.has_value());
      pub_ = std::move(*pub);
      ASSERT_TRUE(pub_->connect(std::chrono::seconds{10}).has_value());
    }
    ASSERT_TRUE(pub_->publish_and_wait(fmt::format("{}/orders/{}", prefix_, agent_id()), order.dump(), 1, false,
                                       std::chrono::seconds{5})
                    .has_value());
  }
  std::string agent_id() const { return "cam-agent-" + tag_; }
  json camera_order(const std::string& id, const std::string& category, LonLat where, Timestamp first_seen) const {
    return {{"schema", "gw.order/1"},
            {"event", "open"},
            {"id", id},
            {"category", category},
            {"source", {{"kind", "camera"}, {"agent_id", agent_id()}, {"device_id", "cam-1"}}},
            {"location", {{"lon", where.lon}, {"lat", where.lat}, {"accuracy_m", 3}}},
            {"first_seen_at", format_rfc3339(first_seen)},
            {"observed_at", format_rfc3339(first_seen + std::chrono::minutes{5})}};
  }
  int count(const std::string& query, const std::string& param) {
    auto rows = sql(svc_.pg_conninfo, query, {param});
    return rows.empty() ? -1 : std::stoi(rows[0][0]);
  }

  static constexpr const char* kKey = "test-key-0123456789abcdef";
  static constexpr const char* kDispatcherToken = "dispatcher-7-token-0123456";
  platform::ServiceEndpoints svc_;
  std::filesystem::path dir_;
  std::string tag_, prefix_;
  int port_ = 0;
  std::optional<LonLat> spot_;
  std::optional<CenterUnderTest> center_;
  std::unique_ptr<platform::MqttClient> pub_;
};

}  // namespace gridwatch::testing
