// The walking skeleton, end to end on real services: a sensor reading over MQTT becomes a
// geolocated work order in PostGIS that the center serves as GeoJSON.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <map>
#include <random>
#include <set>
#include <thread>
#include <mutex>
#include <regex>

#include <fmt/format.h>

#include "gridwatch/domain/order.h"
#include "gridwatch/geo/distance.h"
#include "gridwatch/platform/mqtt.h"
#include "support.h"

namespace gridwatch::testing {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

// True once the last status message on `status` has this state.
bool reports(Listener& status, const std::string& state) {
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
    http_port_ = *platform::free_tcp_port();
    write_file(dir_ / "center.yaml",
               fmt::format("center:\n  id: c-{}\n"
                           "broker:\n  url: {}\n  topic_prefix: {}\n"
                           "database:\n  conninfo: \"{}\"\n  pool_size: 2\n"
                           "http:\n  port: {}\n{}",
                           tag_, broker_url_and_account(svc_), prefix_, svc_.pg_conninfo, http_port_, auth_yaml()));
    center_.emplace(start_gridwatch({"center", "--config", (dir_ / "center.yaml").string()},
                                    dir_ / "center.log"));
    ASSERT_TRUE(eventually([&] { return http_get(http_port_, "/healthz").status == 200; }))
        << read_file(dir_ / "center.log");
    auto pub = platform::MqttClient::create(
        mqtt_options(svc_, fmt::format("t-pub-{}", tag_)));
    ASSERT_TRUE(pub.has_value());
    pub_ = std::move(*pub);
    ASSERT_TRUE(pub_->connect(10s).has_value());
  }

  void TearDown() override {
    if (HasFailure()) {
      std::cerr << "---- center metrics\n" << http_get(http_port_, "/metrics").body;
      std::cerr << "---- center log\n" << read_file(dir_ / "center.log");
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

  // A place of this test's own, kilometres from the other tests' (which share the database), so
  // that its orders never join their cases.
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
  std::optional<platform::ChildProcess> center_, agent_;
  std::unique_ptr<platform::MqttClient> pub_;
  std::optional<Timestamp> t0_;
};

TEST_F(Slice, ReadingAboveThresholdBecomesAnOrderInPostgisAndTheApi) {
  Listener status(svc_, fmt::format("{}/agents/{}/status", prefix_, agent_id_));
  start_agent();
  ASSERT_TRUE(reports(status, "online")) << "agent never reported online";

  publish_reading("bin-7", 1, 50);
  publish_reading("bin-7", 2, 95);

  json feature;
  ASSERT_TRUE(eventually([&] {
    auto r = http_get(http_port_, fmt::format("/api/v1/orders?status=open&category=sanitation.bin_overflow"));
    if (r.status != 200) return false;
    const json doc = json::parse(r.body);
    for (const auto& f : doc["features"])
      if (f["properties"]["source"]["agent_id"] == agent_id_) feature = f;
    return !feature.is_null();
  }));
  const std::string id = feature["id"];
  EXPECT_EQ(id, fmt::format("{}.bin_full.bin-7.{}", agent_id_, id_time(2)));
  EXPECT_EQ(feature["geometry"]["type"], "Point");
  EXPECT_NEAR(feature["geometry"]["coordinates"][0].get<double>(), bin7().lon, 1e-9);
  EXPECT_NEAR(feature["geometry"]["coordinates"][1].get<double>(), bin7().lat, 1e-9);
  EXPECT_EQ(feature["properties"]["status"], "open");
  EXPECT_EQ(feature["properties"]["source"]["device_id"], "bin-7");
  EXPECT_EQ(feature["properties"]["evidence"]["readings"][0]["value"], 95.0);

  // The row in PostGIS: a WGS-84 point at the sensor's place.
  auto rows = sql(svc_.pg_conninfo,
                  "SELECT status, ST_X(geom), ST_Y(geom), ST_SRID(geom), category, accuracy_m "
                  "FROM orders WHERE id = $1",
                  {id});
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0][0], "open");
  EXPECT_NEAR(std::stod(rows[0][1]), bin7().lon, 1e-9);
  EXPECT_NEAR(std::stod(rows[0][2]), bin7().lat, 1e-9);
  EXPECT_EQ(rows[0][3], "4326");
  EXPECT_EQ(rows[0][4], "sanitation.bin_overflow");
  EXPECT_EQ(rows[0][5], "5");

