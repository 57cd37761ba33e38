#include "gridwatch/agent/agent.h"

#include "gridwatch/domain/version.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

namespace gridwatch::agent {


Agent::Agent(AgentConfig config, const Catalog& catalog)
    : config_(std::move(config)), catalog_(catalog), engine_(config_.thresholds) {
  const std::string& p = config_.broker.topic_prefix;
  status_topic_ = fmt::format("{}/agents/{}/status", p, config_.id);
  orders_topic_ = fmt::format("{}/orders/{}", p, config_.id);
  readings_filter_ = fmt::format("{}/sensors/+/reading", p);
}

Agent::~Agent() { stop(); }

Status Agent::start(std::chrono::milliseconds connect_timeout) {
  auto dl = platform::DeadLetterFile::open(config_.data_dir / "dead-letter.jsonl");
  if (!dl) return std::unexpected(dl.error());
  dead_letters_ = std::move(*dl);
  platform::MqttOptions o;
  o.url = config_.broker.url;
  o.client_id = fmt::format("gw-agent-{}", config_.id);
  o.clean_session = true;
  o.keepalive = config_.broker.keepalive;
  o.max_inflight = config_.broker.max_inflight;
  o.username = config_.broker.username;
  o.password = config_.broker.password;
  o.will = std::make_pair(status_topic_, status_json("offline"));
  auto client = platform::MqttClient::create(o);
  if (!client) return std::unexpected(client.error());
  mqtt_ = std::move(*client);
  mqtt_->on_message([this](platform::MqttMessage m) {
    // Paho's thread: hand over, never block.
    if (!queue_.try_push(m)) {
      ++received_;
      ++rejected_;
      if (dead_letters_) dead_letters_->add(m.topic, "queue full", m.payload);
    }
  });
  mqtt_->on_connection([this](bool up) {
    if (up) {
      auto st = mqtt_->publish(status_topic_, status_json("online"), 1, true);
      if (!st) spdlog::warn("status: {}", st.error().message);
    }
  });
  mqtt_->subscribe(readings_filter_, 1);
  if (auto st = mqtt_->connect(connect_timeout); !st) return st;
  spdlog::info("agent {} connected to {}; {} sensors, {} threshold rules", config_.id,
               config_.broker.url, config_.sensors.size(), config_.thresholds.size());
  worker_thread_ = std::thread([this] { worker(); });
  status_thread_ = std::thread([this] { status_loop(); });
  return {};
}

void Agent::stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  queue_.close();
  status_cv_.notify_all();
  if (worker_thread_.joinable()) worker_thread_.join();
  if (status_thread_.joinable()) status_thread_.join();
  if (mqtt_) {
    if (mqtt_->connected()) {
      auto st = mqtt_->publish_and_wait(status_topic_, status_json("offline"), 1, true,
                                        std::chrono::seconds{2});
      if (!st) spdlog::warn("offline status: {}", st.error().message);
    }
    mqtt_->disconnect(std::chrono::seconds{2});
    mqtt_.reset();
  }
  spdlog::info("agent {} stopped", config_.id);
}

AgentStats Agent::stats() const {
  return {received_.load(), rejected_.load(), published_.load(), publish_failures_.load(),
          open_episodes_.load()};
}

std::string Agent::status_json(std::string_view state) const {
  nlohmann::json j = {{"state", state},
                      {"agent_id", config_.id},
                      {"version", kVersion},
                      {"ts", format_rfc3339(now_utc())}};
  if (state == "online") {
    j["sensors"] = config_.sensors.size();
    j["readings_received"] = received_.load();
    j["readings_rejected"] = rejected_.load();
    j["orders_published"] = published_.load();
    j["open_episodes"] = open_episodes_.load();
  }
  return j.dump();
}

