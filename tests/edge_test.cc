// The edge daemon end to end on real services: `gridwatch agent` with a camera on a recorded clip
// (the street the project draws: a car parks in a no-parking zone), a camera whose source is dead
// and a bin-fill sensor over MQTT, on a Mosquitto of its own with an account per party and the
// per-account ACL (as a deployment runs it), and the fixture's PostGIS.
#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>

#include <netinet/in.h>
#include <sys/wait.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>

#include "gridwatch/center/center.h"
#include "gridwatch/domain/order.h"
#include "gridwatch/geo/distance.h"
#include "gridwatch/platform/base64.h"
#include "gridwatch/platform/services.h"
#include "gridwatch/vision/scene.h"
#include "support.h"

namespace gridwatch::testing {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

// A port nobody listens on right now (the agent's /metrics).
int free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    close(fd);
    return 0;
  }
  close(fd);
  return ntohs(a.sin_port);
}

std::optional<json> order_of(Listener& l, const std::string& category) {
  for (const auto& m : l.messages()) {
    json j = json::parse(m.payload, nullptr, false);
    if (j.is_object() && j.value("category", "") == category && j.value("event", "") == "open") return j;
  }
  return std::nullopt;
}

TEST(EdgeBox, ParkedCarOnAClipAndAFullBinBecomeTwoLocatedOrdersWithEvidence) {
  const auto svc = services();
  ASSERT_FALSE(svc.mqtt_url.empty());
  const auto dir = temp_dir("edge");
  const std::string prefix = unique_prefix();
  const std::string agent = fmt::format("edge-{}", getpid());
  vision::StreetScene scene;
  ASSERT_TRUE(vision::write_video(scene, dir / "street.avi", 600).has_value());  // 60 s: the car parks at 12 s
  // One grid cell over the street the camera sees (and the bin beside it).
  write_file(dir / "grid.geojson", R"({"type": "FeatureCollection", "features": [
    {"type": "Feature", "id": "wfj-0101", "properties": {"name": "Wangfujing grid 1"},
     "geometry": {"type": "Polygon", "coordinates": [[[116.4095, 39.9130], [116.4115, 39.9130],
       [116.4115, 39.9145], [116.4095, 39.9145], [116.4095, 39.9130]]]}}]})");
  const int metrics_port = free_port();
  ASSERT_GT(metrics_port, 0);
  // A broker of its own, set up as a deployment's: an account each for the center, the agent and
  // the sensor, one ACL entry per account; the test listens as a read-only observer.
  const std::string secret = platform::random_secret();
  auto broker = platform::PrivateServices::start(
      {.dir = dir / "broker",
       .postgres = false,
       .mqtt_accounts = {{"observer", secret}, {"center", secret}, {agent, secret}, {"bin-1", secret}},
       .mqtt_acl = platform::gridwatch_acl(prefix, {.agents = {agent}, .sensors = {"bin-1"}, .observers = {"observer"}})});
  ASSERT_TRUE(broker.has_value()) << broker.error().message;
  const platform::ServiceEndpoints mq = (*broker)->endpoints();  // as the observer
  write_file(dir / "agent.password", secret + "\n");
  write_file(dir / "agent.yaml", fmt::format(R"(agent: {{id: {agent}, data_dir: "{dir}/data"}}
broker: {{url: "{url}", topic_prefix: {prefix}, username: {agent}, password_file: agent.password}}
status: {{interval: 1s, metrics: "127.0.0.1:{port}"}}
areas: {{file: grid.geojson}}
cameras:
  - camera: {{id: street, source: street.avi, realtime: false}}
    detect: {{fps: 5}}
    detectors:
      - {{type: stationary, label: object, min_area: 0.004, settle: 2s, min_size_m: 1.5}}
    zones:
      - {{name: no_parking, type: no_parking, polygon: [[70, 225], [340, 225], [340, 302], [70, 302]], classes: [object], dwell: 10s}}
    tracker: {{stationary_max_age: 4s}}
    evidence: {{clip_before: 2s, clip_after: 2s}}
    calibration: {calibration}
  - camera: {{id: gate, source: "{dir}/unplugged.avi"}}
    detectors: [{{type: motion}}]
sensors:
  - {{device_id: bin-1, type: bin_fill, location: {{lon: 116.41060, lat: 39.91360, accuracy_m: 5}}}}
rules:
  rules:
    - id: parked
      category: traffic.illegal_parking
      input: {{zones: ["street:no_parking"]}}
      when: {{zone: {{stationary: 10s}}}}
    - id: bin_full
      category: sanitation.bin_overflow
      input: {{type: bin_fill}}
      when: {{threshold: {{above: 90, clear_below: 60}}}}
)",
                                             fmt::arg("agent", agent), fmt::arg("dir", dir.string()),
                                             fmt::arg("url", mq.mqtt_url), fmt::arg("prefix", prefix),
                                             fmt::arg("port", metrics_port),
                                             fmt::arg("calibration", vision::StreetScene::calibration_yaml())));
  // The district center on the same broker and the fixture's PostGIS.
  center::CenterConfig cc;
  cc.id = agent + "-center";
  cc.broker_url = mq.mqtt_url;
  cc.username = "center";
  cc.password = secret;
  cc.topic_prefix = prefix;
  cc.conninfo = svc.pg_conninfo;
  cc.http_port = 0;
  cc.sla_check_interval = std::chrono::hours{1};
  cc.clip_timeout = 3s;
  cc.tokens = {center::ApiToken{.name = "tests-admin", .role = center::Role::kAdmin, .token = kAdminToken}};
  center::Center district(cc, Catalog::builtin());
  ASSERT_TRUE(district.start().has_value());
  Listener orders(mq, fmt::format("{}/orders/{}", prefix, agent));
  Listener status(mq, fmt::format("{}/agents/{}/status", prefix, agent));
  Listener clips(mq, fmt::format("{}/agents/{}/clips/+/#", prefix, agent));
  auto proc = start_gridwatch({"agent", "--config", (dir / "agent.yaml").string()}, dir / "agent.log");
  auto sensor = platform::MqttClient::create(
      {.url = mq.mqtt_url, .client_id = fmt::format("t-bin-{}", getpid()), .username = "bin-1", .password = secret});
  ASSERT_TRUE(sensor && (*sensor)->connect(10s));
  // The test asks for clips as the center does, with the center's account.
  auto asker = platform::MqttClient::create(
      {.url = mq.mqtt_url, .client_id = fmt::format("t-asker-{}", getpid()), .username = "center", .password = secret});
  ASSERT_TRUE(asker && (*asker)->connect(10s));
  ASSERT_TRUE(eventually([&] { return status.last_json().has_value(); }));
  const json reading = {{"ts", format_rfc3339(now_utc())}, {"type", "bin_fill"}, {"value", 95}, {"unit", "%"}};
  ASSERT_TRUE((*sensor)->publish_and_wait(fmt::format("{}/sensors/bin-1/reading", prefix), reading.dump(), 1, false, 5s));
  // A sensor that tries to pass for the agent: the broker drops it, the center never sees it.
  const json forged = {{"schema", "gw.order/1"}, {"event", "open"}, {"id", agent + ".forged"},
                       {"category", "fire.blocked_lane"}, {"source", {{"kind", "sensor"}, {"agent_id", agent}}},
                       {"location", {{"lon", 116.41}, {"lat", 39.91}}}, {"observed_at", format_rfc3339(now_utc())}};
  ASSERT_TRUE((*sensor)->publish_and_wait(fmt::format("{}/orders/{}", prefix, agent), forged.dump(), 1, false, 5s));

  ASSERT_TRUE(eventually([&] { return order_of(orders, "traffic.illegal_parking") && order_of(orders, "sanitation.bin_overflow"); }, 90s))
      << read_file(dir / "agent.log");
  // The camera's order: where the car stands (its bottom centre, 205 / 294 in the picture).
  const json car = *order_of(orders, "traffic.illegal_parking");
  EXPECT_EQ(car["source"]["kind"], "camera");
  EXPECT_EQ(car["source"]["device_id"], "street:no_parking");
  const LonLat expected = vision::StreetScene::ground(205, 294);
  const LonLat got{.lon = car["location"]["lon"].get<double>(), .lat = car["location"]["lat"].get<double>()};
  const double accuracy = car["location"]["accuracy_m"].get<double>();
  EXPECT_GT(accuracy, 0);
  EXPECT_LE(geo::distance_m(got, expected), accuracy + 1.0);
  EXPECT_EQ(car["location"]["grid"], "wfj-0101");
  // Evidence: the snapshot itself (a JPEG of the camera's picture), the box, the clip's name.
  const json& ev = car["evidence"];
  ASSERT_TRUE(ev.contains("snapshot_jpeg")) << ev.dump();
  auto jpeg = platform::base64_decode(ev["snapshot_jpeg"].get<std::string>());
  ASSERT_TRUE(jpeg.has_value());
  const cv::Mat shot = cv::imdecode(*jpeg, cv::IMREAD_COLOR);
  EXPECT_EQ(shot.cols, 640);
  EXPECT_EQ(shot.rows, 360);
  EXPECT_LE(jpeg->size(), 150u * 1024);
  ASSERT_EQ(ev["bbox"].size(), 4u);
  EXPECT_NEAR(ev["bbox"][0].get<double>(), 130, 15);
  ASSERT_TRUE(ev.contains("clip"));
  EXPECT_EQ(ev["clip"]["agent_id"], agent);
  const std::string clip = ev["clip"]["name"];
  // An MP4 (H.264) that a browser plays inline; the order says which codec.
  ASSERT_TRUE(clip.ends_with(".mp4")) << clip;
  EXPECT_EQ(ev["clip"]["codec"], "h264");
  EXPECT_EQ(ev["events"][0]["evidence"]["snapshot"], clip.substr(0, clip.size() - 4) + ".jpg");  // no paths of the box
  // The sensor's order: at the sensor's place, with the reading that triggered it.
  const json bin = *order_of(orders, "sanitation.bin_overflow");
  EXPECT_EQ(bin["source"]["kind"], "sensor");
  EXPECT_DOUBLE_EQ(bin["location"]["lon"].get<double>(), 116.41060);
  EXPECT_EQ(bin["location"]["grid"], "wfj-0101");
  ASSERT_FALSE(bin["evidence"]["readings"].empty());
  EXPECT_DOUBLE_EQ(bin["evidence"]["readings"][0]["value"].get<double>(), 95);

  // Status: the dead camera is reported and retried; the other camera and the sensor worked.
  ASSERT_TRUE(eventually([&] {
    auto s = status.last_json();
    if (!s || !s->contains("cameras") || (*s)["cameras"].size() != 2) return false;
    return (*s)["cameras"][0]["state"] == "ended" && (*s)["cameras"][1]["state"] == "reconnecting";
  }, 60s)) << status.last_json().value_or(json()).dump();
  const json s = *status.last_json();
  EXPECT_NE(s["cameras"][1]["last_error"].get<std::string>().find("unplugged.avi: no such file"), std::string::npos);
  EXPECT_EQ(s["cameras"][1]["frames_in"], 0);
  EXPECT_GT(s["cameras"][0]["frames_in"].get<int>(), 500);
  EXPECT_EQ(s["readings_received"], 1);
  EXPECT_TRUE(s.contains("cpu_percent"));
  EXPECT_GT(s["memory_bytes"].get<double>(), 1e6);
  // Every order the box sent was stored and confirmed by the center (status every second).
  EXPECT_TRUE(eventually([&] {
    auto now = status.last_json();
    return now && now->contains("outbox") && (*now)["outbox"]["pending"] == 0 && (*now)["outbox"]["confirmed"].get<int>() >= 2;
  }, 30s)) << status.last_json().value_or(json()).dump();

  // The center asks for the clip: the bytes of the MP4 come back; a path is refused.
  ASSERT_TRUE(eventually([&] { return std::filesystem::exists(dir / "data" / "evidence" / "street" / clip); }, 30s));
  const std::string get = fmt::format("{}/agents/{}/clips/get", prefix, agent);
  ASSERT_TRUE((*asker)->publish_and_wait(get, json{{"request_id", "r1"}, {"clip", clip}}.dump(), 1, false, 5s));
  ASSERT_TRUE((*asker)->publish_and_wait(get, json{{"request_id", "r2"}, {"clip", "../../agent.yaml"}}.dump(), 1, false, 5s));
  ASSERT_TRUE((*asker)->publish_and_wait(get, json{{"request_id", "r3"}, {"clip", "gone.avi"}}.dump(), 1, false, 5s));
  std::map<std::string, std::string> got_clips;  // request id[/error] -> payload
  ASSERT_TRUE(eventually([&] {
    for (const auto& m : clips.messages()) got_clips[m.topic.substr(m.topic.find("/clips/") + 7)] = m.payload;
    return got_clips.contains("r1") && got_clips.contains("r2/error") && got_clips.contains("r3/error");
  }, 20s));
  ASSERT_TRUE(got_clips.contains("r1"));
  EXPECT_EQ(got_clips["r1"].substr(4, 4), "ftyp");  // an ISO media file
  EXPECT_EQ(got_clips["r1"].size(), std::filesystem::file_size(dir / "data" / "evidence" / "street" / clip));
  EXPECT_NE(got_clips["r2/error"].find("is not a clip name"), std::string::npos) << got_clips["r2/error"];
  EXPECT_NE(got_clips["r3/error"].find("no clip gone.avi"), std::string::npos) << got_clips["r3/error"];

  // A dispatcher watches what happened: the center fetches the clip from the agent.
  const std::string case_id = car["id"];
  HttpReply video;
  ASSERT_TRUE(eventually([&] {
    video = http_request(district.http_port(), "GET", fmt::format("/api/v1/orders/{}/clip", case_id), "", kAdminToken);
    return video.status != 404 || video.body.find("no order") == std::string::npos;  // stored by now
  }));
  EXPECT_EQ(video.status, 200) << video.body;
  EXPECT_EQ(video.body.substr(4, 4), "ftyp");
  EXPECT_EQ(video.body.size(), got_clips["r1"].size());
  const HttpReply none = http_request(district.http_port(), "GET", fmt::format("/api/v1/orders/{}/clip", bin["id"].get<std::string>()), "", kAdminToken);
  EXPECT_EQ(none.status, 404);
  EXPECT_NE(none.body.find("has no camera clip"), std::string::npos) << none.body;
  EXPECT_EQ(http_request(district.http_port(), "GET", fmt::format("/api/v1/orders/{}/clip", case_id), "", "").status, 401);

  EXPECT_FALSE(order_of(orders, "fire.blocked_lane").has_value()) << "the forged order passed the broker";
  EXPECT_EQ(http_request(district.http_port(), "GET", "/api/v1/orders/" + agent + ".forged", "", kAdminToken).status, 404);

  // /metrics on the local port.
  const HttpReply metrics = http_request(metrics_port, "GET", "/metrics", "", "");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find("gw_agent_camera_up{camera=\"gate\"} 0"), std::string::npos) << metrics.body;
  EXPECT_NE(metrics.body.find("gw_agent_camera_frames_total{camera=\"street\"}"), std::string::npos);
  EXPECT_NE(metrics.body.find("gw_agent_clips_served_total 2"), std::string::npos);  // the test's and the center's

  // The agent gone, the clip the center fetched lately still plays, from its memory (a clip the
  // center never had answers 504: CenterBroker.AClipOfAnAgentThatDoesNotAnswerIsA504).
  const int st = proc.stop(20s);
  const HttpReply late = http_request(district.http_port(), "GET", fmt::format("/api/v1/orders/{}/clip", case_id), "", kAdminToken);
  EXPECT_EQ(late.status, 200) << late.body;
  EXPECT_EQ(late.body, video.body);
  district.stop();
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << read_file(dir / "agent.log");
  if (HasFailure()) std::cerr << read_file(dir / "agent.log");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace gridwatch::testing