  // Filters: bbox around the bin finds it, one elsewhere does not; another category does not.
  auto near = json::parse(http_get(http_port_, fmt::format("/api/v1/orders?bbox={},{},{},{}", bin7().lon - 0.01,
                                                           bin7().lat - 0.01, bin7().lon + 0.01, bin7().lat + 0.01))
                              .body);
  auto far = json::parse(http_get(http_port_, "/api/v1/orders?bbox=0,0,1,1").body);
  auto other = json::parse(http_get(http_port_, "/api/v1/orders?category=water.waterlogging").body);
  auto has = [&](const json& fc) {
    for (auto& f : fc["features"])
      if (f["id"] == id) return true;
    return false;
  };
  EXPECT_TRUE(has(near));
  EXPECT_FALSE(has(far));
  EXPECT_FALSE(has(other));

  // The bin is emptied: the order clears.
  publish_reading("bin-7", 3, 10);
  ASSERT_TRUE(eventually([&] {
    auto r = http_get(http_port_, "/api/v1/orders/" + id);
    return r.status == 200 && json::parse(r.body)["properties"]["status"] == "cleared";
  }));
  EXPECT_EQ(count("SELECT count(*) FROM orders WHERE agent_id = $1", agent_id_), 1);
}

TEST_F(Slice, TheSameEventTwiceIsOneRow) {
  std::string id = fmt::format("{}.dup.1", agent_id_);
  publish(orders_topic(), order_json(id));
  publish(orders_topic(), order_json(id));
  publish(orders_topic(), order_json(id + ".marker"));  // processed after both copies
  ASSERT_TRUE(eventually([&] { return http_get(http_port_, "/api/v1/orders/" + id + ".marker").status == 200; }));
  EXPECT_EQ(count("SELECT count(*) FROM orders WHERE id = $1", id), 1);
  EXPECT_EQ(count("SELECT count(*) FROM order_events WHERE order_id = $1", id), 1);
  auto metrics = http_get(http_port_, "/metrics").body;
  EXPECT_NE(metrics.find("gw_center_orders_duplicate_total 1\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("gw_center_orders_stored_total 2\n"), std::string::npos) << metrics;
}

TEST_F(Slice, MalformedPayloadBetweenTwoValidOnesIsKeptAndTheRestStored) {
  std::string a = fmt::format("{}.valid.a", agent_id_), b = fmt::format("{}.valid.b", agent_id_);
  const std::string bad = R"({"schema":"gw.order/1","event":"open","id":)";
  json out_of_range = json::parse(order_json(fmt::format("{}.range", agent_id_)));
  out_of_range["location"]["lat"] = 91.0;
  publish(orders_topic(), order_json(a));
  publish(orders_topic(), bad);
  publish(orders_topic(), out_of_range.dump());
  publish(orders_topic(), order_json(b));
  ASSERT_TRUE(eventually([&] { return http_get(http_port_, "/api/v1/orders/" + b).status == 200; }));
  EXPECT_EQ(http_get(http_port_, "/api/v1/orders/" + a).status, 200);
  auto rows = sql(svc_.pg_conninfo,
                  "SELECT reason, convert_from(payload, 'UTF8') FROM dead_letters WHERE source = $1 "
                  "ORDER BY id",
                  {orders_topic()});
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0][0], "payload is not valid JSON");
  EXPECT_EQ(rows[0][1], bad);
  EXPECT_EQ(rows[1][0], "field 'location.lat': 91 is out of range [-90, 90]");
  EXPECT_EQ(http_get(http_port_, "/healthz").status, 200);
  auto metrics = http_get(http_port_, "/metrics").body;
  EXPECT_NE(metrics.find("gw_center_messages_rejected_total{reason=\"parse_error\",field=\"\"} 1"),
            std::string::npos) << metrics;
  EXPECT_NE(metrics.find(
                "gw_center_messages_rejected_total{reason=\"invalid_argument\",field=\"location.lat\"} 1"),
            std::string::npos) << metrics;
  ASSERT_TRUE(center_->running()) << "center died";
}

