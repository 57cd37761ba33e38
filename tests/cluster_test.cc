// Cluster mode on a real RabbitMQ cluster: three nodes of Debian's rabbitmq-server started by the
// test (platform::RabbitCluster, once for all tests of this program), agents speaking MQTT to its
// nodes with failover, centers consuming the quorum queue over AMQP, one PostGIS database.
// - two centers share the stream: each stores part of it, no event twice, no case twice;
// - kill -9 of the node holding the queue's leader during a 10,000-event stream from three
//   agents: nothing lost, nothing stored twice, the agents on that node carry on on another;
// - a center killed mid-batch: the messages it took and had not acknowledged go to the other
//   center (the agents forget their events at the broker's PUBACK here, so nothing else could
//   bring them back).
#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>

#include <memory>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "gridwatch/center/center.h"
#include "gridwatch/domain/catalog.h"
#include "gridwatch/domain/time.h"
#include "gridwatch/platform/rabbitmq.h"
#include "center_config.h"
#include "center_under_test.h"
#include "outbox_agent.h"
#include "support.h"

namespace gridwatch::testing {
namespace {

using namespace std::chrono_literals;

platform::RabbitCluster* g_cluster = nullptr;

class ClusterEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    spdlog::set_level(spdlog::level::warn);  // not a line per stored order
    dir_ = temp_dir("rabbitmq-cluster");
    auto c = platform::RabbitCluster::start({.dir = dir_, .nodes = 3, .boot_timeout = 180s});
    ASSERT_TRUE(c.has_value()) << c.error().message;
    cluster_ = std::move(*c);
    g_cluster = cluster_.get();
  }
  void TearDown() override {
    g_cluster = nullptr;
    cluster_.reset();
    std::filesystem::remove_all(dir_);
  }

 private:
  std::filesystem::path dir_;
  std::unique_ptr<platform::RabbitCluster> cluster_;
};

const auto* const kEnvironment = ::testing::AddGlobalTestEnvironment(new ClusterEnvironment);

class Cluster : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NE(g_cluster, nullptr) << "the RabbitMQ cluster did not start";
    // A node an earlier test killed comes back first (not at that test's end: the last test
    // that kills one leaves the restart to no one).
    for (size_t i = 0; i < g_cluster->nodes().size(); ++i) {
      auto st = g_cluster->restart(i);
      ASSERT_TRUE(st.has_value()) << st.error().message;
    }
    svc_ = services();
    dir_ = temp_dir("cluster");
    prefix_ = unique_prefix();
    group_ = fmt::format("g{}x{}", getpid(), groups_++);
  }
  void TearDown() override {
    agents_.clear();
    centers_.clear();
    std::filesystem::remove_all(dir_);
  }

  // The nodes' URLs of one kind, starting at node `first`.
  std::vector<std::string> urls(size_t first, bool amqp) const {
    std::vector<std::string> out;
    const auto& nodes = g_cluster->nodes();
    for (size_t k = 0; k < nodes.size(); ++k) {
      const auto& n = nodes[(first + k) % nodes.size()];
      out.push_back(amqp ? platform::amqp_address(n) : n.mqtt_url);
    }
    return out;
  }
  center::CenterConfig config(const std::string& id, size_t node) const {
    center::CenterConfig cfg = center_config(id, prefix_, "cluster", "cluster-test-key-0123456789");
    cfg.broker_kind = center::CenterConfig::BrokerKind::kRabbitmq;
    auto u = urls(node, true);
    cfg.broker_url = u.front();
    cfg.broker_failover_urls.assign(u.begin() + 1, u.end());
    cfg.username.clear();
    cfg.password.clear();
    cfg.share_group = group_;
    return cfg;
  }
  center::Center& start_center(const std::string& id, size_t node) {
    centers_.push_back(std::make_unique<center::Center>(config(id, node), Catalog::builtin()));
    auto st = centers_.back()->start();
    EXPECT_TRUE(st.has_value()) << st.error().message;
    return *centers_.back();
  }
  OutboxAgent& start_agent(const std::string& id, size_t node, bool confirm) {
    auto u = urls(node, false);
    platform::MqttOptions mqtt;
    mqtt.url = u.front();
    mqtt.failover_urls.assign(u.begin() + 1, u.end());
    agents_.push_back(std::make_unique<OutboxAgent>());
    auto st = agents_.back()->start({.dir = dir_, .id = fmt::format("{}-{}", id, getpid()), .prefix = prefix_,
                                     .mqtt = mqtt, .confirm = confirm});
    if (!st) throw std::runtime_error("agent: " + st.error().message);  // fails the test
    return *agents_.back();
  }
  // Order events of `agent` stored: (rows, distinct orders, cases opened by them).
  struct Stored {
    int rows = -1, orders = -1, cases = -1;
  };
  Stored stored(const OutboxAgent& a) {
    auto r = sql(svc_.pg_conninfo,
                 "SELECT count(*), count(DISTINCT order_id), count(DISTINCT case_id) FROM order_events e "
                 "JOIN sources s ON s.id = e.order_id WHERE e.order_id LIKE $1",
                 {a.order_id_pattern()});
    if (r.empty()) return {};
    return {std::stoi(r[0][0]), std::stoi(r[0][1]), std::stoi(r[0][2])};
  }
  int stored_total() {
    int n = 0;
    for (const auto& a : agents_) n += stored(*a).orders;
    return n;
  }
  std::string describe() {
    std::string out;
    for (const auto& a : agents_) {
      const Stored s = stored(*a);
      const auto os = a->outbox().stats();
      out += fmt::format("[stored {} rows / {} orders / {} cases; outbox pending {} unconfirmed {} resent {}] ", s.rows,
                         s.orders, s.cases, os.pending, os.unconfirmed, os.resent);
    }
    for (const auto& c : centers_) out += fmt::format("[center stored {} duplicates {}] ", c->metrics().stored.load(),
                                                      c->metrics().duplicates.load());
    return out;
  }

  static inline int groups_ = 0;
  platform::ServiceEndpoints svc_;
  std::filesystem::path dir_;
  std::string prefix_, group_;
  std::vector<std::unique_ptr<center::Center>> centers_;
  std::vector<std::unique_ptr<OutboxAgent>> agents_;
};

