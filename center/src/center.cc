#include "gridwatch/center/center.h"

// The center's wiring: start and stop its parts (store, MQTT, ingest, HTTP, SLA checks).
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "bus.h"
#include "http/server.h"

namespace gridwatch::center {

Center::Center(CenterConfig config, const Catalog& catalog, std::shared_ptr<const geo::AreaIndex> areas)
    : config_(std::move(config)), catalog_(catalog), auth_(config_.tokens), by_address_(config_.per_address),
      by_key_(config_.per_key),
      areas_(std::move(areas)), queue_(config_.max_queue) {}

Center::~Center() { stop(); }

size_t Center::queue_depth() const { return queue_.size(); }

Status Center::start(std::chrono::milliseconds connect_timeout) {
  auto store = Store::open(config_.conninfo, config_.pool_size, catalog_, application_name());
  if (!store) return std::unexpected(store.error());
  store_ = std::move(*store);
  if (auto st = store_->migrate(); !st) return st;
  if (!config_.read_conninfo.empty()) {
    auto replica = Store::open(config_.read_conninfo, config_.pool_size, catalog_, application_name() + "/read");
    if (!replica) return std::unexpected(replica.error());
    store_->set_read_replica(std::move(*replica));
    spdlog::info("map, tiles and rates read from the replica {}", config_.read_conninfo);
  }
  if (auto st = load_areas(); !st) return st;
  patrol_ = std::make_unique<PatrolMap>(config_.patrol, areas_, config_.worker_level);
  if (!config_.classify.model.empty()) {
    auto s = Suggester::load(config_.classify, catalog_);
    if (!s) return std::unexpected(s.error());
    suggester_ = std::move(*s);
    spdlog::info("dispatch suggestions by model {} (auto-fill at p >= {:.3f})", suggester_->model_id(),
                 suggester_->threshold());
  }
  if (!config_.web.buildings.empty()) {
    auto b = load_buildings(config_.web.buildings);
    if (!b) return std::unexpected(b.error());
    buildings_ = std::move(*b);
    spdlog::info("building registry {}: {} buildings", config_.web.buildings.string(), buildings_.size());
  }

  auto bus = config_.broker_kind == CenterConfig::BrokerKind::kRabbitmq ? make_amqp_bus(config_) : make_mqtt_bus(config_);
  if (!bus) return std::unexpected(bus.error());
  bus_ = std::move(*bus);
  ingest_thread_ = std::thread([this] { ingest_loop(); });
  auto on_order = [this](platform::MqttMessage m) {
    // The broker client's thread: hand over, never block.
    if (!queue_.try_push(m)) {
      ++metrics_.received;
      metrics_.rejected(Error{ErrorCode::kUnavailable, "ingest queue full", "queue"});
      spdlog::error("ingest queue full ({} messages): message on {} dropped", queue_.capacity(), m.topic);
    }
  };
  if (auto st = bus_->start(on_order, [this](platform::MqttMessage m) { clip_reply(m); }, connect_timeout); !st) {
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
  // Changes other centers commit after start() returns reach this one's streams: it listens first.
  auto listening = feed_listening_.get_future();
  feed_thread_ = std::thread([this] { follow_other_centers(); });
  if (listening.wait_for(std::chrono::seconds{10}) != std::future_status::ready)
    spdlog::warn("center {}: not yet following other centers' changes (the database does not answer)", config_.id);
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
  if (feed_thread_.joinable()) feed_thread_.join();
  // No more messages in; what the ingest thread still stores is not acknowledged on a RabbitMQ
  // cluster, so the broker gives it to another center (which finds it stored already).
  if (bus_) bus_->stop(std::chrono::seconds{2});
  if (ingest_thread_.joinable()) ingest_thread_.join();
  bus_.reset();
  store_.reset();
}

size_t Center::check_sla(Timestamp now) {
  if (now - patrol_trimmed_ >= std::chrono::hours{1} && patrol_) {
    // Positions are personal data: kept patrol.keep_days, then deleted (docs/patrol.md).
    patrol_trimmed_ = now;
    const std::string oldest = patrol_->day_of(now - std::chrono::days{config_.patrol.keep_days});
    if (auto gone = store_->trim_patrol(config_.patrol.keep_days, oldest); !gone)
      spdlog::warn("patrol positions not trimmed: {}", gone.error().message);
    else if (*gone > 0)
      spdlog::info("{} patrol position(s) older than {} days deleted", *gone, config_.patrol.keep_days);
  }
  auto late = store_->mark_overdue(now);
  if (!late) {
    spdlog::warn("SLA check: {}", late.error().message);
    return 0;
  }
  for (const auto& l : *late) {
    // Every field is a string (Store::mark_overdue).
    auto field = [&](const char* key) -> const std::string& { return l.at(key).get_ref<const std::string&>(); };
    const std::string& id = field("case_id");
    const std::string& what = field("overdue");
    spdlog::warn("case {} is overdue: not {} by {} (state {})", id,
                 what == "respond" ? "accepted" : what == "verify" ? "verified" : "resolved", field("due"), field("state"));
    publish_case(id, l);
  }
  return late->size();
}

void Center::publish_case(const std::string& id, const nlohmann::json& change) {
  // Agents and wall maps follow their cases on {prefix}/center/orders/{id} and /api/v1/events.
  if (bus_) {
    const std::string topic = fmt::format("{}/center/orders/{}", config_.topic_prefix, id);
    if (auto st = bus_->publish(topic, change.dump()); !st) {
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