TEST_F(Slice, OrderFromAnotherAgentsTopicIsRejected) {
  std::string id = fmt::format("{}.spoof", agent_id_);
  publish(fmt::format("{}/orders/someone-else", prefix_), order_json(id));
  publish(orders_topic(), order_json(id + ".marker"));
  ASSERT_TRUE(eventually([&] { return http_get(http_port_, "/api/v1/orders/" + id + ".marker").status == 200; }));
  EXPECT_EQ(http_get(http_port_, "/api/v1/orders/" + id).status, 404);
  EXPECT_EQ(count("SELECT count(*) FROM dead_letters WHERE source = $1",
                  fmt::format("{}/orders/someone-else", prefix_)),
            1);
}

TEST_F(Slice, ApiRefusesBadParametersWithTheirName) {
  struct Case {
    std::string query, parameter, error;
  };
  for (const Case& c : std::vector<Case>{
           {"bbox=1,2,3", "bbox", "bbox must be"},
           {"status=lost", "status", "unknown status \"lost\""},
           {"category=x.y", "category", "unknown category \"x.y\""},
           {"colour=red", "colour", "unknown parameter \"colour\""},
           {"near=116.4,39.9", "radius_m", "near and radius_m go together"},
           {"near=216.4,39.9&radius_m=10", "near", "near must be lon,lat"},
           {"near=116.4,39.9&radius_m=90000", "radius_m", "at most 50000"},
       }) {
    auto r = http_get(http_port_, "/api/v1/orders?" + c.query);
    EXPECT_EQ(r.status, 400) << c.query;
    json body = json::parse(r.body);
    EXPECT_EQ(body["parameter"], c.parameter) << c.query;
    EXPECT_NE(body["error"].get<std::string>().find(c.error), std::string::npos) << c.query << ": " << r.body;
  }
  auto r = http_get(http_port_, "/api/v1/orders/no-such-order");
  EXPECT_EQ(r.status, 404);
  r = http_get(http_port_, "/api/v1/nothing");
  EXPECT_EQ(r.status, 404);
}

// Radius search: the API returns exactly the orders within radius_m (PostGIS geography on the
// ellipsoid), nearest first, with their distance; none of the points lies within 1 % of the radius,
// where the ellipsoid and the sphere of geo::distance_m may disagree.
TEST_F(Slice, RadiusSearchReturnsTheOrdersWithinMetresNearestFirst) {
  std::mt19937_64 rng(std::hash<std::string>{}(tag_));
  // A centre of its own, so that the orders of other tests are kilometres away.
  const LonLat centre{.lon = 116.0 + static_cast<double>(rng() % 400) * 0.05 / 20,
                      .lat = 40.3 + static_cast<double>(rng() % 100) * 0.001};
  std::uniform_real_distribution<double> offset(-0.02, 0.02);
  const double radius = 1000;
  std::map<std::string, double> expected;  // id -> haversine distance
  for (int i = 0; i < 40; ++i) {
    LonLat p;
    double d = 0;
    do {
      p = {.lon = centre.lon + offset(rng), .lat = centre.lat + offset(rng)};
      d = geo::distance_m(centre, p);
      // The first five inside the circle, so that there is always something to find.
    } while (std::abs(d - radius) < 0.01 * radius || (i < 5 && d > 0.9 * radius));
    std::string id = fmt::format("near-{}-{}", tag_, i);
    json order = json::parse(order_json(id));
    order["location"] = {{"lon", p.lon}, {"lat", p.lat}};
    publish(orders_topic(), order.dump());
    if (d < radius) expected[id] = d;
  }
  ASSERT_GE(expected.size(), 3u);
  ASSERT_TRUE(eventually([&] {
    return count("SELECT count(*) FROM orders WHERE id LIKE $1", fmt::format("near-{}-%", tag_)) == 40;
  }));
  auto r = http_get(http_port_, fmt::format("/api/v1/orders?near={:.7f},{:.7f}&radius_m={}", centre.lon,
                                            centre.lat, radius));
  ASSERT_EQ(r.status, 200) << r.body;
  json fc = json::parse(r.body);
  std::set<std::string> got;
  double last = -1;
  for (const json& f : fc["features"]) {
    std::string id = f["id"];
    got.insert(id);
    double d = f["properties"]["distance_m"];
    EXPECT_GE(d, last) << "not nearest first";
    last = d;
    ASSERT_TRUE(expected.contains(id)) << id << " at " << d << " m is outside the radius";
    EXPECT_NEAR(d, expected[id], 0.006 * expected[id] + 0.2) << id;
  }
  EXPECT_EQ(got.size(), expected.size());
  // Combined with another filter.
  r = http_get(http_port_, fmt::format("/api/v1/orders?near={:.7f},{:.7f}&radius_m={}&category=fire.blocked_lane",
                                       centre.lon, centre.lat, radius));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(json::parse(r.body)["features"].empty());
}