TEST_F(Cluster, TwoCentersShareTheStreamAndStoreEachEventOnce) {
  constexpr int kEvents = 2'000;
  center::Center& a = start_center(fmt::format("share-a-{}", getpid()), 0);
  center::Center& b = start_center(fmt::format("share-b-{}", getpid()), 1);
  OutboxAgent& agent = start_agent("share-agent", 2, /*confirm=*/true);
  ASSERT_TRUE(agent.add(0, kEvents).has_value());
  ASSERT_TRUE(eventually([&] { return stored(agent).orders == kEvents && agent.outbox().stats().pending == 0; }, 120s))
      << describe();
  const Stored s = stored(agent);
  EXPECT_EQ(s.rows, kEvents) << "each event stored once";
  EXPECT_EQ(s.cases, kEvents) << "each event its own case, none twice";
  EXPECT_GT(a.metrics().stored.load(), 0u) << describe();
  EXPECT_GT(b.metrics().stored.load(), 0u) << describe();
  EXPECT_EQ(a.metrics().stored.load() + b.metrics().stored.load(), static_cast<uint64_t>(kEvents)) << describe();
  EXPECT_EQ(agent.bad_confirmations.load(), 0);
}

TEST_F(Cluster, ACenterKilledMidBatchLeavesItsMessagesToTheOther) {
  constexpr int kEvents = 3'000;
  // The center to kill is a process of its own; the other runs here.
  CenterUnderTest victim(dir_, {.id = fmt::format("victim-{}", getpid()),
                                .prefix = prefix_,
                                .broker = fmt::format("  kind: rabbitmq\n  url: {}\n  share_group: {}\n",
                                                      platform::amqp_address(g_cluster->nodes()[0]), group_)});
  ASSERT_TRUE(victim.start()) << victim.log();
  center::Center& survivor = start_center(fmt::format("survivor-{}", getpid()), 1);
  // Forgets at the PUBACK: what the victim took is only in the broker's hands.
  OutboxAgent& agent = start_agent("victim-agent", 2, /*confirm=*/false);
  ASSERT_TRUE(agent.add(0, kEvents).has_value());
  ASSERT_TRUE(eventually([&] { return stored(agent).orders >= kEvents / 10; }, 120s)) << describe();
  ::kill(victim.process().pid(), SIGKILL);
  victim.process().wait(10s);
  ASSERT_TRUE(eventually([&] { return stored(agent).orders == kEvents; }, 120s)) << describe() << victim.log();
  EXPECT_EQ(stored(agent).rows, kEvents) << describe();
  EXPECT_EQ(agent.outbox().stats().pending, 0u);
  EXPECT_GT(survivor.metrics().stored.load(), 0u) << describe();
}

