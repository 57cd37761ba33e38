#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <signal.h>

#include <filesystem>
#include <future>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "gridwatch/platform/mqtt.h"
#include "gridwatch/platform/services.h"

namespace gridwatch::platform {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

std::string query_one(const std::string& conninfo, const char* sql) {
  PGconn* c = PQconnectdb(conninfo.c_str());
  EXPECT_EQ(PQstatus(c), CONNECTION_OK) << PQerrorMessage(c);
  PGresult* r = PQexec(c, sql);
  std::string v = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 ? PQgetvalue(r, 0, 0) : "";
  PQclear(r);
  PQfinish(c);
  return v;
}

// Starts a real private Mosquitto and PostgreSQL + PostGIS, uses both, stops them, and checks
// that no process and no data directory is left behind.
TEST(PrivateServices, StartUseAndStopWithoutLeftovers) {
  fs::path dir = fs::temp_directory_path() / fmt::format("gw-services-test-{}", getpid());
  auto s = PrivateServices::start({.dir = dir});
  ASSERT_TRUE(s.has_value()) << s.error().message;
  const ServiceEndpoints e = (*s)->endpoints();
  EXPECT_NE(e.mqtt_port, 0);
  EXPECT_NE(e.pg_port, 0);

  EXPECT_FALSE(query_one(e.pg_conninfo, "SELECT postgis_lib_version()").empty());
  EXPECT_EQ(query_one(e.pg_conninfo, "SELECT current_user"), "gridwatch");

  // A message goes through the broker.
  auto sub = MqttClient::create({.url = e.mqtt_url, .client_id = "t-sub"});
  auto pub = MqttClient::create({.url = e.mqtt_url, .client_id = "t-pub"});
  ASSERT_TRUE(sub && pub);
  std::promise<std::string> got;
  std::once_flag once;
  (*sub)->on_message([&](MqttMessage m) { std::call_once(once, [&] { got.set_value(m.payload); }); });
  ASSERT_TRUE((*sub)->subscribe("t/#", 1).has_value());
  ASSERT_TRUE((*sub)->connect(5s).has_value());
  ASSERT_TRUE((*pub)->connect(5s).has_value());
  std::this_thread::sleep_for(200ms);  // let the SUBACK arrive
  ASSERT_TRUE((*pub)->publish_and_wait("t/x", "hello", 1, false, 5s).has_value());
  auto fut = got.get_future();
  ASSERT_EQ(fut.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(fut.get(), "hello");
  (*sub).reset();
  (*pub).reset();

  (*s)->stop();
  EXPECT_FALSE(wait_for_tcp(e.mqtt_port, 200ms)) << "broker still listening";
  EXPECT_NE(PQping(e.pg_conninfo.c_str()), PQPING_OK) << "database still running";
  EXPECT_FALSE(fs::exists(dir / "postgres" / "data"));
  fs::remove_all(dir);
}

// The broker of the demo: accounts, no anonymous clients, and the gridwatch ACL: a sensor publishes
// its own readings only, an agent orders under its own id only; an observer sees what passed.
TEST(PrivateServices, BrokerWithAccountsRefusesAnonymousAndPublishingAsAnother) {
  fs::path dir = fs::temp_directory_path() / fmt::format("gw-services-acl-{}", getpid());
  auto s = PrivateServices::start({.dir = dir,
                                   .postgres = false,
                                   .mqtt_accounts = {{"observer", "observer-pw-0123"},
                                                     {"bin-1", "bin-1-pw-0123"},
                                                     {"box-a", "box-a-pw-0123"}},
                                   .mqtt_acl = gridwatch_acl("gw/v1", {.agents = {"box-a"}, .sensors = {"bin-1"}, .observers = {"observer"}})});
  ASSERT_TRUE(s.has_value()) << s.error().message;
  const ServiceEndpoints e = (*s)->endpoints();
  EXPECT_EQ(e.mqtt_username, "observer");
  auto client = [&](const std::string& user, const std::string& password) {
    return std::move(*MqttClient::create({.url = e.mqtt_url, .client_id = "t-" + user, .username = user, .password = password}));
  };
  auto anonymous = MqttClient::create({.url = e.mqtt_url, .client_id = "t-anon"});
  EXPECT_FALSE((*anonymous)->connect(2s).has_value());
  EXPECT_FALSE(client("bin-1", "wrong")->connect(2s).has_value());

  auto observer = client("observer", "observer-pw-0123");
  std::mutex mu;
  std::vector<std::string> seen;
  observer->on_message([&](MqttMessage m) {
    std::lock_guard lock(mu);
    seen.push_back(m.topic + " " + m.payload);
  });
  ASSERT_TRUE(observer->subscribe("gw/v1/#", 1).has_value());
  ASSERT_TRUE(observer->connect(5s).has_value());
  std::this_thread::sleep_for(200ms);
  auto bin = client("bin-1", "bin-1-pw-0123");
  auto box = client("box-a", "box-a-pw-0123");
  ASSERT_TRUE(bin->connect(5s).has_value());
  ASSERT_TRUE(box->connect(5s).has_value());
  // Refused writes are acknowledged and dropped by Mosquitto (MQTT 3.1.1 has no refusal).
  ASSERT_TRUE(bin->publish_and_wait("gw/v1/sensors/bin-2/reading", "as another sensor", 1, false, 5s).has_value());
  ASSERT_TRUE(bin->publish_and_wait("gw/v1/orders/bin-1", "a sensor's order", 1, false, 5s).has_value());
  ASSERT_TRUE(box->publish_and_wait("gw/v1/orders/box-b", "as another agent", 1, false, 5s).has_value());
  ASSERT_TRUE(bin->publish_and_wait("gw/v1/sensors/bin-1/reading", "own reading", 1, false, 5s).has_value());
  ASSERT_TRUE(box->publish_and_wait("gw/v1/orders/box-a", "own order", 1, false, 5s).has_value());
  const auto end = std::chrono::steady_clock::now() + 5s;
  while (std::chrono::steady_clock::now() < end) {
    {
      std::lock_guard lock(mu);
      if (seen.size() >= 2) break;
    }
    std::this_thread::sleep_for(20ms);
  }
  std::this_thread::sleep_for(300ms);  // anything refused would have arrived by now, in order
  std::lock_guard lock(mu);
  EXPECT_EQ(seen, (std::vector<std::string>{"gw/v1/sensors/bin-1/reading own reading", "gw/v1/orders/box-a own order"}));
  fs::remove_all(dir);
}

TEST(PrivateServices, DetachedServicesAreStoppedByStopDetached) {
  fs::path dir = fs::temp_directory_path() / fmt::format("gw-services-detach-{}", getpid());
  ServiceEndpoints e;
  {
    auto s = PrivateServices::start({.dir = dir, .postgres = false, .outlive_parent = true});
    ASSERT_TRUE(s.has_value()) << s.error().message;
    ASSERT_TRUE((*s)->detach().has_value());
    e = (*s)->endpoints();
  }
  EXPECT_TRUE(wait_for_tcp(e.mqtt_port, 1s)) << "detached broker died with its owner";
  auto state = PrivateServices::read_state(dir);
  ASSERT_TRUE(state.has_value());
  EXPECT_EQ(state->mqtt_url, e.mqtt_url);
  ASSERT_TRUE(PrivateServices::stop_detached(dir).has_value());
  EXPECT_FALSE(wait_for_tcp(e.mqtt_port, 200ms));
  EXPECT_FALSE(PrivateServices::read_state(dir).has_value());
  fs::remove_all(dir);
}

}  // namespace
}  // namespace gridwatch::platform
