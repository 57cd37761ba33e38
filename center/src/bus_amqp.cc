#include "bus.h"

// The center's broker connection on a RabbitMQ cluster: AMQP 0-9-1, the order stream a quorum
// queue shared by every center of the group, acknowledged after the batch is kept.
#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "gridwatch/platform/amqp.h"

namespace gridwatch::center {
namespace {

std::string percent_encoded(std::string_view s) {
  std::string out;
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '_' || c == '.' || c == '~') out += c;
    else out += fmt::format("%{:02X}", u);
  }
  return out;
}

// amqp://host... with the configured account (RabbitMQ's guest when there is none).
std::string with_account(const std::string& url, const CenterConfig& config) {
  const std::string user = config.username.empty() ? "guest" : config.username;
  const std::string password = config.username.empty() ? "guest" : config.password;
  return fmt::format("amqp://{}:{}@{}", percent_encoded(user), percent_encoded(password),
                     url.substr(std::string_view("amqp://").size()));
}

class AmqpBus final : public Bus {
 public:
  explicit AmqpBus(std::unique_ptr<platform::AmqpClient> client) : client_(std::move(client)) {}

  Status start(Handler on_order, Handler on_clip, std::chrono::milliseconds timeout) override {
    // Deliveries of the shared queue carry a token to acknowledge; the private queue's do not.
    client_->on_message([on_order = std::move(on_order), on_clip = std::move(on_clip)](platform::MqttMessage m) {
      if (m.delivery != 0) return on_order(std::move(m));
      on_clip(std::move(m));
    });
    return client_->connect(timeout);
  }
  Status publish(const std::string& topic, const std::string& payload) override {
    return client_->publish(topic, payload);
  }
  void settle(const std::vector<uint64_t>& deliveries) override { client_->ack(deliveries); }
  bool connected() const override { return client_->connected(); }
  Status subscription_status() const override {
    if (client_->connected()) return {};
    return fail(ErrorCode::kUnavailable, "not connected to the broker");
  }
  void stop(std::chrono::milliseconds timeout) override { client_->disconnect(timeout); }

 private:
  std::unique_ptr<platform::AmqpClient> client_;
};

}  // namespace

std::string order_queue_name(const CenterConfig& config) { return config.share_group + "-orders"; }

Result<std::unique_ptr<Bus>> make_amqp_bus(const CenterConfig& config) {
  platform::AmqpOptions o;
  o.urls.push_back(with_account(config.broker_url, config));
  for (const std::string& u : config.broker_failover_urls) o.urls.push_back(with_account(u, config));
  o.client_name = fmt::format("gw-center-{}", config.id);
  o.max_buffered = static_cast<size_t>(config.max_buffered);
  auto client = platform::AmqpClient::create(o);
  if (!client) return std::unexpected(client.error());
  // Two ingest batches in flight (one being stored while the next arrives), never more than the
  // ingest queue holds: a message that found the queue full would wait unacknowledged.
  const auto prefetch = static_cast<uint16_t>(std::min<size_t>({1000, config.max_queue, 65535}));
  (*client)->consume({.name = order_queue_name(config),
                      .filters = {fmt::format("{}/orders/#", config.topic_prefix)},
                      .prefetch = prefetch});
  (*client)->consume({.name = "", .filters = {fmt::format("{}/agents/+/clips/+/#", config.topic_prefix)}});
  return std::make_unique<AmqpBus>(std::move(*client));
}

}  // namespace gridwatch::center
