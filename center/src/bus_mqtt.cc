#include "bus.h"

// The center's broker connection on Mosquitto (or any MQTT 3.1.1/5 broker with $share).
#include <fmt/format.h>

namespace gridwatch::center {
namespace {

class MqttBus final : public Bus {
 public:
  MqttBus(const CenterConfig& config, std::unique_ptr<platform::MqttClient> client)
      : config_(config), client_(std::move(client)) {}

  Status start(Handler on_order, Handler on_clip, std::chrono::milliseconds timeout) override {
    const std::string clips_head = config_.topic_prefix + "/agents/";
    client_->on_message([clips_head, on_order = std::move(on_order), on_clip = std::move(on_clip)](platform::MqttMessage m) {
      if (m.topic.starts_with(clips_head)) return on_clip(std::move(m));
      on_order(std::move(m));
    });
    // The shared order stream, and the answers to this center's clip requests (not shared: the
    // request ids are this center's).
    for (const auto& filter : {fmt::format("$share/{}/{}/orders/#", config_.share_group, config_.topic_prefix),
                               fmt::format("{}/agents/+/clips/+/#", config_.topic_prefix)})
      if (auto st = client_->subscribe(filter, 1); !st) return st;
    return client_->connect(timeout);
  }
  Status publish(const std::string& topic, const std::string& payload) override {
    return client_->publish(topic, payload, 1, false);
  }
  void settle(const std::vector<uint64_t>&) override {}  // MQTT acknowledged them on receipt
  bool connected() const override { return client_->connected(); }
  Status subscription_status() const override { return client_->subscription_status(); }
  void stop(std::chrono::milliseconds timeout) override { client_->disconnect(timeout); }

 private:
  const CenterConfig& config_;
  std::unique_ptr<platform::MqttClient> client_;
};

}  // namespace

Result<std::unique_ptr<Bus>> make_mqtt_bus(const CenterConfig& config) {
  platform::MqttOptions o;
  o.url = config.broker_url;
  o.failover_urls = config.broker_failover_urls;
  o.client_id = fmt::format("gw-center-{}", config.id);
  // A persistent session: QoS 1 orders published while the center is down wait in the broker.
  o.clean_session = false;
  o.username = config.username;
  o.password = config.password;
  o.ca_file = config.broker_tls.ca_file;
  o.cert_file = config.broker_tls.cert_file;
  o.key_file = config.broker_tls.key_file;
  o.max_buffered = config.max_buffered;
  auto client = platform::MqttClient::create(o);
  if (!client) return std::unexpected(client.error());
  return std::make_unique<MqttBus>(config, std::move(*client));
}

}  // namespace gridwatch::center
