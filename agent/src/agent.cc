#include "gridwatch/agent/agent.h"

#include "gridwatch/domain/version.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

namespace gridwatch::agent {


Agent::Agent(AgentConfig config, const Catalog& catalog)
    : config_(std::move(config)),
      catalog_(catalog),
      engine_(std::make_unique<rules::Engine>(config_.rules, config_.devices(), catalog)),
      state_file_(config_.data_dir / "rules") {
  const std::string& p = config_.broker.topic_prefix;
  status_topic_ = fmt::format("{}/agents/{}/status", p, config_.id);
  orders_topic_ = fmt::format("{}/orders/{}", p, config_.id);
  readings_filter_ = fmt::format("{}/sensors/+/reading", p);
  sensor_count_ = config_.sensors.size();
}

Status Agent::reload(AgentConfig next) {
  const AgentConfig& now = config_;
  const std::pair<const char*, bool> fixed[] = {
      {"agent.id", next.id != now.id},
      {"agent.data_dir", next.data_dir != now.data_dir},
      {"agent.log_level", next.log_level != now.log_level},
      {"broker.url", next.broker.url != now.broker.url},
      {"broker.topic_prefix", next.broker.topic_prefix != now.broker.topic_prefix},
      {"broker.username", next.broker.username != now.broker.username},
      {"broker.password", next.broker.password != now.broker.password},
      {"broker.keepalive", next.broker.keepalive != now.broker.keepalive},
      {"broker.max_inflight", next.broker.max_inflight != now.broker.max_inflight},
      {"broker.tls", next.broker.ca_file != now.broker.ca_file || next.broker.cert_file != now.broker.cert_file ||
                         next.broker.key_file != now.broker.key_file},
      {"status.interval", next.status_interval != now.status_interval},
      {"outbox", next.outbox.max_bytes != now.outbox.max_bytes || next.outbox.drain_rate != now.outbox.drain_rate ||
                     next.outbox.fsync != now.outbox.fsync}};
  for (const auto& [key, changed] : fixed)
    if (changed) return fail(ErrorCode::kInvalidArgument, fmt::format("{} changed: restart the agent to apply it", key), key);
  {
    std::lock_guard lock(mu_);
    pending_reload_ = std::move(next);  // the worker takes it within a second
  }
  return {};
}

void Agent::apply_reload(AgentConfig next) {
  // The state of the rules as they are, given to an engine of the new rules.
  auto fresh = std::make_unique<rules::Engine>(next.rules, next.devices(), catalog_);
  fresh->start(now_utc());
  auto warnings = fresh->restore(engine_->snapshot());
  if (!warnings) {
    spdlog::error("reload refused: the rule state does not fit the new rules ({}); the old configuration stays",
                  warnings.error().message);
    return;
  }
  for (const std::string& w : *warnings) spdlog::warn("reload: {}", w);
  engine_ = std::move(fresh);
  config_.sensors = std::move(next.sensors);
  config_.rules = std::move(next.rules);
  config_.rules_file = std::move(next.rules_file);
  sensor_count_ = config_.sensors.size();
  checkpoint();
  spdlog::info("configuration reloaded: {} sensors, {} rules ({} rule states changed or dropped)", config_.sensors.size(),
               config_.rules.rules.size(), warnings->size());
}

Agent::~Agent() { stop(); }

Status Agent::start(std::chrono::milliseconds connect_timeout) {
  auto dl = platform::DeadLetterFile::open(config_.data_dir / "dead-letter.jsonl");
  if (!dl) return std::unexpected(dl.error());
  dead_letters_ = std::move(*dl);
  auto log = open_outbox_file(config_.data_dir / "outbox" / "log");
  if (!log) return std::unexpected(log.error());
  auto box = Outbox::open(std::move(*log), {.max_bytes = config_.outbox.max_bytes, .sync = config_.outbox.fsync});
  if (!box) return std::unexpected(box.error());
  outbox_ = std::move(*box);
  if (const auto os = outbox_->stats(); os.recovered > 0 || os.corrupt_bytes > 0)
    spdlog::info("outbox: {} events from before the restart to publish{}", os.recovered,
                 os.corrupt_bytes ? fmt::format(" ({} torn bytes cut off)", os.corrupt_bytes) : "");
  engine_->start(now_utc());
  auto recovered = state_file_.recover(*engine_);
  if (!recovered) return std::unexpected(recovered.error());
  for (const std::string& w : recovered->warnings) spdlog::warn("rules: {}", w);
  if (recovered->had_snapshot || recovered->journal_inputs > 0)
    spdlog::info("rules: state restored ({} journalled readings replayed, {} episodes open)",
                 recovered->journal_inputs, engine_->stats().open_episodes);
  platform::MqttOptions o;
  o.url = config_.broker.url;
  o.client_id = fmt::format("gw-agent-{}", config_.id);
  o.clean_session = true;
  o.keepalive = config_.broker.keepalive;
  o.max_inflight = config_.broker.max_inflight;
  o.username = config_.broker.username;
  o.password = config_.broker.password;
  o.ca_file = config_.broker.ca_file;
  o.cert_file = config_.broker.cert_file;
  o.key_file = config_.broker.key_file;
  o.will = std::make_pair(status_topic_, status_json("offline"));
  o.buffer_while_disconnected = false;  // the outbox keeps what could not be sent
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
  // The sender exists before anything can read it (status, callbacks); it waits for the connection.
  sender_ = std::make_unique<OutboxSender>(*outbox_, *mqtt_, static_cast<size_t>(config_.broker.max_inflight),
                                           config_.outbox.drain_rate);
  sender_->start();
  mqtt_->subscribe(readings_filter_, 1);
  if (auto st = mqtt_->connect(connect_timeout); !st) return st;
  spdlog::info("agent {} connected to {}; {} sensors, {} rules", config_.id, config_.broker.url,
               config_.sensors.size(), config_.rules.rules.size());
  // Orders the journal replay produced again (their ids are the ones published before).
  publish_all(std::move(recovered->intents));
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
  if (sender_) sender_->stop();
  if (dead_letters_) checkpoint();
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
  const OutboxStats os = outbox_ ? outbox_->stats() : OutboxStats{};
  const uint64_t published = sender_ ? sender_->acknowledged() : 0;
  return {received_.load(), rejected_.load(), published, publish_failures_.load(),
          open_episodes_.load(), late_.load(), duplicates_.load(), zone_events_received_.load(),
          os.pending, os.dropped};
}

std::string Agent::status_json(std::string_view state) const {
  nlohmann::json j = {{"state", state},
                      {"agent_id", config_.id},
                      {"version", kVersion},
                      {"ts", format_rfc3339(now_utc())}};
  if (state == "online") {
    j["sensors"] = sensor_count_.load();
    j["readings_received"] = received_.load();
    j["readings_rejected"] = rejected_.load();
    j["orders_published"] = sender_ ? sender_->acknowledged() : 0;
    j["open_episodes"] = open_episodes_.load();
    j["readings_late"] = late_.load();
    j["readings_duplicate"] = duplicates_.load();
    j["zone_events"] = zone_events_received_.load();
    if (outbox_) {
      const OutboxStats os = outbox_->stats();
      j["outbox"] = {{"pending", os.pending}, {"pending_bytes", os.pending_bytes}, {"dropped", os.dropped}};
    }
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
  constexpr auto kTick = std::chrono::seconds{1};
  constexpr auto kCheckpointEvery = std::chrono::seconds{30};
  last_checkpoint_ = std::chrono::steady_clock::now();
  for (;;) {
    auto popped = queue_.pop_for(kTick);
    if (popped.message) handle_reading_message(popped.message->topic, popped.message->payload);
    std::optional<AgentConfig> reload;
    std::deque<rules::ZoneEvent> events;
    {
      std::lock_guard lock(mu_);
      events.swap(zone_events_);
      reload.swap(pending_reload_);
    }
    if (reload) apply_reload(std::move(*reload));
    for (const rules::ZoneEvent& e : events) {
      const Timestamp now = now_utc();
      const rules::Offer o = engine_->offer(e, now);
      if (o == rules::Offer::kAccepted) {
        if (auto st = state_file_.record(e, now); !st) spdlog::warn("rules: journal: {}", st.error().message);
      } else if (o != rules::Offer::kUnused) {
        spdlog::warn("zone event {}:{} {} refused by the rule engine: {}", e.camera, e.zone, to_string(e.kind),
                     to_string(o));
      }
    }
    // Timers fire as the clock moves, with or without readings.
    publish_all(engine_->advance(now_utc()));
    open_episodes_ = engine_->stats().open_episodes;
    if (std::chrono::steady_clock::now() - last_checkpoint_ >= kCheckpointEvery) checkpoint();
    if (popped.closed) break;
  }
}

void Agent::offer_zone_event(rules::ZoneEvent event) {
  ++zone_events_received_;
  std::lock_guard lock(mu_);
  zone_events_.push_back(std::move(event));
}

void Agent::checkpoint() {
  last_checkpoint_ = std::chrono::steady_clock::now();
  if (auto st = state_file_.checkpoint(*engine_); !st) spdlog::error("rules: checkpoint failed: {}", st.error().message);
}

void Agent::publish_all(std::vector<rules::Intent> intents) {
  // On disk first, all of one moment's transitions with one fdatasync; the sender publishes them
  // and forgets each once the broker has it.
  std::vector<Outbox::Event> events;
  std::vector<std::string> names;
  for (const rules::Intent& i : intents)
    if (auto e = order_event(i)) {
      names.push_back(fmt::format("{} {} ({})", to_string(e->event), e->id, e->category));
      events.push_back({orders_topic_, encode_order(*e), static_cast<int>(e->priority)});
    }
  if (events.empty()) return;
  auto seqs = outbox_->add_all(events);
  if (!seqs) {
    // The disk refuses (full, failing): publish without the safety net rather than not at all.
    publish_failures_ += events.size();
    spdlog::error("{} order events not stored in the outbox ({}); published directly", events.size(),
                  seqs.error().message);
    for (size_t k = 0; k < events.size(); ++k)
      if (auto st = mqtt_->publish(events[k].topic, events[k].payload, 1, false); !st)
        spdlog::error("order {} lost: {}", names[k], st.error().message);
    return;
  }
  if (sender_) sender_->wake();
  for (size_t k = 0; k < names.size(); ++k) spdlog::info("order {} queued as outbox event {}", names[k], (*seqs)[k]);
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
  const Timestamp now = now_utc();
  switch (engine_->offer(*reading, now)) {
    case rules::Offer::kAccepted:
      if (auto st = state_file_.record(*reading, now); !st)
        spdlog::warn("rules: journal: {} (the reading is evaluated but not journalled)", st.error().message);
      break;
    case rules::Offer::kUnused:
      break;  // no rule reads it: fine
    case rules::Offer::kLate:
      ++late_;
      return reject(topic, payload,
                    fmt::format("reading at {} is older than the rule engine's lateness window (now {})",
                                format_rfc3339(reading->ts), format_rfc3339(now)));
    case rules::Offer::kDuplicate:
      ++duplicates_;  // a re-delivery: harmless, not a dead letter
      break;
    case rules::Offer::kFuture:
      return reject(topic, payload,
                    fmt::format("reading at {} is in the future (now {})", format_rfc3339(reading->ts),
                                format_rfc3339(now)));
    case rules::Offer::kUnknownDevice:
      return reject(topic, payload, fmt::format("unknown device \"{}\"", device));
  }
  publish_all(engine_->advance(now));
  open_episodes_ = engine_->stats().open_episodes;
}

std::optional<OrderEvent> Agent::order_event(const rules::Intent& intent) {
  OrderEvent e;
  e.event = intent.kind == rules::IntentKind::kOpen     ? OrderEventKind::kOpen
            : intent.kind == rules::IntentKind::kUpdate ? OrderEventKind::kUpdate
                                                        : OrderEventKind::kClear;
  e.id = fmt::format("{}.{}", config_.id, intent.id);
  e.category = intent.category;
  e.priority = intent.priority;
  // Zone rules have no device; their subject is the camera zone ("cam-0107:fire_lane").
  const bool camera = intent.device.empty();
  e.source = {camera ? SourceKind::kCamera : SourceKind::kSensor, config_.id,
              camera ? intent.subject : intent.device, intent.rule};
  e.location = intent.location;
  e.observed_at = intent.at;
  e.first_seen_at = intent.first_seen;
  e.evidence = intent.evidence;
  e.description = intent.description;
  if (auto st = validate_order(e, catalog_); !st) {
    spdlog::error("order {} not published: {}", e.id, st.error().message);
    ++publish_failures_;
    return std::nullopt;
  }
  return e;
}

}  // namespace gridwatch::agent
