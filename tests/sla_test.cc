// SLA timers with an injected clock: a center in this process, on the fixture's services; the
// test calls its SLA check with times of its choosing instead of waiting hours.
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <mutex>

#include <fmt/format.h>

#include "gridwatch/center/center.h"
#include "gridwatch/domain/catalog.h"
#include "gridwatch/platform/mqtt.h"
#include "center_config.h"
#include "support.h"

namespace gridwatch::testing {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

TEST(Sla, OverdueFiresAtTheRightTimeOnceAndIsPublished) {
  auto svc = services();
  ASSERT_FALSE(svc.pg_conninfo.empty());
  const std::string tag = fmt::format("sla{}", getpid());
  const std::string prefix = unique_prefix();
  // The SLA thread is idle: the test drives the clock.
  center::Center center(center_config(tag, prefix, "sla", "sla-test-key-0123456789"), Catalog::builtin());
  ASSERT_TRUE(center.start().has_value());

  std::mutex mu;
  std::vector<json> published;
  auto sub = platform::MqttClient::create(mqtt_options(svc, "t-" + tag));
  ASSERT_TRUE(sub.has_value());
  (*sub)->on_message([&](platform::MqttMessage m) {
    std::lock_guard lock(mu);
    published.push_back(json::parse(m.payload, nullptr, false));
  });
  ASSERT_TRUE((*sub)->subscribe(prefix + "/center/orders/#", 1).has_value());
  ASSERT_TRUE((*sub)->connect(10s).has_value());

  // A manhole cover (respond 30 min, resolve 4 h), and a noise case accepted in time.
  auto post = [&](const std::string& code, double lon) {
    auto r = http_post(center.http_port(), "/open311/v2/requests.json",
                       form_encode({{"api_key", "sla-test-key-0123456789"}, {"service_code", code},
                                    {"lat", "40.41"}, {"long", fmt::format("{:.5f}", lon)}}));
    EXPECT_EQ(r.status, 200) << r.body;
    return json::parse(r.body)[0]["service_request_id"].get<std::string>();
  };
  const std::string cover = post("utilities.manhole_cover", 117.30 + (getpid() % 1000) * 1e-4);
  const std::string noise = post("environment.noise", 117.35 + (getpid() % 1000) * 1e-4);
  auto act = [&](const std::string& id, const std::string& action) {
    auto r = http_post(center.http_port(), fmt::format("/api/v1/orders/{}/actions", id),
                       json({{"action", action}, {"unit", "street-1"}}).dump(), "application/json");
    EXPECT_EQ(r.status, 200) << r.body;
  };
  act(cover, "dispatch");
  act(noise, "dispatch");
  act(noise, "accept");
  const json c = json::parse(http_get(center.http_port(), "/api/v1/orders/" + cover).body);
  const Timestamp dispatched = *parse_rfc3339(c["properties"]["dispatched_at"].get<std::string>());

  // The events of this test's cases.
  auto ours = [&](const std::string& id, const std::string& kind) {
    std::lock_guard lock(mu);
    return std::count_if(published.begin(), published.end(),
                         [&](const json& j) { return j.value("case_id", "") == id && j.value("overdue", "") == kind; });
  };
  center.check_sla(dispatched + 29min);
  center.check_sla(dispatched + 30min + 1s);
  ASSERT_TRUE(eventually([&] { return ours(cover, "respond") == 1; }));
  EXPECT_EQ(ours(noise, "respond"), 0) << "accepted in time";
  center.check_sla(dispatched + 31min);  // once only
  center.check_sla(dispatched + 4h - 1s);
  EXPECT_EQ(ours(cover, "resolve"), 0);
  center.check_sla(dispatched + 4h + 1s);
  ASSERT_TRUE(eventually([&] { return ours(cover, "resolve") == 1; }));
  // The center publishes in order on one connection: a second respond mark (from the check at
  // 31 min) would have arrived before the resolve mark.
  EXPECT_EQ(ours(cover, "respond"), 1);
  const json late = json::parse(http_get(center.http_port(), "/api/v1/orders/" + cover).body);
  EXPECT_EQ(late["properties"]["overdue"], json::array({"respond", "resolve"}));
  EXPECT_EQ(late["properties"]["history"].back()["action"], "overdue");
  // The noise case is late only to resolve (48 h).
  center.check_sla(dispatched + 48h + 1s);
  ASSERT_TRUE(eventually([&] { return ours(noise, "resolve") == 1; }));
  // A new dispatch starts the clock again.
  act(cover, "reject");
  act(cover, "dispatch");
  const json again = json::parse(http_get(center.http_port(), "/api/v1/orders/" + cover).body);
  EXPECT_TRUE(again["properties"]["overdue"].empty());
  center.stop();
}

// Two centers on one database: while one checks the SLA (here: the test holds the check's lock),
// the other does nothing; then one flags the late case, once, and the other finds it flagged.
TEST(Sla, CentersSharingADatabaseCheckOneAtATimeAndFlagOnce) {
  auto svc = services();
  ASSERT_FALSE(svc.pg_conninfo.empty());
  const std::string prefix = unique_prefix();
  center::Center a(center_config(fmt::format("sla-a{}", getpid()), prefix, "sla", "sla-test-key-0123456789"),
                   Catalog::builtin());
  center::Center b(center_config(fmt::format("sla-b{}", getpid()), prefix, "sla", "sla-test-key-0123456789"),
                   Catalog::builtin());
  ASSERT_TRUE(a.start().has_value());
  ASSERT_TRUE(b.start().has_value());
  auto r = http_post(a.http_port(), "/open311/v2/requests.json",
                     form_encode({{"api_key", "sla-test-key-0123456789"}, {"service_code", "utilities.manhole_cover"},
                                  {"lat", "40.41"}, {"long", "117.3"}}));
  ASSERT_EQ(r.status, 200) << r.body;
  const std::string id = json::parse(r.body)[0]["service_request_id"].get<std::string>();
  ASSERT_EQ(http_post(b.http_port(), fmt::format("/api/v1/orders/{}/actions", id),
                      json({{"action", "dispatch"}, {"unit", "street-1"}}).dump(), "application/json")
                .status,
            200);
  const Timestamp late = now_utc() + 1h;  // respond due in 30 min

  PGconn* holder = PQconnectdb(svc.pg_conninfo.c_str());
  ASSERT_EQ(PQstatus(holder), CONNECTION_OK) << PQerrorMessage(holder);
  auto run = [&](const char* q) {
    PGresult* res = PQexec(holder, q);
    const bool ok = PQresultStatus(res) == PGRES_TUPLES_OK || PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    return ok;
  };
  ASSERT_TRUE(run("BEGIN"));
  ASSERT_TRUE(run("SELECT pg_advisory_xact_lock(hashtext('gridwatch.sla_check'))"));
  EXPECT_EQ(a.check_sla(late), 0u) << "another holds the check";
  EXPECT_EQ(b.check_sla(late), 0u);
  ASSERT_TRUE(run("COMMIT"));
  PQfinish(holder);
  EXPECT_EQ(a.check_sla(late), 1u);
  EXPECT_EQ(b.check_sla(late), 0u) << "flagged once, by one of them";
  const json c = json::parse(http_get(b.http_port(), "/api/v1/orders/" + id).body);
  EXPECT_EQ(c["properties"]["overdue"], json::array({"respond"}));
  a.stop();
  b.stop();
}

}  // namespace
}  // namespace gridwatch::testing
