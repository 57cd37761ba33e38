// The center against a broker that refuses or disappears: a refused subscription is an error
// that /healthz and /metrics show (the center keeps serving), and a lifecycle update the MQTT
// client cannot take is counted, not silently dropped. A center in this process, on a private
// broker of the test's own and the fixture's PostGIS.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include "gridwatch/center/center.h"
#include "gridwatch/domain/catalog.h"
#include "gridwatch/platform/services.h"
#include "center_config.h"
#include "support.h"

namespace gridwatch::testing {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

center::CenterConfig center_config(const std::string& tag, const platform::ServiceEndpoints& broker,
                                   const std::string& prefix) {
  // On `broker` (a private one, which takes anonymous clients).
  center::CenterConfig cfg = testing::center_config(tag, prefix, "faults", "faults-test-key-0123456789");
  cfg.broker_url = broker.mqtt_url;
  cfg.username.clear();
  cfg.password.clear();
  return cfg;
}

TEST(CenterBroker, ARefusedSubscriptionShowsInHealthzAndMetricsAndTheCenterKeepsServing) {
  const std::string tag = fmt::format("suback{}", getpid());
  const std::string prefix = unique_prefix();
  const auto dir = temp_dir(tag);
  // The center's account may publish its updates but subscribe to nothing: its rights lack the
  // order stream and the clip answers. (Mosquitto's dynamic-security plugin refuses such a
  // SUBSCRIBE; an ACL file would grant it and deliver nothing.)
  auto broker = platform::PrivateServices::start(
      {.dir = dir / "broker",
       .postgres = false,
       .mqtt_accounts = {{"center", "center-pw-0123"}},
       .mqtt_dynsec = true,
       .mqtt_dynsec_acls = {{"center", "publishClientSend", prefix + "/center/#"}}});
  ASSERT_TRUE(broker.has_value()) << broker.error().message;
  auto cfg = center_config(tag, (*broker)->endpoints(), prefix);
  cfg.username = "center";
  cfg.password = "center-pw-0123";
  center::Center center(cfg, Catalog::builtin());
  ASSERT_TRUE(center.start(10s).has_value()) << "the center starts, and says what is wrong";

  auto health = http_get(center.http_port(), "/healthz");
  EXPECT_EQ(health.status, 503) << health.body;
  const json h = json::parse(health.body, nullptr, false);
  EXPECT_EQ(h.value("status", ""), "degraded");
  EXPECT_EQ(h.value("mqtt", ""), "connected");
  const std::string subs = h.value("subscriptions", "");
  EXPECT_NE(subs.find(fmt::format("refused the subscription to $share/center/{}/orders/#", prefix)), std::string::npos)
      << subs;
  EXPECT_NE(subs.find(fmt::format("{}/agents/+/clips/+/#", prefix)), std::string::npos) << subs;
  const std::string metrics = http_get(center.http_port(), "/metrics").body;
  EXPECT_EQ(metric(metrics, "gw_center_mqtt_subscribed"), 0) << metrics;
  EXPECT_EQ(metric(metrics, "gw_center_mqtt_connected"), 1) << metrics;
  // The HTTP server's own figures: this request's connection is open and nothing was refused.
  EXPECT_GE(metric(metrics, "gw_center_http_connections"), 1) << metrics;
  EXPECT_EQ(metric(metrics, "gw_center_http_event_streams"), 0) << metrics;
  EXPECT_EQ(metric(metrics, "gw_center_http_busy_total"), 0) << metrics;
  // Tickets still come in over Open311.
  auto r = http_post(center.http_port(), "/open311/v2/requests.json",
                     form_encode({{"api_key", "faults-test-key-0123456789"}, {"service_code", "environment.noise"},
                                  {"lat", "40.52"}, {"long", fmt::format("{:.5f}", 117.20 + (getpid() % 1000) * 1e-4)}}));
  EXPECT_EQ(r.status, 200) << r.body;
  center.stop();
  (*broker)->stop();
  std::filesystem::remove_all(dir);
}

TEST(CenterBroker, UpdatesTheClientCannotTakeAreCountedInMetrics) {
  const std::string tag = fmt::format("pubfail{}", getpid());
  const std::string prefix = unique_prefix();
  const auto dir = temp_dir(tag);
  auto broker = platform::PrivateServices::start({.dir = dir / "broker", .postgres = false});
  ASSERT_TRUE(broker.has_value()) << broker.error().message;
  auto cfg = center_config(tag, (*broker)->endpoints(), prefix);
  cfg.max_buffered = 1;  // one update kept while the broker is away, the next refused
  center::Center center(cfg, Catalog::builtin());
  ASSERT_TRUE(center.start(10s).has_value());
  auto healthy = http_get(center.http_port(), "/healthz");
  EXPECT_EQ(healthy.status, 200) << healthy.body;

  // Three manhole covers, far apart so that they stay three cases.
  std::vector<std::string> cases;
  for (int i = 0; i < 3; ++i) {
    auto r = http_post(center.http_port(), "/open311/v2/requests.json",
                       form_encode({{"api_key", "faults-test-key-0123456789"}, {"service_code", "utilities.manhole_cover"},
                                    {"lat", fmt::format("{:.4f}", 40.60 + 0.01 * i)},
                                    {"long", fmt::format("{:.5f}", 117.20 + (getpid() % 1000) * 1e-4)}}));
    ASSERT_EQ(r.status, 200) << r.body;
    cases.push_back(json::parse(r.body)[0]["service_request_id"]);
  }
  EXPECT_EQ(metric(http_get(center.http_port(), "/metrics").body, "gw_center_publish_failures_total"), 0);
  (*broker)->stop();
  ASSERT_TRUE(eventually([&] { return http_get(center.http_port(), "/healthz").status == 503; }, 30s))
      << "the center notices the broker is gone";
  // Each dispatch is published on {prefix}/center/orders/{id}: the first waits for the
  // reconnect, the next two are refused by the client and counted; the steps themselves stand.
  for (const std::string& id : cases) {
    auto r = http_request(center.http_port(), "POST", fmt::format("/api/v1/orders/{}/actions", id),
                          json{{"action", "dispatch"}, {"unit", "faults-unit"}}.dump(), kAdminToken);
    EXPECT_EQ(r.status, 200) << r.body;
  }
  const std::string metrics = http_get(center.http_port(), "/metrics").body;
  EXPECT_EQ(metric(metrics, "gw_center_publish_failures_total"), 2) << metrics;
  center.stop();
  std::filesystem::remove_all(dir);
}

// A camera case whose agent never answers: the clip request ends at http.clip_timeout with 504
// and the agent's id, instead of waiting for ever.
TEST(CenterBroker, AClipOfAnAgentThatDoesNotAnswerIsA504) {
  auto svc = services();
  const std::string tag = fmt::format("ghost{}", getpid());
  const std::string prefix = unique_prefix();
  platform::ServiceEndpoints broker = svc;
  auto cfg = center_config(tag, broker, prefix);
  cfg.username = svc.mqtt_username;
  cfg.password = svc.mqtt_password;
  cfg.clip_timeout = 1s;
  center::Center center(cfg, Catalog::builtin());
  ASSERT_TRUE(center.start(10s).has_value());
  auto pub = platform::MqttClient::create(mqtt_options(svc, "t-" + tag));
  ASSERT_TRUE(pub.has_value() && (*pub)->connect(10s).has_value());
  const std::string id = tag + ".parked.street:no_parking.20261123T080000Z";
  const json order = {{"schema", "gw.order/1"}, {"event", "open"}, {"id", id}, {"category", "traffic.illegal_parking"},
                      {"source", {{"kind", "camera"}, {"agent_id", tag}}},
                      {"location", {{"lon", 117.70 + (getpid() % 1000) * 1e-4}, {"lat", 40.80}}},
                      {"observed_at", format_rfc3339(now_utc())},
                      {"evidence", {{"clip", {{"agent_id", tag}, {"camera", "street"}, {"name", "street-1.mp4"}, {"codec", "h264"}}}}}};
  ASSERT_TRUE((*pub)->publish_and_wait(fmt::format("{}/orders/{}", prefix, tag), order.dump(), 1, false, 5s).has_value());
  ASSERT_TRUE(eventually([&] { return http_get(center.http_port(), "/api/v1/orders/" + id).status == 200; }));
  const auto r = http_get(center.http_port(), fmt::format("/api/v1/orders/{}/clip", id));
  EXPECT_EQ(r.status, 504) << r.body;
  EXPECT_NE(r.body.find(fmt::format("agent {} did not answer within 1s", tag)), std::string::npos) << r.body;
  center.stop();
}

}  // namespace
}  // namespace gridwatch::testing