TEST_F(Slice, KilledAgentShowsOfflineThroughItsLastWill) {
  Listener status(svc_, fmt::format("{}/agents/{}/status", prefix_, agent_id_));
  start_agent();
  ASSERT_TRUE(reports(status, "online"));
  ::kill(agent_->pid(), SIGKILL);
  agent_->wait(5s);
  ASSERT_TRUE(reports(status, "offline")) << "no last will seen";
  // Retained: a newcomer sees offline too.
  Listener late(svc_, fmt::format("{}/agents/{}/status", prefix_, agent_id_));
  ASSERT_TRUE(eventually([&] { return late.last_json().has_value(); }));
  EXPECT_EQ(late.last_json()->value("state", ""), "offline");
  EXPECT_TRUE(late.messages().back().retained);
}

// A duration half elapsed when the agent is killed still fires at its original time after a
// restart (the reading is in the rule journal), once.
TEST_F(Slice, AgentKilledInTheMiddleOfADurationOpensOnTimeAfterRestart) {
  Listener status(svc_, fmt::format("{}/agents/{}/status", prefix_, agent_id_));
  start_agent();
  ASSERT_TRUE(reports(status, "online"));
  publish_reading("bin-8", 1, 99);
  ASSERT_TRUE(eventually([&] {
    return read_file(dir_ / "agent-data" / "rules" / "rules-journal.jsonl").find("bin-8") != std::string::npos;
  }));
  ::kill(agent_->pid(), SIGKILL);
  ASSERT_TRUE(agent_->wait(10s).has_value());
  agent_.reset();
  start_agent();
  const std::string id = fmt::format("{}.bin_stuck.bin-8.{}", agent_id_, id_time(7));
  ASSERT_TRUE(eventually([&] { return http_get(http_port_, "/api/v1/orders/" + id).status == 200; }))
      << "no order " << id;
  auto order = json::parse(http_get(http_port_, "/api/v1/orders/" + id).body);
  EXPECT_EQ(parse_rfc3339(order["properties"]["observed_at"].get<std::string>()), reading_time(7));
  EXPECT_EQ(parse_rfc3339(order["properties"]["first_seen_at"].get<std::string>()), reading_time(1));
  std::this_thread::sleep_for(2s);  // a second open would have arrived by now
  EXPECT_EQ(count("SELECT count(*) FROM order_events WHERE order_id LIKE $1",
                  fmt::format("{}.bin_stuck.%", agent_id_)),
            1);
}

