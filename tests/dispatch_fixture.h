// The fixture of the dispatch tests (dispatch_test.cc, dispatch_events_test.cc,
// dispatch_map_test.cc): a center in this process on the fixture's PostGIS and Mosquitto, with
// four street polygons of its own (written by the test, at a place no other test uses) and a
// synthetic 250 m grid inside them.
#pragma once

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "gridwatch/center/center.h"
#include "gridwatch/domain/catalog.h"
#include "gridwatch/platform/mqtt.h"
#include "center_config.h"
#include "support.h"

namespace gridwatch::testing {

using json = nlohmann::json;
using namespace std::chrono_literals;

// Streets A, B, C, D side by side, 0.005° wide (~480 m) and 0.005° high (~555 m).
class Dispatch : public ::testing::Test {
 protected:
  // The tokens of the center's callers, and the key of the Open311 client.
  static constexpr const char* kKey = "dispatch-test-key-0123456789";
  static constexpr const char* kDispatcher = "dispatch-test-dispatcher-01";
  static constexpr const char* kWater = "dispatch-test-water-000001";
  static constexpr const char* kPolice = "dispatch-test-police-00001";
  static constexpr const char* kStreetA = "dispatch-test-street-a-0001";
  static constexpr const char* kWorker1 = "dispatch-test-worker-1-0001";
  static constexpr const char* kWorker2 = "dispatch-test-worker-2-0001";
  static constexpr const char* kWorker3 = "dispatch-test-worker-3-0001";  // worker 1's grid too
  static constexpr const char* kExpired = "dispatch-test-expired-00001";

  static void SetUpTestSuite() {
    svc_ = services();
    tag_ = fmt::format("d{}", getpid());
    lon0_ = 100.0 + (getpid() % 1000) * 0.03;
    prefix_ = unique_prefix();
    dir_ = temp_dir("dispatch");
    json streets = {{"type", "FeatureCollection"}, {"features", json::array()}};
    for (int i = 0; i < 4; ++i) {
      const double x0 = lon0_ + 0.005 * i, x1 = x0 + 0.005;
      streets["features"].push_back(
          {{"type", "Feature"},
           {"properties", {{"code", street(i)}, {"name", fmt::format("街道 {}", "ABCD"[i])}}},
           {"geometry",
            {{"type", "Polygon"},
             {"coordinates", json::array({json::array({json::array({x0, kLat0}), json::array({x1, kLat0}),
                                                       json::array({x1, kLat0 + 0.005}),
                                                       json::array({x0, kLat0 + 0.005}),
                                                       json::array({x0, kLat0})})})}}}});
    }
    write_file(dir_ / "streets.geojson", streets.dump());
    center::CenterConfig cfg = center_config(tag_, prefix_, "tests", kKey);
    cfg.areas = {{.file = dir_ / "streets.geojson", .options = {.level_name = "street", .id_property = "code"}},
                 {.options = {.level_name = "grid"}, .synthetic_cell_m = 250}};
    cfg.dispatch_level = "street";
    using center::Role;
    auto token = [](std::string name, Role role, const char* t, std::string unit = "", std::string grid = "") {
      return center::ApiToken{.name = std::move(name), .role = role, .token = t, .expires = {}, .unit = std::move(unit),
                              .grid = std::move(grid)};
    };
    cfg.tokens = {token("tests-admin", Role::kAdmin, kAdminToken),
                  token("disp", Role::kDispatcher, kDispatcher),
                  token("water", Role::kDepartment, kWater, "water_authority"),
                  token("police", Role::kDepartment, kPolice, "traffic_police"),
                  token("street-a", Role::kDepartment, kStreetA, street(0)),
                  token(worker(1), Role::kWorker, kWorker1, "", cell(0, 0, 0)),
                  token(worker(2), Role::kWorker, kWorker2, "", cell(0, 0, 1)),
                  token(worker(3), Role::kWorker, kWorker3, "", cell(0, 0, 0))};
    cfg.tokens.push_back(token("gone", Role::kAdmin, kExpired));
    // The pages (a stand-in build), the building registry and the report page's key.
    std::filesystem::create_directories(dir_ / "web" / "assets");
    write_file(dir_ / "web" / "index.html", "<!doctype html><title>center page</title>");
    write_file(dir_ / "web" / "worker.html", "<!doctype html><title>worker page</title>");
    write_file(dir_ / "web" / "assets" / "app-1a2b.js", "console.log('asset')");
    write_file(dir_ / "buildings.csv", fmt::format("code,name,address,lon,lat\nB-1,一号楼,测试路1号,{:.6f},{:.6f}\n",
                                                   at(0, 0.001, 0.001).lon, at(0, 0.001, 0.001).lat));
    cfg.web.root = dir_ / "web";
    cfg.web.buildings = dir_ / "buildings.csv";
    cfg.web.report_key = "tests";
    // The report key is public, so its posts are limited per address: these tests post many.
    cfg.per_address = {.rate = 0, .burst = 1};
    cfg.tokens.back().expires = *parse_rfc3339("2026-01-01T00:00:00Z");
    center_ = new center::Center(cfg, Catalog::builtin());
    auto st = center_->start();
    ASSERT_TRUE(st.has_value()) << st.error().message;
    port_ = center_->http_port();
    started_ = now_utc();
  }
  static void TearDownTestSuite() {
    delete center_;
    center_ = nullptr;
    std::filesystem::remove_all(dir_);
  }

