// The center's broker connection (internal): the shared order stream and the answers to this
// center's clip requests come in; case updates, clip requests and the agents' `stored`
// confirmations go out, all in MQTT topics whichever broker carries them.
//
// Mosquitto: one MQTT client, the order stream a shared subscription ($share/{group}/...), the
// broker forgets a message when the client has it. RabbitMQ: one AMQP client, the order stream the
// quorum queue "{group}-orders", a message acknowledged only when settle() says it is kept
// (stored, a duplicate, or a dead letter), so that a center that dies mid-batch loses nothing:
// the broker gives its messages to another center.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "gridwatch/center/config.h"
#include "gridwatch/domain/error.h"
#include "gridwatch/platform/mqtt.h"

namespace gridwatch::center {

class Bus {
 public:
  // Run on the client's thread: hand work off, never block.
  using Handler = std::function<void(platform::MqttMessage)>;
  virtual ~Bus() = default;

  // Subscribes (order messages to `on_order`, clip answers to `on_clip`) and connects, waiting up
  // to `timeout` for the first connection. kDenied when the broker refused a subscription (the
  // center stays up without the edge's orders); kUnavailable when no broker answered.
  [[nodiscard]] virtual Status start(Handler on_order, Handler on_clip, std::chrono::milliseconds timeout) = 0;
  // QoS 1 (MQTT) or persistent (AMQP); queued while the broker is away, up to broker.max_buffered.
  [[nodiscard]] virtual Status publish(const std::string& topic, const std::string& payload) = 0;
  // These order messages (their MqttMessage::delivery) are kept: the broker may forget them.
  virtual void settle(const std::vector<uint64_t>& deliveries) = 0;
  virtual bool connected() const = 0;
  // The broker's answer to the subscriptions (ok: all granted).
  virtual Status subscription_status() const = 0;
  virtual void stop(std::chrono::milliseconds timeout) = 0;
};

[[nodiscard]] Result<std::unique_ptr<Bus>> make_mqtt_bus(const CenterConfig& config);
[[nodiscard]] Result<std::unique_ptr<Bus>> make_amqp_bus(const CenterConfig& config);

// The quorum queue of the order stream with broker.kind rabbitmq.
std::string order_queue_name(const CenterConfig& config);

}  // namespace gridwatch::center