// kill -9 in the middle of a stream of order events: every event the agent had queued reaches
// the center after the restart (from the outbox on disk), and none becomes a second case.
TEST_F(Slice, AgentKilledMidStreamLosesNoQueuedEventAndMakesNoDuplicateCase) {
  Listener status(svc_, fmt::format("{}/agents/{}/status", prefix_, agent_id_));
  // Events come a second apart and leave at one every two seconds: the kill finds some on disk.
  drain_rate_ = 0.5;
  start_agent();
  ASSERT_TRUE(reports(status, "online"));
  // bin-7 goes full and empty every second: an open and a clear a second.
  auto queued = [&](const std::string& log) {
    std::set<std::pair<std::string, std::string>> out;
    const std::string text = read_file(log);
    const std::regex line(R"(order (open|update|clear) (\S+) \(\S+\) queued as outbox event)");
    for (auto it = std::sregex_iterator(text.begin(), text.end(), line); it != std::sregex_iterator(); ++it)
      out.insert({(*it)[2], (*it)[1]});
    return out;
  };
  int second = 0;
  for (; second < 12; ++second) publish_reading("bin-7", second, second % 2 ? 10 : 99);
  ASSERT_TRUE(eventually([&] { return queued((dir_ / "agent.log").string()).size() >= 6; }));
  // Some have left already (one every two seconds), the others wait on disk.
  ASSERT_TRUE(eventually([&] {
    return count("SELECT count(*) FROM order_events WHERE order_id LIKE $1", fmt::format("{}.bin_full.%", agent_id_)) >= 1;
  }));
  ::kill(agent_->pid(), SIGKILL);
  ASSERT_TRUE(agent_->wait(10s).has_value());
  agent_.reset();
  auto before = queued((dir_ / "agent.log").string());
  std::filesystem::rename(dir_ / "agent.log", dir_ / "agent-killed.log");
  drain_rate_ = 500;  // restarted with the default
  start_agent();
  ASSERT_TRUE(reports(status, "online"));
  std::smatch m;
  const std::string restarted = read_file(dir_ / "agent.log");
  ASSERT_TRUE(std::regex_search(restarted, m, std::regex(R"(outbox: (\d+) events from before the restart)")))
      << restarted;
  EXPECT_GE(std::stoi(m[1]), 1) << "the kill left queued events on disk";
  for (; second < 20; ++second) publish_reading("bin-7", second, second % 2 ? 10 : 99);
  ASSERT_TRUE(eventually([&] { return queued((dir_ / "agent.log").string()).size() >= 4; }));
  auto all = before;
  for (const auto& e : queued((dir_ / "agent.log").string())) all.insert(e);
  // Every queued event is stored at the center, once.
  for (const auto& [id, event] : all)
    EXPECT_TRUE(eventually([&] {
      return count("SELECT count(*) FROM order_events WHERE order_id = $1 AND event = '" + event + "'", id) == 1;
    }, 30s)) << id << " " << event << " never arrived";
  size_t opened = 0;
  for (const auto& [id, event] : all) opened += event == "open";
  EXPECT_GE(opened, 5u);
  EXPECT_EQ(count("SELECT count(*) FROM orders WHERE id LIKE $1", fmt::format("{}.bin_full.%", agent_id_)),
            static_cast<int>(opened))
      << "one case per opened order, none twice";
}