  // Worker ids carry the process's tag (they show in logs beside other tests').
  static std::string worker(int i) { return fmt::format("{}-w{}", tag_, i); }
  static std::string street(int i) { return fmt::format("{}-{}", tag_, "abcd"[i]); }
  // The synthetic cell at row r, column c of street i (250 m cells from its south-west corner).
  static std::string cell(int i, int r, int c) { return fmt::format("{}-g{:04}{:04}", street(i), r, c); }
  // A point in street i, dx/dy degrees from its south-west corner.
  static LonLat at(int i, double dx, double dy) { return {lon0_ + 0.005 * i + dx, kLat0 + dy}; }

  std::string ticket(const std::string& code, LonLat p, const std::string& text = "test") {
    auto r = http_post(port_, "/open311/v2/requests.json",
                       form_encode({{"api_key", kKey},
                                    {"service_code", code},
                                    {"lat", fmt::format("{:.7f}", p.lat)},
                                    {"long", fmt::format("{:.7f}", p.lon)},
                                    {"description", text}}));
    EXPECT_EQ(r.status, 200) << r.body;
    const json j = json::parse(r.body, nullptr, false);
    if (!j.is_array() || j.empty()) return "";
    last_token_ = j[0].value("token", "");
    return j[0]["service_request_id"];
  }
  HttpReply act(const std::string& id, const std::string& action, const char* token = kDispatcher,
                const std::string& unit = "", const std::string& reason = "") {
    json body = {{"action", action}};
    if (!unit.empty()) body["unit"] = unit;
    if (!reason.empty()) body["reason"] = reason;
    return http_request(port_, "POST", fmt::format("/api/v1/orders/{}/actions", id), body.dump(), token);
  }
  void ok(const HttpReply& r) { EXPECT_EQ(r.status, 200) << r.body; }
  // The case's history without the SLA check's entries (a test that drives the SLA check may
  // flag any late case).
  static json steps_of(const json& c) {
    json out = json::array();
    for (const json& h : c["properties"]["history"])
      if (h["actor"] != "sla") out.push_back(h);
    return out;
  }
  json case_of(const std::string& id) {
    auto r = http_get(port_, "/api/v1/orders/" + id);
    EXPECT_EQ(r.status, 200) << r.body;
    return json::parse(r.body, nullptr, false);
  }
  HttpReply position(const std::string& worker, const char* token, LonLat p, bool on_duty = true) {
    return http_request(port_, "PUT", fmt::format("/api/v1/workers/{}/position", worker),
                        json({{"lon", p.lon}, {"lat", p.lat}, {"on_duty", on_duty}}).dump(), token);
  }
  // An edge order as an agent sends it, on the agent's topic.
  void publish_order(const std::string& id, const std::string& event, const std::string& kind,
                     const std::string& category, LonLat p) {
    json o = {{"schema", "gw.order/1"},
              {"event", event},
              {"id", id},
              {"category", category},
              {"source", {{"kind", kind}, {"agent_id", tag_ + "-agent"}}},
              {"location", {{"lon", p.lon}, {"lat", p.lat}}},
              {"observed_at", format_rfc3339(now_utc())}};
    if (kind == "sensor") o["source"]["device_id"] = "gauge-1";
    if (!mqtt_) {
      auto c = platform::MqttClient::create(mqtt_options(svc_, tag_ + "-pub"));
      ASSERT_TRUE(c.has_value());
      mqtt_ = std::move(*c);
      ASSERT_TRUE(mqtt_->connect(10s).has_value());
    }
    ASSERT_TRUE(mqtt_->publish(fmt::format("{}/orders/{}-agent", prefix_, tag_), o.dump(), 1, false).has_value());
  }
  HttpReply stats(const std::string& query) { return http_get(port_, "/api/v1/stats?" + query); }

  static constexpr double kLat0 = 30.0;
  static inline platform::ServiceEndpoints svc_;
  static inline std::string tag_, prefix_;
  static inline double lon0_ = 0;
  static inline std::filesystem::path dir_;
  static inline center::Center* center_ = nullptr;
  static inline int port_ = 0;
  static inline Timestamp started_{};
  std::unique_ptr<platform::MqttClient> mqtt_;
  std::string last_token_;
};

}  // namespace gridwatch::testing
