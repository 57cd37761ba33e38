// An agent's broker connection with other nodes to fail over to (broker.failover_urls): two
// Mosquittos of the test's own stand for two nodes of a cluster. The client connects to the
// second when the first is not there, and moves to the other when the one it is on dies.
#include <gtest/gtest.h>

#include <unistd.h>

#include <atomic>
#include <memory>

#include <fmt/format.h>

#include "gridwatch/platform/mqtt.h"
#include "private_broker.h"
#include "support.h"

namespace gridwatch::testing {
namespace {

using namespace std::chrono_literals;

// A subscriber on one node, counting what arrives on "t/failover".
struct Counter {
  explicit Counter(const std::string& url, const std::string& id) {
    auto c = platform::MqttClient::create({.url = url, .client_id = id});
    EXPECT_TRUE(c.has_value());
    client = std::move(*c);
    client->on_message([this](platform::MqttMessage) { ++got; });
    EXPECT_TRUE(client->subscribe("t/failover", 1).has_value());
    EXPECT_TRUE(client->connect(10s).has_value());
  }
  std::unique_ptr<platform::MqttClient> client;
  std::atomic<int> got{0};
};

TEST(BrokerFailover, TheClientUsesTheNextNodeWhenOneIsDownAndMovesWhenItsNodeDies) {
  const auto dir = temp_dir("failover");
  std::filesystem::create_directories(dir / "a");
  std::filesystem::create_directories(dir / "b");
  PrivateBroker a(dir / "a", *platform::free_tcp_port()), b(dir / "b", *platform::free_tcp_port());
  b.start();  // node a is down at first

  auto agent = platform::MqttClient::create(
      {.url = a.url(), .failover_urls = {b.url()}, .client_id = fmt::format("t-failover-{}", getpid())});
  ASSERT_TRUE(agent.has_value());
  ASSERT_TRUE((*agent)->connect(20s).has_value()) << "node b, after a refused";
  Counter on_b(b.url(), "t-count-b");
  ASSERT_TRUE((*agent)->publish("t/failover", "one", 1, false).has_value());
  ASSERT_TRUE(eventually([&] { return on_b.got.load() == 1; }, 10s));

  // Node a comes up, node b dies: the client reconnects, to a.
  a.start();
  Counter on_a(a.url(), "t-count-a");
  on_b.client.reset();
  b.kill();
  ASSERT_TRUE(eventually([&] {
    (void)(*agent)->publish("t/failover", "two", 1, false);
    return on_a.got.load() >= 1;
  }, 60s)) << "the client reconnected, to node a";
  (void)(*agent)->disconnect(1s);
  on_a.client.reset();
  a.stop();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace gridwatch::testing
