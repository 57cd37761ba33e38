// A center with database.read_conninfo: the map's list reads from the streaming replica, a case
// and an action's answer from the primary. A private PostgreSQL of the test's own with a
// replica (pg_basebackup -R); the replica's replay is paused to tell the two apart: a case opened
// then is on the primary only, so the map (replica) does not list it until replay resumes.
#include <unistd.h>

#include <gtest/gtest.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "gridwatch/center/center.h"
#include "gridwatch/domain/catalog.h"
#include "gridwatch/platform/services.h"
#include "center_config.h"
#include "support.h"

namespace gridwatch::testing {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

TEST(ReadReplica, TheMapReadsTheReplicaAndAnActionsAnswerThePrimary) {
  const auto dir = temp_dir("read-replica");
  auto db = platform::PrivateServices::start({.dir = dir, .mosquitto = false, .pg_replica = true});
  ASSERT_TRUE(db.has_value()) << db.error().message;
  const auto& e = (*db)->endpoints();
  ASSERT_FALSE(e.pg_replica_conninfo.empty());
  ASSERT_EQ(sql(e.pg_replica_conninfo, "SELECT pg_is_in_recovery()").at(0).at(0), "t") << "a standby";

  const std::string key = "replica-test-key-0123456789";
  center::CenterConfig cfg = center_config(fmt::format("replica-{}", getpid()), unique_prefix(), "replica", key);
  cfg.conninfo = e.pg_conninfo;
  cfg.read_conninfo = e.pg_replica_conninfo;
  center::Center center(cfg, Catalog::builtin());
  ASSERT_TRUE(center.start().has_value());
  const int port = center.http_port();
  auto get = [&](const std::string& path) { return http_request(port, "GET", path, "", kAdminToken); };
  // The replica has the schema once it has replayed the migrations.
  ASSERT_TRUE(eventually([&] { return get("/api/v1/orders").status == 200; }, 30s)) << get("/api/v1/orders").body;

  ASSERT_FALSE(sql(e.pg_replica_conninfo, "SELECT pg_wal_replay_pause()").empty());
  auto r = http_post(port, "/open311/v2/requests.json",
                     form_encode({{"api_key", key},
                                  {"service_code", "sanitation.bin_overflow"},
                                  {"lat", "39.9139"},
                                  {"long", "116.4110"},
                                  {"description", "a bin by the replica"}}));
  ASSERT_EQ(r.status, 200) << r.body;
  const std::string id = json::parse(r.body)[0]["service_request_id"];

  // The case itself and a step on it: the primary, at once.
  auto one = get(fmt::format("/api/v1/orders/{}", id));
  EXPECT_EQ(one.status, 200) << one.body;
  auto step = http_request(port, "POST", fmt::format("/api/v1/orders/{}/actions", id),
                           R"({"action":"dispatch","unit":"street-r","reason":"replica test"})", kAdminToken);
  ASSERT_EQ(step.status, 200) << step.body;
  EXPECT_EQ(json::parse(step.body).value("state", ""), "dispatched") << step.body;
  EXPECT_NE(get(fmt::format("/api/v1/orders/{}", id)).body.find("dispatched"), std::string::npos);
  // The map's list: the replica, which has not replayed the new case.
  auto map = get("/api/v1/orders");
  ASSERT_EQ(map.status, 200) << map.body;
  EXPECT_EQ(map.body.find(id), std::string::npos) << "the map read the primary: " << map.body;

  ASSERT_FALSE(sql(e.pg_replica_conninfo, "SELECT pg_wal_replay_resume()").empty());
  EXPECT_TRUE(eventually([&] { return get("/api/v1/orders").body.find(id) != std::string::npos; }, 20s))
      << "the replica caught up";
  center.stop();
  (*db)->stop();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace gridwatch::testing