// What goes out of a center crosses the cluster as it crosses Mosquitto: a clip request reaches
// the agent on another node and its answer comes back (the center's private queue); a
// dispatcher's step reaches a map subscribed on a third node.
TEST_F(Cluster, ClipRequestsAndCaseUpdatesCrossTheClusterAsOnMosquitto) {
  center::Center& c = start_center(fmt::format("out-{}", getpid()), 0);
  const std::string agent = fmt::format("clip-agent-{}", getpid());
  const auto& nodes = g_cluster->nodes();
  auto edge = platform::MqttClient::create({.url = nodes[1].mqtt_url, .client_id = agent});
  ASSERT_TRUE(edge.has_value());
  std::atomic<int> requests{0};
  platform::MqttClient* e = edge->get();
  (*edge)->on_message([&, e](platform::MqttMessage m) {
    const auto req = nlohmann::json::parse(m.payload, nullptr, false);
    if (!req.is_object() || req.value("clip", "") != "street-1.mp4") return;
    ++requests;
    (void)e->publish(fmt::format("{}/agents/{}/clips/{}", prefix_, agent, req.value("request_id", "")), "CLIP-BYTES", 1, false);
  });
  ASSERT_TRUE((*edge)->subscribe(fmt::format("{}/agents/{}/clips/get", prefix_, agent), 1).has_value());
  ASSERT_TRUE((*edge)->connect(30s).has_value());
  std::atomic<int> updates{0};
  auto map = platform::MqttClient::create({.url = nodes[2].mqtt_url, .client_id = fmt::format("map-{}", getpid())});
  ASSERT_TRUE(map.has_value());
  (*map)->on_message([&](platform::MqttMessage m) {
    if (m.payload.find("dispatched") != std::string::npos) ++updates;
  });
  ASSERT_TRUE((*map)->subscribe(fmt::format("{}/center/orders/#", prefix_), 1).has_value());
  ASSERT_TRUE((*map)->connect(30s).has_value());

  const std::string id = agent + ".parked.street:no_parking.20261203T080000Z";
  const nlohmann::json order = {
      {"schema", "gw.order/1"}, {"event", "open"}, {"id", id}, {"category", "traffic.illegal_parking"},
      {"source", {{"kind", "camera"}, {"agent_id", agent}}},
      {"location", {{"lon", 117.50 + (getpid() % 1000) * 1e-4}, {"lat", 40.60}}},
      {"observed_at", format_rfc3339(now_utc())},
      {"evidence", {{"clip", {{"agent_id", agent}, {"camera", "street"}, {"name", "street-1.mp4"}, {"codec", "h264"}}}}}};
  ASSERT_TRUE((*edge)->publish_and_wait(fmt::format("{}/orders/{}", prefix_, agent), order.dump(), 1, false, 10s).has_value());
  const int port = c.http_port();
  ASSERT_TRUE(eventually([&] { return http_request(port, "GET", "/api/v1/orders/" + id, "", kAdminToken).status == 200; }, 20s));
  const auto clip = http_request(port, "GET", fmt::format("/api/v1/orders/{}/clip", id), "", kAdminToken);
  EXPECT_EQ(clip.status, 200) << clip.body;
  EXPECT_EQ(clip.body, "CLIP-BYTES");
  EXPECT_EQ(requests.load(), 1);
  const auto step = http_request(port, "POST", fmt::format("/api/v1/orders/{}/actions", id),
                                 R"({"action":"dispatch","unit":"street-c","reason":"cluster"})", kAdminToken);
  ASSERT_EQ(step.status, 200) << step.body;
  EXPECT_TRUE(eventually([&] { return updates.load() >= 1; }, 10s)) << "the map on node 3 got the step";
  (*edge)->disconnect(1s);
  (*map)->disconnect(1s);
}

