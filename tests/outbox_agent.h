// An agent's delivery path as agent.cc wires it, for tests and benchmarks of delivery across
// brokers and centers: the durable outbox, its sender, and the subscription to the center's
// confirmations, on an MQTT client (with failover URLs when given). Events are new orders at
// places of their own.
#pragma once

#include <atomic>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "gridwatch/agent/outbox.h"
#include "gridwatch/domain/time.h"
#include "gridwatch/platform/mqtt.h"

namespace gridwatch::testing {

struct OutboxAgentSpec {
  std::filesystem::path dir;  // the outbox lives under it
  std::string id, prefix;
  platform::MqttOptions mqtt;  // url (and failover_urls, account); client_id is set to `id`
  bool confirm = true;
  std::chrono::milliseconds confirm_timeout{std::chrono::seconds{3}};
  double rate = 4000;  // the sender's drain rate, events/s
};

class OutboxAgent {
 public:
  // Opens the outbox, connects, subscribes to its confirmations and starts sending.
  [[nodiscard]] Status start(OutboxAgentSpec spec) {
    spec_ = std::move(spec);
    auto log = agent::open_outbox_file(spec_.dir / spec_.id / "outbox" / "log");
    if (!log) return std::unexpected(log.error());
    auto box = agent::Outbox::open(std::move(*log), {.sync = false, .confirm = spec_.confirm});
    if (!box) return std::unexpected(box.error());
    box_ = std::move(*box);
    spec_.mqtt.client_id = spec_.id;
    auto client = platform::MqttClient::create(spec_.mqtt);
    if (!client) return std::unexpected(client.error());
    mqtt_ = std::move(*client);
    mqtt_->on_message([this](platform::MqttMessage m) {
      auto keys = agent::parse_confirmation(m.payload);
      if (!keys) {
        ++bad_confirmations;
        return;
      }
      box_->confirm(*keys);
    });
    if (auto st = mqtt_->subscribe(fmt::format("{}/agents/{}/stored", spec_.prefix, spec_.id), 1); !st) return st;
    if (auto st = mqtt_->connect(std::chrono::seconds{20}); !st) return st;
    sender_ = std::make_unique<agent::OutboxSender>(*box_, *mqtt_, 200, spec_.rate, spec_.confirm_timeout);
    sender_->start();
    return {};
  }
  ~OutboxAgent() { stop(); }
  void stop() {
    if (sender_) sender_->stop();
    sender_.reset();
    if (mqtt_) (void)mqtt_->disconnect(std::chrono::seconds{1});
  }

  // Adds events [from, to), a hundred per write.
  [[nodiscard]] Status add(int from, int to) {
    std::vector<agent::Outbox::Event> chunk;
    for (int i = from; i < to; ++i) {
      chunk.push_back({fmt::format("{}/orders/{}", spec_.prefix, spec_.id), event(i), 2});
      if (chunk.size() == 100 || i + 1 == to) {
        if (auto st = box_->add_all(chunk); !st) return std::unexpected(st.error());
        chunk.clear();
        sender_->wake();
      }
    }
    return {};
  }
  // The id of event `i`; the SQL pattern of all of them.
  std::string order_id(int i) const { return fmt::format("{}.ev.{}", spec_.id, i); }
  std::string order_id_pattern() const { return spec_.id + ".ev.%"; }

  agent::Outbox& outbox() { return *box_; }
  platform::MqttClient& mqtt() { return *mqtt_; }
  std::atomic<int> bad_confirmations{0};

 private:
  std::string event(int i) const {
    std::mt19937_64 rng(std::hash<std::string>{}(spec_.id) + static_cast<uint64_t>(i));
    std::uniform_real_distribution<double> u(0, 0.2);
    return nlohmann::json({{"schema", "gw.order/1"},
                           {"event", "open"},
                           {"id", order_id(i)},
                           {"category", "general.other"},
                           {"source", {{"kind", "sensor"}, {"agent_id", spec_.id}, {"device_id", "gauge-1"}}},
                           {"location", {{"lon", 116.2 + u(rng)}, {"lat", 39.8 + u(rng)}}},
                           {"observed_at", format_rfc3339(t0_)}})
        .dump();
  }

  OutboxAgentSpec spec_;
  const Timestamp t0_ = std::chrono::floor<std::chrono::seconds>(now_utc());
  std::unique_ptr<agent::Outbox> box_;
  std::unique_ptr<platform::MqttClient> mqtt_;
  std::unique_ptr<agent::OutboxSender> sender_;
};

}  // namespace gridwatch::testing