// SIGHUP reads the configuration again: a new sensor and rule work at once, an unchanged rule
// keeps its half-elapsed duration, and what needs a restart (or does not parse) is refused with
// the reason while the agent goes on with what it had.
TEST_F(Slice, SighupReloadsSensorsAndRulesKeepingTheStateOfUnchangedRules) {
  Listener status(svc_, fmt::format("{}/agents/{}/status", prefix_, agent_id_));
  start_agent();
  ASSERT_TRUE(reports(status, "online"));
  publish_reading("bin-8", 1, 99);  // bin_stuck: above 95 for 6 s
  ASSERT_TRUE(eventually([&] {
    return read_file(dir_ / "agent-data" / "rules" / "rules-journal.jsonl").find("bin-8") != std::string::npos;
  }));
  // A new sensor, rule and camera (vtest.avi on repeat).
  more_sensors_ = fmt::format("  - device_id: bin-9\n    type: bin_fill\n    location: {{lon: {}, lat: {}}}\n"
                              "cameras:\n  - camera: {{id: hall, source: \"{}\", loop: true}}\n"
                              "    detectors: [{{type: motion, label: person}}]\n",
                              bin7().lon + 0.0022, bin7().lat, "/usr/share/doc/opencv-doc/examples/data/vtest.avi");
  more_rules_ =
      "    - id: bin_full_9\n      category: sanitation.bin_overflow\n"
      "      input: {type: bin_fill, devices: [bin-9]}\n      when: {threshold: {above: 90, clear_below: 60}}\n";
  write_file(dir_ / "agent.yaml", agent_yaml());
  ::kill(agent_->pid(), SIGHUP);
  ASSERT_TRUE(eventually([&] {
    return read_file(dir_ / "agent.log").find("configuration reloaded: 1 cameras, 3 sensors, 3 rules (0 rule states changed or dropped)") !=
           std::string::npos;
  })) << read_file(dir_ / "agent.log");
  EXPECT_NE(read_file(dir_ / "agent.log").find("reload: camera hall started"), std::string::npos);
  ASSERT_TRUE(eventually([&] {
    auto st = status.last_json();
    return st && st->contains("cameras") && (*st)["cameras"].size() == 1 && (*st)["cameras"][0]["id"] == "hall" &&
           (*st)["cameras"][0]["state"] == "running" && (*st)["cameras"][0]["frames_in"].get<int>() > 0;
  })) << status.last_json().value_or(json()).dump();
  publish_reading("bin-9", 2, 99);
  ASSERT_TRUE(eventually([&] {
    return http_get(http_port_, fmt::format("/api/v1/orders/{}.bin_full_9.bin-9.{}", agent_id_, id_time(2))).status == 200;
  })) << "the new sensor's rule works";
  const std::string stuck = fmt::format("{}.bin_stuck.bin-8.{}", agent_id_, id_time(7));
  ASSERT_TRUE(eventually([&] { return http_get(http_port_, "/api/v1/orders/" + stuck).status == 200; }))
      << "the unchanged rule kept its duration across the reload";
  auto order = json::parse(http_get(http_port_, "/api/v1/orders/" + stuck).body);
  EXPECT_EQ(parse_rfc3339(order["properties"]["first_seen_at"].get<std::string>()), reading_time(1));

  // A change that needs a restart, then a file that does not parse: refused, nothing changes.
  std::string yaml = agent_yaml();
  yaml.replace(yaml.find(svc_.mqtt_url), svc_.mqtt_url.size(), "tcp://127.0.0.1:1");
  write_file(dir_ / "agent.yaml", yaml);
  ::kill(agent_->pid(), SIGHUP);
  ASSERT_TRUE(eventually([&] {
    return read_file(dir_ / "agent.log").find("reload refused: broker.url changed: restart the agent to apply it") !=
           std::string::npos;
  })) << read_file(dir_ / "agent.log");
  write_file(dir_ / "agent.yaml", agent_yaml() + "sensors: [\n");
  ::kill(agent_->pid(), SIGHUP);
  ASSERT_TRUE(eventually([&] {
    const std::string log = read_file(dir_ / "agent.log");
    const auto at = log.rfind("reload refused: ");
    return at != std::string::npos && log.find("agent.yaml:", at) != std::string::npos;
  })) << read_file(dir_ / "agent.log");
  // Still the reloaded rules: bin-9's order clears (a reading of now: older ones are late).
  const auto later = static_cast<int>(std::chrono::duration_cast<std::chrono::seconds>(now_utc() - reading_time(0)).count()) + 2;
  publish_reading("bin-9", later, 10);
  ASSERT_TRUE(eventually([&] {
    auto r = http_get(http_port_, fmt::format("/api/v1/orders/{}.bin_full_9.bin-9.{}", agent_id_, id_time(2)));
    return r.status == 200 && json::parse(r.body)["properties"]["status"] == "cleared";
  }));
  EXPECT_TRUE(agent_->running());
}

TEST_F(Slice, StoppedAgentSaysOfflineAndExitsZero) {
  Listener status(svc_, fmt::format("{}/agents/{}/status", prefix_, agent_id_));
  start_agent();
  ASSERT_TRUE(reports(status, "online"));
  ::kill(agent_->pid(), SIGTERM);
  auto st = agent_->wait(10s);
  ASSERT_TRUE(st.has_value());
  EXPECT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) == 0);
  ASSERT_TRUE(reports(status, "offline"));
}