// Last of the tests that share the cluster: the node it kills is restarted by the next test's
// SetUp, and there is none (RabbitMQ 3.10's MQTT plugin tracks client ids in a Raft group whose
// re-election on a busy machine can hold a restarted node's boot for minutes).
TEST_F(Cluster, KillingTheNodeThatLeadsTheQueueLosesNothingAndDuplicatesNothing) {
  constexpr int kPerAgent = 3'334;  // three agents: 10,002 events
  start_center(fmt::format("kill-a-{}", getpid()), 0);
  start_center(fmt::format("kill-b-{}", getpid()), 1);
  const std::string queue = group_ + "-orders";  // the group's quorum queue (docs/operations.md)
  Result<size_t> leader = fail(ErrorCode::kNotFound, "not asked yet");
  // The queue is declared as the centers connect; rabbitmqctl is slow to start on a busy machine.
  eventually([&] { return (leader = g_cluster->queue_leader(queue)).has_value(); }, 60s);
  ASSERT_TRUE(leader.has_value()) << leader.error().message;
  // One agent on each node, the leader's among them.
  for (size_t n = 0; n < 3; ++n) start_agent(fmt::format("kill-agent{}", n), n, /*confirm=*/true);
  std::vector<std::thread> feeders;
  for (auto& a : agents_) feeders.emplace_back([&a] { EXPECT_TRUE(a->add(0, kPerAgent).has_value()); });
  for (auto& t : feeders) t.join();
  ASSERT_TRUE(eventually([&] { return stored_total() >= kPerAgent; }, 120s)) << describe();
  ASSERT_LT(stored_total(), 3 * kPerAgent) << "the stream must still be flowing when the node dies";
  g_cluster->kill(*leader);
  ASSERT_TRUE(eventually(
      [&] {
        for (auto& a : agents_)
          if (stored(*a).orders != kPerAgent || a->outbox().stats().pending != 0) return false;
        return true;
      },
      240s))
      << describe();
  for (auto& a : agents_) {
    const Stored s = stored(*a);
    EXPECT_EQ(s.rows, kPerAgent) << "stored once: " << describe();
    EXPECT_EQ(s.cases, kPerAgent) << "no case twice: " << describe();
    EXPECT_TRUE(a->mqtt().connected()) << "every agent is on a live node";
    EXPECT_EQ(a->outbox().stats().dropped, 0u);
  }
  auto new_leader = g_cluster->queue_leader(queue, (*leader + 1) % 3);
  ASSERT_TRUE(new_leader.has_value()) << new_leader.error().message;
  EXPECT_NE(*new_leader, *leader) << "another node leads the queue";
}

// The command the tests' fixtures and `demo --cluster` use: every node's URLs in its JSON, and
// `services down` leaves no process and no data behind.
TEST(ClusterServices, UpPrintsEveryNodeAndDownLeavesNothing) {
  const auto dir = temp_dir("cluster-services");
  // Whatever happens below, what `up` started is stopped (the nodes outlive `up` by design).
  struct Down {
    std::filesystem::path dir;
    ~Down() {
      if (std::filesystem::exists(dir / "services.json")) run_gridwatch({"services", "down", "--dir", dir.string()});
    }
  } down_at_end{dir};
  // Two nodes boot in ~20 s alone, minutes on a machine busy with other tests.
  auto [code, out] = run_gridwatch({"services", "up", "--dir", dir.string(), "--broker", "rabbitmq", "--nodes", "2",
                                    "--no-postgres"},
                                   300s);
  ASSERT_EQ(code, 0) << out;
  const auto json_line = out.substr(out.find("{\""));
  auto j = nlohmann::json::parse(json_line.substr(0, json_line.find('\n')), nullptr, false);
  ASSERT_TRUE(j.is_object()) << out;
  EXPECT_EQ(j.value("broker", ""), "rabbitmq");
  ASSERT_EQ(j["nodes"].size(), 2u) << out;
  std::vector<int> ports;
  for (const auto& n : j["nodes"]) {
    for (const char* key : {"amqp_url", "mqtt_url"}) {
      const std::string url = n.value(key, "");
      ASSERT_FALSE(url.empty()) << key;
      ports.push_back(std::stoi(url.substr(url.rfind(':') + 1)));
      EXPECT_TRUE(platform::wait_for_tcp(ports.back(), 5s)) << url;
    }
  }
  EXPECT_EQ(j["mqtt_url"], j["nodes"][0]["mqtt_url"]);
  auto state = nlohmann::json::parse(read_file(dir / "services.json"), nullptr, false);
  ASSERT_TRUE(state.contains("rabbitmq")) << state.dump();
  const auto pids = state["rabbitmq"]["node_pids"];
  const std::string data = state["rabbitmq"].value("data", "");
  ASSERT_FALSE(data.empty());
  EXPECT_TRUE(std::filesystem::exists(data));

  auto [down, down_out] = run_gridwatch({"services", "down", "--dir", dir.string()});
  EXPECT_EQ(down, 0) << down_out;
  for (const auto& p : pids) {
    const std::string stat = read_file(fmt::format("/proc/{}/stat", p.get<int>()));
    EXPECT_TRUE(stat.empty() || stat.find(") Z ") != std::string::npos) << "node " << p << " still runs: " << stat;
  }
  for (int port : ports) EXPECT_FALSE(platform::wait_for_tcp(port, 200ms)) << "port " << port << " still open";
  EXPECT_FALSE(std::filesystem::exists(data)) << data;
  EXPECT_FALSE(std::filesystem::exists(dir / "services.json"));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace gridwatch::testing
