#include "gridwatch/center/center.h"

// The center's wiring: start and stop its parts (store, MQTT, ingest, HTTP, SLA checks).
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "http/server.h"

namespace gridwatch::center {

Center::Center(CenterConfig config, const Catalog& catalog, std::shared_ptr<const geo::AreaIndex> areas)
    : config_(std::move(config)), catalog_(catalog), auth_(config_.tokens),
      areas_(std::move(areas)), queue_(config_.max_queue) {}

Center::~Center() { stop(); }

size_t Center::queue_depth() const { return queue_.size(); }

Status Center::start(std::chrono::milliseconds connect_timeout) {
  auto store = Store::open(config_.conninfo, config_.pool_size, catalog_);
  if (!store) return std::unexpected(store.error());
  store_ = std::move(*store);
  if (auto st = store_->migrate(); !st) return st;
  if (auto st = load_areas(); !st) return st;
  if (!config_.web.buildings.empty()) {
    auto b = load_buildings(config_.web.buildings);
    if (!b) return std::unexpected(b.error());
    buildings_ = std::move(*b);
    spdlog::info("building registry {}: {} buildings", config_.web.buildings.string(), buildings_.size());
  }

  platform::MqttOptions o;
  o.url = config_.broker_url;
  o.client_id = fmt::format("gw-center-{}", config_.id);
  // A persistent session: QoS 1 orders published while the center is down wait in the broker.
  o.clean_session = false;
  o.username = config_.username;
  o.password = config_.password;
  o.ca_file = config_.broker_tls.ca_file;
  o.cert_file = config_.broker_tls.cert_file;
  o.key_file = config_.broker_tls.key_file;
  o.max_buffered = config_.max_buffered;
  auto client = platform::MqttClient::create(o);
  if (!client) return std::unexpected(client.error());
  mqtt_ = std::move(*client);
  const std::string clips_head = config_.topic_prefix + "/agents/";
  mqtt_->on_message([this, clips_head](platform::MqttMessage m) {
    // Paho's thread: hand over, never block.
    if (m.topic.rfind(clips_head, 0) == 0) return clip_reply(m);
    if (!queue_.try_push(m)) {
      ++metrics_.received;
      metrics_.rejected(Error{ErrorCode::kUnavailable, "ingest queue full", "queue"});
      spdlog::error("ingest queue full ({} messages): message on {} dropped", queue_.capacity(),
                    m.topic);
    }
  });
  // The shared order stream, and the answers to this center's clip requests (not shared: the
  // request ids are this center's).
  for (const auto& filter : {fmt::format("$share/{}/{}/orders/#", config_.share_group, config_.topic_prefix),
                             fmt::format("{}/agents/+/clips/+/#", config_.topic_prefix)})
    if (auto st = mqtt_->subscribe(filter, 1); !st) return st;
  ingest_thread_ = std::thread([this] { ingest_loop(); });
  if (auto st = mqtt_->connect(connect_timeout); !st) {
    // A refused subscription (the broker's ACL) leaves the center up for Open311, the map and
    // the API; /healthz and /metrics say so until a reconnect is granted.
    if (st.error().code != ErrorCode::kDenied) return st;
    spdlog::error("center: {}; orders from the edge will not arrive", st.error().message);
  }

  setup_http();
  auto port = http_->listen(config_.http_host, config_.http_port);
  if (!port) return std::unexpected(port.error());
  http_port_ = *port;
  live_.on_publish([this] { http_->notify(); });  // event streams send what is new
  sla_thread_ = std::thread([this] {
    while (!queue_.wait_closed_for(std::chrono::duration_cast<std::chrono::milliseconds>(config_.sla_check_interval)))
      check_sla(now_utc());
  });
  if (auth_.empty())
    spdlog::warn("auth.tokens is empty: /api/v1 refuses every request (401) until tokens are configured");
  spdlog::info("center {} listening on http://{}:{}; orders from {}", config_.id,
               config_.http_host, http_port_, config_.broker_url);
  return {};
}

void Center::stop() {
  if (!queue_.close()) return;
  live_.close();  // event streams end
  if (http_) http_->stop();
  if (sla_thread_.joinable()) sla_thread_.join();
  if (mqtt_) mqtt_->disconnect(std::chrono::seconds{2});
  if (ingest_thread_.joinable()) ingest_thread_.join();
  mqtt_.reset();
  store_.reset();
}

size_t Center::check_sla(Timestamp now) {
  auto late = store_->mark_overdue(now);
  if (!late) {
    spdlog::warn("SLA check: {}", late.error().message);
    return 0;
  }
  for (const auto& l : *late) {
    // Every field is a string (Store::mark_overdue).
    auto field = [&](const char* key) -> const std::string& { return l.at(key).get_ref<const std::string&>(); };
    const std::string& id = field("case_id");
    spdlog::warn("case {} is overdue: not {} by {} (state {})", id, field("overdue") == "respond" ? "accepted" : "resolved",
                 field("due"), field("state"));
    publish_case(id, l);
  }
  return late->size();
}

void Center::publish_case(const std::string& id, const nlohmann::json& change) {
  // Agents and wall maps follow their cases on {prefix}/center/orders/{id} and /api/v1/events.
  if (mqtt_) {
    const std::string topic = fmt::format("{}/center/orders/{}", config_.topic_prefix, id);
    if (auto st = mqtt_->publish(topic, change.dump(), 1, false); !st) {
      ++metrics_.publish_failures;
      spdlog::warn("lifecycle update of {} not published: {}", id, st.error().message);
    }
  }
  nlohmann::json live = change;
  live["type"] = "changed";
  live["case_id"] = id;
  live_.publish(id, std::move(live));
}

}  // namespace gridwatch::center