// Monitors that report on the same instant (stamped on the second, as many gateways do), with
// the agent's `lateness: 0s`: every one of them is evaluated, none is refused as late.
TEST_F(Slice, SensorsReportingOnTheSameInstantAreAllEvaluated) {
  more_sensors_ = fmt::format(
      "  - {{device_id: bin-9, type: bin_fill, location: {{lon: {0}, lat: {1}, accuracy_m: 5}}}}\n"
      "  - {{device_id: bin-10, type: bin_fill, location: {{lon: {0}, lat: {2}, accuracy_m: 5}}}}\n",
      bin7().lon, bin7().lat + 0.0011, bin7().lat + 0.0022);
  more_rules_ =
      "    - id: row_full\n      category: sanitation.bin_overflow\n      input: {type: bin_fill, devices: [bin-9, bin-10]}\n"
      "      when: {threshold: {above: 90, clear_below: 60}}\n";
  Listener status(svc_, fmt::format("{}/agents/{}/status", prefix_, agent_id_));
  start_agent();
  ASSERT_TRUE(reports(status, "online"));
  for (const char* bin : {"bin-7", "bin-9", "bin-10"}) publish_reading(bin, 2, 97);
  for (const std::string& id : {fmt::format("{}.bin_full.bin-7.{}", agent_id_, id_time(2)),
                               fmt::format("{}.row_full.bin-9.{}", agent_id_, id_time(2)),
                               fmt::format("{}.row_full.bin-10.{}", agent_id_, id_time(2))})
    EXPECT_TRUE(eventually([&] { return http_get(http_port_, "/api/v1/orders/" + id).status == 200; })) << id;
  ASSERT_TRUE(eventually([&] {
    auto j = status.last_json();
    return j && j->value("readings_received", 0) == 3;
  })) << (status.last_json() ? status.last_json()->dump() : "no status");
  EXPECT_EQ(status.last_json()->value("readings_late", -1), 0);
  EXPECT_EQ(status.last_json()->value("readings_rejected", -1), 0);
}

TEST_F(Slice, BadReadingsAreCountedKeptAndTheGoodOnesStillWork) {
  Listener status(svc_, fmt::format("{}/agents/{}/status", prefix_, agent_id_));
  start_agent();
  ASSERT_TRUE(reports(status, "online"));
  publish(fmt::format("{}/sensors/bin-7/reading", prefix_), "{\"ts\":");
  publish(fmt::format("{}/sensors/bin-404/reading", prefix_),
          R"({"ts":"2026-11-23T08:00:00Z","type":"bin_fill","value":99})");
  publish_reading("bin-7", 5, 99);
  publish_reading("bin-7", -600, 99);  // ten minutes old: behind the rule engine's lateness
  publish_reading("bin-7", 5, 99);     // the same reading again: a duplicate, not a dead letter
  publish_reading("bin-7", 7200, 99);  // two hours ahead: a clock gone wrong, refused
  ASSERT_TRUE(eventually([&] {
    auto r = http_get(http_port_, fmt::format("/api/v1/orders/{}.bin_full.bin-7.{}", agent_id_, id_time(5)));
    return r.status == 200;
  }));
  ASSERT_TRUE(eventually([&] {
    auto j = status.last_json();
    return j && j->value("readings_rejected", 0) == 4 && j->value("readings_late", 0) == 1 &&
           j->value("readings_duplicate", 0) == 1;
  })) << (status.last_json() ? status.last_json()->dump() : "no status");
  std::string dead = read_file(dir_ / "agent-data" / "dead-letter.jsonl");
  EXPECT_NE(dead.find("payload is not valid JSON"), std::string::npos) << dead;
  EXPECT_NE(dead.find("unknown device \\\"bin-404\\\""), std::string::npos) << dead;
  EXPECT_NE(dead.find("older than the rule engine's lateness window"), std::string::npos) << dead;
  EXPECT_NE(dead.find("is in the future"), std::string::npos) << dead;
}

}  // namespace
}  // namespace gridwatch::testing