void Agent::status_loop() {
  std::unique_lock lock(mu_);
  while (!status_cv_.wait_for(lock, config_.status_interval, [this] { return stopping_; })) {
    lock.unlock();
    if (mqtt_ && mqtt_->connected()) {
      auto st = mqtt_->publish(status_topic_, status_json("online"), 1, true);
      if (!st) spdlog::warn("status: {}", st.error().message);
    }
    lock.lock();
  }
}

void Agent::worker() {
  while (auto m = queue_.pop()) handle_reading_message(m->topic, m->payload);
}

void Agent::reject(const std::string& topic, const std::string& payload,
                   const std::string& reason) {
  ++rejected_;
  spdlog::warn("reading rejected on {}: {}", topic, reason);
  if (dead_letters_) dead_letters_->add(topic, reason, payload);
}

void Agent::handle_reading_message(const std::string& topic, const std::string& payload) {
  ++received_;
  // {prefix}/sensors/{device_id}/reading
  const std::string head = config_.broker.topic_prefix + "/sensors/";
  const std::string tail = "/reading";
  if (topic.size() <= head.size() + tail.size() || topic.rfind(head, 0) != 0 ||
      topic.compare(topic.size() - tail.size(), tail.size(), tail) != 0)
    return reject(topic, payload, "unexpected topic");
  std::string device = topic.substr(head.size(), topic.size() - head.size() - tail.size());
  auto reading = decode_reading(device, payload);
  if (!reading) return reject(topic, payload, reading.error().message);
  const SensorConfig* sensor = config_.sensor(device);
  if (!sensor) return reject(topic, payload, fmt::format("unknown device \"{}\"", device));
  if (sensor->type != reading->type)
    return reject(topic, payload,
                  fmt::format("device \"{}\" is configured as type \"{}\", reading has \"{}\"",
                              device, sensor->type, reading->type));
  for (const rules::Intent& intent : engine_.on_reading(*reading)) publish_intent(intent);
  open_episodes_ = engine_.open_episodes();
}

void Agent::publish_intent(const rules::Intent& intent) {
  const rules::ThresholdRule& rule = *intent.rule;
  const SensorConfig* sensor = config_.sensor(intent.reading.device_id);
  const Category* cat = catalog_.find(rule.category);
  OrderEvent e;
  e.event = intent.kind == rules::IntentKind::kOpen ? OrderEventKind::kOpen : OrderEventKind::kClear;
  e.id = fmt::format("{}.{}", config_.id, intent.episode_id);
  e.category = rule.category;
  e.priority = rule.priority.value_or(cat ? cat->default_priority : Priority::kNormal);
  e.source = {SourceKind::kSensor, config_.id, intent.reading.device_id, rule.name};
  e.location = sensor->location;
  e.observed_at = intent.reading.ts;
  e.first_seen_at = intent.first_seen;
  const Reading& r = intent.reading;
  e.evidence = {{"readings", nlohmann::json::array({{{"ts", format_rfc3339(r.ts)},
                                                     {"device_id", r.device_id},
                                                     {"type", r.type},
                                                     {"value", r.value},
                                                     {"unit", r.unit}}})}};
  std::string where = sensor->description.empty() ? r.device_id
                                                  : fmt::format("{} ({})", sensor->description, r.device_id);
  e.description =
      e.event == OrderEventKind::kOpen
          ? fmt::format("{} {}{} reached {} at {}", r.type, r.value, r.unit, rule.open_at, where)
          : fmt::format("{} {}{} back to {} at {}", r.type, r.value, r.unit, rule.clear_at, where);
  if (auto st = validate_order(e, catalog_); !st) {
    spdlog::error("order {} not published: {}", e.id, st.error().message);
    ++publish_failures_;
    return;
  }
  auto st = mqtt_->publish(orders_topic_, encode_order(e), 1, false);
  if (!st) {
    ++publish_failures_;
    spdlog::error("order {} not published: {}", e.id, st.error().message);
    return;
  }
  ++published_;
  spdlog::info("order {} {} ({}) published", to_string(e.event), e.id, e.category);
}

}  // namespace gridwatch::agent
