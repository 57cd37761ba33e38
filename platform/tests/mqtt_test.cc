// The MQTT client against a peer that accepts the TCP connection and never answers (a broker
// hung in a TLS handshake, say): connect() gives up at its deadline with a clear error, and the
// client can be destroyed while Paho is still trying.
#include "gridwatch/platform/amqp.h"
#include "gridwatch/platform/mqtt.h"
#include "gridwatch/platform/services.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include <fmt/format.h>

namespace gridwatch::platform {
namespace {

// RabbitMQ 3.10's MQTT plugin binds a subscription to a/b.c/+ with key a.b.c.* (seen with
// rabbitmqctl list_bindings): '/' becomes '.', a '.' stays, so it comes back as a level.
TEST(AmqpRoutingKey, TheMqttPluginsConversion) {
  EXPECT_EQ(mqtt_to_routing_key("gw/v1/orders/edge-1"), "gw.v1.orders.edge-1");
  EXPECT_EQ(mqtt_to_routing_key("gw/v1/agents/+/clips/+/#"), "gw.v1.agents.*.clips.*.#");
  EXPECT_EQ(mqtt_to_routing_key("a/b.c/+"), "a.b.c.*");
  EXPECT_EQ(routing_key_to_mqtt("gw.v1.agents.edge-2.stored"), "gw/v1/agents/edge-2/stored");
  EXPECT_EQ(routing_key_to_mqtt(mqtt_to_routing_key("a/b.c/d")), "a/b/c/d") << "a '.' in a level does not survive";
}

TEST(MqttClient, ABrokerThatNeverAnswersFailsConnectAndTheClientCanStillBeDestroyed) {
  // A listening socket nobody accepts from: the kernel completes the handshake, nothing replies.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(fd, 4), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const int port = ntohs(addr.sin_port);
  for (int i = 0; i < 3; ++i) {
    auto c = MqttClient::create({.url = fmt::format("tcp://127.0.0.1:{}", port), .client_id = fmt::format("t-hung-{}", i)});
    ASSERT_TRUE(c.has_value());
    auto st = (*c)->connect(std::chrono::milliseconds{300});
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().code, ErrorCode::kUnavailable);
    EXPECT_NE(st.error().message.find(fmt::format("cannot connect to MQTT broker tcp://127.0.0.1:{}", port)),
              std::string::npos)
        << st.error().message;
    // Destroyed while its connect is still in progress: no exception may escape.
  }
  ::close(fd);
}

}  // namespace
}  // namespace gridwatch::platform

namespace gridwatch::platform {
namespace {

using namespace std::chrono_literals;

// A broker (Mosquitto with its dynamic-security plugin) that lets the account subscribe to a/#
// only. It answers a refused filter with SUBACK 0x80: connect() and subscribe() report it as
// kDenied naming the filter, and the granted filter still delivers.
TEST(MqttClient, ARefusedSubscriptionIsAnErrorNamingTheFilter) {
  const auto dir = std::filesystem::temp_directory_path() / fmt::format("gw-mqtt-suback-{}", getpid());
  auto broker = PrivateServices::start({.dir = dir,
                                        .postgres = false,
                                        .mqtt_accounts = {{"reader", "reader-pw-0123"}, {"writer", "writer-pw-0123"}},
                                        .mqtt_dynsec = true,
                                        .mqtt_dynsec_acls = {{"reader", "subscribePattern", "a/#"},
                                                             {"writer", "publishClientSend", "#"}}});
  ASSERT_TRUE(broker.has_value()) << broker.error().message;
  const std::string url = (*broker)->endpoints().mqtt_url;
  auto client = [&](const std::string& user, const std::string& id) {
    return std::move(*MqttClient::create({.url = url, .client_id = id, .username = user, .password = user + "-pw-0123"}));
  };

  auto reader = client("reader", "t-reader");
  std::atomic<int> received{0};
  reader->on_message([&](MqttMessage) { ++received; });
  ASSERT_TRUE(reader->subscribe("a/#", 1).has_value()) << "before connect: remembered";
  ASSERT_TRUE(reader->subscribe("b/#", 1).has_value());
  EXPECT_EQ(reader->subscription_status().error().code, ErrorCode::kUnavailable) << "not connected yet";
  auto st = reader->connect(5s);
  ASSERT_FALSE(st.has_value()) << "a refused subscription is not a clean connect";
  EXPECT_EQ(st.error().code, ErrorCode::kDenied);
  EXPECT_EQ(st.error().message, "MQTT: the broker refused the subscription to b/# (SUBACK 0x80)");
  EXPECT_TRUE(reader->connected()) << "the connection itself stands";
  const Status status = reader->subscription_status();
  ASSERT_FALSE(status.has_value());
  EXPECT_EQ(status.error().code, ErrorCode::kDenied);
  EXPECT_NE(status.error().message.find("b/#"), std::string::npos);
  EXPECT_EQ(status.error().message.find("a/#"), std::string::npos) << "a/# was granted";

  // While connected, subscribe() waits for the broker's answer.
  auto more = reader->subscribe("c/d", 1);
  ASSERT_FALSE(more.has_value());
  EXPECT_EQ(more.error().code, ErrorCode::kDenied);
  EXPECT_NE(more.error().message.find("subscription to c/d"), std::string::npos) << more.error().message;
  EXPECT_TRUE(reader->subscribe("a/e", 1).has_value());

  // The granted filter delivers; the refused one does not.
  auto writer = client("writer", "t-writer");
  ASSERT_TRUE(writer->connect(5s).has_value());
  EXPECT_TRUE(writer->subscription_status().has_value()) << "no subscriptions: nothing refused";
  ASSERT_TRUE(writer->publish_and_wait("b/1", "refused", 1, false, 5s).has_value());
  ASSERT_TRUE(writer->publish_and_wait("a/1", "granted", 1, false, 5s).has_value());
  const auto end = std::chrono::steady_clock::now() + 5s;
  while (received.load() < 1 && std::chrono::steady_clock::now() < end) std::this_thread::sleep_for(20ms);
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(received.load(), 1);
  writer.reset();
  reader.reset();
  (*broker)->stop();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace gridwatch::platform
