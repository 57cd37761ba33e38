// An AMQP 0-9-1 client (librabbitmq, Debian's rabbitmq-c) for a center on a RabbitMQ cluster.
//
// Agents and maps speak MQTT to RabbitMQ's MQTT plugin, which routes every MQTT topic through the
// `amq.topic` exchange with the topic as routing key, '/' made '.' (gw/v1/orders/edge-1 is
// gw.v1.orders.edge-1) and back. A '.' inside a topic level therefore becomes a level of its own
// on the way (RabbitMQ 3.10: a/b.c arrives as a/b/c): ids in topics must not contain '.'.
// This client works in MQTT terms: it takes topics and filters and converts them the plugin's
// way, so that a center sees the same topics whichever broker carries them.
//
// One connection, owned by one I/O thread: it connects to the first of `urls` that answers,
// declares what was asked (a shared durable queue with manual acknowledgements, a private queue
// for answers), consumes, sends what other threads queued (publishes, acks), and on any
// connection error starts over from the first URL with back-off. Messages of a lost connection
// are given again by the broker (to this client or another consumer of the queue): consumers
// must be idempotent. Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "gridwatch/domain/error.h"
#include "gridwatch/platform/mqtt.h"

namespace gridwatch::platform {

// amq.topic routing key for an MQTT topic or filter as the MQTT plugin makes it ('/' -> '.',
// '+' -> '*', '#' stays).
std::string mqtt_to_routing_key(std::string_view topic);
// The MQTT topic of an amq.topic routing key ('.' -> '/'), as the plugin delivers it.
std::string routing_key_to_mqtt(std::string_view key);

struct AmqpOptions {
  std::vector<std::string> urls;  // amqp://user:password@host:port[/vhost], tried in turn
  std::string client_name;        // shown by the broker (connection_name)
  std::chrono::seconds heartbeat{10};
  std::chrono::milliseconds retry_min{200}, retry_max{5000};
  size_t max_buffered = 10000;  // publishes kept while disconnected
};

// A queue to consume, bound to amq.topic with MQTT filters.
struct AmqpQueue {
  // Empty: a private queue named by the broker, deleted with the connection, auto-acknowledged
  // (nothing to lose: answers meant for this process only). Else a durable quorum queue shared
  // by every client that names it, consumed with manual acknowledgements.
  std::string name;
  std::vector<std::string> filters;  // MQTT filters
  uint16_t prefetch = 0;             // unacknowledged messages in flight (0: no limit)
};

class AmqpClient {
 public:
  // `message.delivery` is the token to ack() (0 for auto-acknowledged queues).
  using MessageHandler = std::function<void(MqttMessage message)>;

  [[nodiscard]] static Result<std::unique_ptr<AmqpClient>> create(AmqpOptions options);
  ~AmqpClient();
  AmqpClient(const AmqpClient&) = delete;
  AmqpClient& operator=(const AmqpClient&) = delete;

  // Before connect(). The handler runs on the I/O thread: hand work off, never block.
  void on_message(MessageHandler handler);
  void consume(AmqpQueue queue);

  // Starts the I/O thread and waits up to `timeout` for the first connection with everything
  // declared: kUnavailable (naming the last URL's error) when none came; the thread keeps trying.
  [[nodiscard]] Status connect(std::chrono::milliseconds timeout);
  bool connected() const;
  // Queues a publish to amq.topic with `topic`'s routing key (persistent); sent in order by the
  // I/O thread, also after a reconnect. kUnavailable when max_buffered are waiting already.
  Status publish(const std::string& topic, const std::string& payload);
  // Acknowledges deliveries (tokens from MqttMessage::delivery). Tokens of an earlier connection
  // are ignored: the broker gives those messages again.
  void ack(const std::vector<uint64_t>& deliveries);
  // Sends what is queued (up to `timeout`), closes the connection and ends the I/O thread.
  void disconnect(std::chrono::milliseconds timeout);

  struct Figures {
    uint64_t connections = 0;  // successful (re)connections
    uint64_t received = 0, acked = 0, published = 0;
  };
  Figures figures() const;

 private:
  AmqpClient() = default;
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gridwatch::platform
