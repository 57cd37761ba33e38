#include "gridwatch/agent/agent.h"

#include "gridwatch/domain/clip.h"
#include "gridwatch/domain/config.h"
#include "gridwatch/domain/version.h"

#include <algorithm>
#include <fstream>

#include <fmt/format.h>
#include <httplib.h>
#include <opencv2/core/utility.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "gridwatch/platform/base64.h"
#include "gridwatch/platform/process.h"
#include "gridwatch/vision/evidence.h"

namespace gridwatch::agent {
namespace {

bool is_plain_file_name(const std::string& name) {
  return !name.empty() && name.size() <= 200 && name.find('/') == std::string::npos && name != "." && name != ".." &&
         name.find('\0') == std::string::npos;
}

}  // namespace

struct Agent::MetricsServer {
  httplib::Server server;
  std::thread thread;
};


Agent::Agent(AgentConfig config, const Catalog& catalog, CameraOptions camera_options)
    : config_(std::move(config)),
      catalog_(catalog),
      engine_(std::make_unique<rules::Engine>(config_.rules, config_.devices(), catalog)),
      state_file_(config_.data_dir / "rules"),
      camera_options_(std::move(camera_options)) {
  const std::string& p = config_.broker.topic_prefix;
  clips_topic_ = fmt::format("{}/agents/{}/clips/get", p, config_.id);
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
                     next.outbox.fsync != now.outbox.fsync},
      {"status.metrics", next.metrics_listen != now.metrics_listen},
      {"evidence", next.evidence.dir != now.evidence.dir || next.evidence.snapshot_max_bytes != now.evidence.snapshot_max_bytes ||
                       next.evidence.keep != now.evidence.keep || next.evidence.max_disk_bytes != now.evidence.max_disk_bytes},
      {"areas", next.areas.file != now.areas.file || next.areas.options.id_property != now.areas.options.id_property ||
                    next.areas.options.crs != now.areas.options.crs},
  };
  for (const auto& [key, changed] : fixed)
    if (changed) return fail(ErrorCode::kInvalidArgument, fmt::format("{} changed: restart the agent to apply it", key), key);
  // Cameras added or changed start afresh (their pipelines are loaded here, so a model that does
  // not load refuses the whole reload); unchanged ones keep running.
  PendingReload r;
  {
    std::lock_guard lock(cameras_mu_);
    for (const vision::CameraConfig& c : next.cameras) {
      auto same = std::find_if(cameras_.begin(), cameras_.end(), [&](const auto& k) { return k->config() == c; });
      if (same != cameras_.end()) continue;
      auto runner = make_camera(c);
      if (!runner) return std::unexpected(runner.error());
      r.cameras.push_back(std::move(*runner));
    }
  }
  r.config = std::move(next);
  std::optional<PendingReload> replaced;  // an earlier reload not yet taken: dropped, outside the lock
  {
    std::lock_guard lock(mu_);
    if (stopping_) return fail(ErrorCode::kUnavailable, "the agent is stopping");
    replaced = std::move(pending_reload_);
    pending_reload_ = std::move(r);  // the worker takes it within a second
  }
  return {};
}

Result<std::unique_ptr<CameraRunner>> Agent::make_camera(const vision::CameraConfig& c) {
  CameraOptions o = camera_options_;
  o.on_change = [this, user = camera_options_.on_change](const std::string& id, CameraState s) {
    if (user) user(id, s);
    {
      std::lock_guard lock(mu_);
      status_due_ = true;
    }
    status_cv_.notify_all();
  };
  std::error_code ec;
  std::filesystem::create_directories(c.evidence.dir, ec);
  if (ec) return fail(ErrorCode::kUnavailable, fmt::format("camera {}: evidence folder {}: {}", c.id, c.evidence.dir.string(), ec.message()));
  return CameraRunner::create(c, std::move(o), [this](rules::ZoneEvent e) { offer_zone_event(std::move(e)); });
}

void Agent::apply_reload(PendingReload reload) {
  AgentConfig& next = reload.config;
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
  // Cameras: the unchanged keep running; removed and changed ones stop, new ones start.
  std::vector<std::unique_ptr<CameraRunner>> gone;
  {
    std::lock_guard lock(cameras_mu_);
    for (auto it = cameras_.begin(); it != cameras_.end();) {
      const bool kept = std::any_of(next.cameras.begin(), next.cameras.end(),
                                    [&](const vision::CameraConfig& c) { return c == (*it)->config(); });
      if (kept) {
        ++it;
      } else {
        gone.push_back(std::move(*it));
        it = cameras_.erase(it);
      }
    }
  }
  for (auto& g : gone) {
    spdlog::info("reload: camera {} stopped ({})", g->id(),
                 std::any_of(next.cameras.begin(), next.cameras.end(), [&](const auto& c) { return c.id == g->id(); })
                     ? "changed"
                     : "removed");
    g->stop();
  }
  for (auto& c : reload.cameras) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) break;  // stop() has begun: a camera started now would outlive it
    }
    spdlog::info("reload: camera {} started", c->id());
    c->start();
    std::lock_guard lock(cameras_mu_);
    cameras_.push_back(std::move(c));
  }
  config_.cameras = std::move(next.cameras);
  config_.sensors = std::move(next.sensors);
  config_.rules = std::move(next.rules);
  config_.rules_file = std::move(next.rules_file);
  sensor_count_ = config_.sensors.size();
  checkpoint();
  spdlog::info("configuration reloaded: {} cameras, {} sensors, {} rules ({} rule states changed or dropped)",
               config_.cameras.size(), config_.sensors.size(), config_.rules.rules.size(), warnings->size());
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
  if (!config_.areas.file.empty()) {
    std::vector<std::string> warnings;
    auto layer = geo::load_layer(config_.areas.file, config_.areas.options, &warnings);
    if (!layer) return std::unexpected(layer.error());
    for (const std::string& w : warnings) spdlog::warn("areas: {}", w);
    const size_t n = layer->size();
    auto index = geo::AreaIndex::build({std::move(*layer)});
    if (!index) return std::unexpected(index.error());
    areas_ = std::move(*index);
    spdlog::info("areas: {} grid cells from {}", n, config_.areas.file.string());
  }
  // Several pipelines at once: one OpenCV thread each beats each of them fanning out to every core.
  if (config_.cameras.size() > 1) cv::setNumThreads(1);
  for (const vision::CameraConfig& c : config_.cameras) {
    auto runner = make_camera(c);
    if (!runner) return std::unexpected(runner.error());
    std::lock_guard lock(cameras_mu_);
    cameras_.push_back(std::move(*runner));
  }
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
  for (const auto& filter : {readings_filter_, clips_topic_})
    if (auto st = mqtt_->subscribe(filter, 1); !st) return st;
  if (auto st = mqtt_->connect(connect_timeout); !st) {
    // A refused subscription (the broker's ACL) leaves the cameras and the outbox working;
    // /metrics says so (gw_agent_broker_subscribed 0) until a reconnect is granted.
    if (st.error().code != ErrorCode::kDenied) return st;
    spdlog::error("agent {}: {}; sensor readings or clip requests will not arrive", config_.id, st.error().message);
  }
  spdlog::info("agent {} connected to {}; {} cameras, {} sensors, {} rules", config_.id, config_.broker.url,
               config_.cameras.size(), config_.sensors.size(), config_.rules.rules.size());
  if (!config_.metrics_listen.empty()) {
    const auto colon = config_.metrics_listen.rfind(':');
    const std::string host = config_.metrics_listen.substr(0, colon);
    const int port = std::stoi(config_.metrics_listen.substr(colon + 1));
    metrics_ = std::make_unique<MetricsServer>();
    metrics_->server.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(metrics_text(), "text/plain; version=0.0.4");
    });
    metrics_port_ = port == 0 ? metrics_->server.bind_to_any_port(host) : (metrics_->server.bind_to_port(host, port) ? port : -1);
    if (metrics_port_ <= 0) {
      metrics_port_ = 0;
      return fail(ErrorCode::kUnavailable, fmt::format("status.metrics: cannot listen on {}", config_.metrics_listen));
    }
    metrics_->thread = std::thread([this] { metrics_->server.listen_after_bind(); });
    // stop() before the server runs would be lost (and its thread never end): wait until it runs.
    for (int i = 0; i < 200 && !metrics_->server.is_running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds{10});
    spdlog::info("metrics on http://{}:{}/metrics", host, metrics_port_);
  }
  // Orders the journal replay produced again (their ids are the ones published before).
  publish_all(std::move(recovered->intents));
  worker_thread_ = std::thread([this] { worker(); });
  status_thread_ = std::thread([this] { status_loop(); });
  std::lock_guard lock(cameras_mu_);
  for (auto& c : cameras_) c->start();
  return {};
}

void Agent::stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  // Cameras first: their last events (tracks ending) still reach the rules. All are told to stop
  // before any is waited for (a stream stuck in a read costs its timeout once, not once each).
  {
    std::lock_guard lock(cameras_mu_);
    for (auto& c : cameras_) c->request_stop();
    for (auto& c : cameras_) c->stop();
  }
  if (metrics_) {
    metrics_->server.stop();
    if (metrics_->thread.joinable()) metrics_->thread.join();
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
  AgentStats st{received_.load(), rejected_.load(), published, publish_failures_.load(),
                open_episodes_.load(), late_.load(), duplicates_.load(), zone_events_received_.load(),
                os.pending, os.dropped};
  {
    std::lock_guard lock(cameras_mu_);
    for (const auto& c : cameras_) st.cameras.push_back(c->status());
  }
  st.clips_served = clips_served_;
  st.evidence_pruned = pruned_;
  return st;
}

std::string Agent::status_json(std::string_view state) {
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
    j["queue"] = {{"readings", queue_.size()}, {"readings_capacity", queue_.capacity()}};
    nlohmann::json cams = nlohmann::json::array();
    {
      std::lock_guard lock(cameras_mu_);
      for (const auto& c : cameras_) {
        const CameraStatus cs = c->status();
        nlohmann::json cj = {{"id", cs.id},
                             {"state", to_string(cs.state)},
                             {"frames_in", cs.frames_in},
                             {"frames_dropped", cs.frames_dropped},
                             {"frames_analysed", cs.frames_analysed},
                             {"queue", cs.queue_depth},
                             {"queue_capacity", cs.queue_capacity},
                             {"detect_fps", std::round(cs.detect_fps * 10) / 10},
                             {"events", cs.events},
                             {"reconnects", cs.reconnects},
                             {"cpu_s", std::round(cs.cpu_s * 10) / 10}};
        if (!cs.last_error.empty()) cj["last_error"] = cs.last_error;
        cams.push_back(std::move(cj));
      }
    }
    j["cameras"] = std::move(cams);
    {
      std::lock_guard lock(cpu_mu_);
      const auto now = std::chrono::steady_clock::now();
      const double cpu = platform::process_cpu_seconds();
      if (cpu_wall_ != std::chrono::steady_clock::time_point{}) {
        const double wall = std::chrono::duration<double>(now - cpu_wall_).count();
        if (wall > 0.2) cpu_percent_ = 100.0 * (cpu - cpu_last_s_) / wall;
      }
      if (now - cpu_wall_ > std::chrono::milliseconds{200}) {
        cpu_wall_ = now;
        cpu_last_s_ = cpu;
      }
      j["cpu_percent"] = std::round(cpu_percent_ * 10) / 10;  // since the last status; 100 = one core
    }
    j["cpus"] = std::thread::hardware_concurrency();
    j["memory_bytes"] = platform::resident_memory_bytes();
    j["clips_served"] = clips_served_.load();
    j["evidence_pruned"] = pruned_.load();
  }
  return j.dump();
}

void Agent::status_loop() {
  auto next_prune = std::chrono::steady_clock::now() + std::chrono::seconds{5};
  std::unique_lock lock(mu_);
  for (;;) {
    // Every status_interval, and at once when a camera changes state.
    status_cv_.wait_for(lock, config_.status_interval, [this] { return stopping_ || status_due_; });
    if (stopping_) break;
    status_due_ = false;
    lock.unlock();
    if (mqtt_ && mqtt_->connected()) {
      auto st = mqtt_->publish(status_topic_, status_json("online"), 1, true);
      if (!st) spdlog::warn("status: {}", st.error().message);
    }
    if (std::chrono::steady_clock::now() >= next_prune) {
      prune_evidence();
      next_prune = std::chrono::steady_clock::now() + std::chrono::minutes{1};
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
    if (popped.message) {
      if (popped.message->topic == clips_topic_) serve_clip(popped.message->payload);
      else handle_reading_message(popped.message->topic, popped.message->payload);
    }
    std::optional<PendingReload> reload;
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
    if (auto o = order_event(i)) {
      const OrderEvent& e = o->event;
      names.push_back(fmt::format("{} {} ({})", to_string(e.event), e.id, e.category));
      events.push_back({orders_topic_, std::move(o->payload), static_cast<int>(e.priority)});
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

std::optional<Agent::Outgoing> Agent::order_event(const rules::Intent& intent) {
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
  if (e.location && areas_)
    if (const geo::Area* cell = areas_->locate(e.location->position); cell && is_valid_id(cell->code, 64))
      e.location->grid = cell->code;
  e.observed_at = intent.at;
  e.first_seen_at = intent.first_seen;
  e.evidence = camera ? outgoing_evidence(intent.evidence, e.event, e.id) : intent.evidence;
  e.description = intent.description;
  auto st = validate_order(e, catalog_);
  const size_t limit = CodecLimits{}.max_payload_bytes;  // what the center accepts
  std::string payload;
  if (st) {
    payload = encode_order(e);
    if (payload.size() > limit && e.evidence.contains("snapshot_jpeg")) {
      // The rest of the evidence is large too: the order goes without its picture rather than not at all.
      e.evidence.erase("snapshot_jpeg");
      e.evidence.erase("snapshot_size");
      e.evidence["snapshot_omitted"] =
          fmt::format("the order would be {} bytes, over the limit of {}", payload.size(), limit);
      spdlog::warn("order {}: snapshot left out: {} bytes with it, over {}", e.id, payload.size(), limit);
      payload = encode_order(e);
    }
    if (payload.size() > limit)
      st = fail(ErrorCode::kTooLarge, fmt::format("the order is over the payload limit of {} bytes", limit));
  }
  if (!st) {
    spdlog::error("order {} not published: {}", e.id, st.error().message);
    ++publish_failures_;
    return std::nullopt;
  }
  return Outgoing{std::move(e), std::move(payload)};
}

nlohmann::json Agent::outgoing_evidence(const nlohmann::json& evidence, OrderEventKind kind, const std::string& id) {
  nlohmann::json out = evidence.is_object() ? evidence : nlohmann::json::object();
  if (!out.contains("events") || !out["events"].is_array() || out["events"].empty()) return out;
  // Each zone event the rule cites carries the camera's own record (bbox, snapshot and clip files
  // on this box); the last one, the one that triggered the rule, gives the order its evidence.
  auto record = [](nlohmann::json& e) -> nlohmann::json* {
    if (!e.is_object()) return nullptr;
    if (e.contains("evidence") && e["evidence"].is_object()) return &e["evidence"];
    return &e;
  };
  if (nlohmann::json* z = record(out["events"].back())) {
    if (z->contains("bbox")) out["bbox"] = (*z)["bbox"];
    if (z->contains("snapshot") && (*z)["snapshot"].is_string() && kind != OrderEventKind::kClear &&
        config_.evidence.snapshot_max_bytes > 0) {
      auto jpeg = vision::fit_jpeg((*z)["snapshot"].get<std::string>(), config_.evidence.snapshot_max_bytes);
      if (jpeg) {
        out["snapshot_jpeg"] = platform::base64_encode(jpeg->bytes);
        out["snapshot_size"] = {jpeg->width, jpeg->height};
      } else {
        out["snapshot_omitted"] = jpeg.error().message;
        spdlog::warn("order {}: no snapshot: {}", id, jpeg.error().message);
      }
    }
    if (z->contains("clip") && (*z)["clip"].is_string()) {
      const std::filesystem::path clip = (*z)["clip"].get<std::string>();
      out["clip"] = {{"agent_id", config_.id}, {"name", clip.filename().string()}, {"camera", z->value("camera", "")}};
      // Which codec it is in: h264 (MP4) and vp8 (WebM) play in a browser, mjpeg (AVI, the
      // fallback where FFmpeg lacks both encoders) only in a player.
      if (const ClipMedia* media = clip_media_of(clip)) out["clip"]["codec"] = std::string(media->codec);
    }
  }
  // The box's paths mean nothing elsewhere: file names only.
  for (auto& e : out["events"])
    if (nlohmann::json* z = record(e))
      for (const char* k : {"snapshot", "clip"})
        if (z->contains(k) && (*z)[k].is_string())
          (*z)[k] = std::filesystem::path((*z)[k].get<std::string>()).filename().string();
  return out;
}

void Agent::serve_clip(const std::string& payload) {
  // {"request_id": "...", "clip": "NAME"} -> the file's bytes on .../clips/{request_id}, or
  // {"error": "..."} on .../clips/{request_id}/error.
  const nlohmann::json req = nlohmann::json::parse(payload, nullptr, false);
  if (!req.is_object() || !req.contains("request_id") || !req["request_id"].is_string() ||
      !is_valid_id(req["request_id"].get<std::string>(), 64)) {
    spdlog::warn("clip request refused: expected {{\"request_id\": ID, \"clip\": NAME}}");
    if (dead_letters_) dead_letters_->add(clips_topic_, "malformed clip request", payload);
    return;
  }
  const std::string rid = req["request_id"].get<std::string>();
  const std::string base = fmt::format("{}/agents/{}/clips/{}", config_.broker.topic_prefix, config_.id, rid);
  auto answer_error = [&](const std::string& why) {
    spdlog::warn("clip request {}: {}", rid, why);
    if (auto st = mqtt_->publish(base + "/error", nlohmann::json{{"error", why}}.dump(), 1, false); !st)
      spdlog::warn("clip request {}: {}", rid, st.error().message);
  };
  const std::string name = req.value("clip", "");
  if (!is_plain_file_name(name)) return answer_error(fmt::format("\"{}\" is not a clip name", name));
  std::filesystem::path found;
  {
    std::lock_guard lock(cameras_mu_);
    for (const auto& c : cameras_)
      if (std::filesystem::is_regular_file(c->config().evidence.dir / name)) found = c->config().evidence.dir / name;
  }
  if (found.empty()) return answer_error(fmt::format("no clip {} on {} (never written, or deleted by age or quota)", name, config_.id));
  constexpr uintmax_t kMaxClip = 64u << 20;
  std::error_code ec;
  if (const auto size = std::filesystem::file_size(found, ec); !ec && size > kMaxClip)
    return answer_error(fmt::format("clip {} is {} bytes, over the {} a clip may be sent with", name, size, kMaxClip));
  auto bytes = read_text_file(found);
  if (!bytes) return answer_error(fmt::format("clip {} cannot be read", name));
  if (auto st = mqtt_->publish(base, *bytes, 1, false); !st) return answer_error(st.error().message);
  ++clips_served_;
  spdlog::info("clip {} ({} bytes) sent for request {}", name, bytes->size(), rid);
}

size_t Agent::prune_evidence() {
  namespace fs = std::filesystem;
  struct File {
    fs::path path;
    fs::file_time_type time;
    uintmax_t size;
  };
  // The agent's evidence folder and any camera's own one outside it; one quota for all.
  std::vector<fs::path> dirs{config_.evidence.dir};
  {
    std::lock_guard lock(cameras_mu_);
    for (const auto& c : cameras_) {
      const fs::path d = c->config().evidence.dir;
      const auto rel = d.lexically_normal().lexically_relative(config_.evidence.dir.lexically_normal());
      if (rel.empty() || rel.native().rfind("..", 0) == 0) dirs.push_back(d);
    }
  }
  std::vector<File> files;
  std::error_code ec;
  for (const fs::path& dir : dirs) {
    ec.clear();
    for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
      if (!it->is_regular_file(ec)) continue;
      const auto ext = it->path().extension();
      if (ext != ".jpg" && !clip_media_of(it->path())) continue;  // only what the pipelines write
      files.push_back({it->path(), it->last_write_time(ec), it->file_size(ec)});
    }
  }
  std::sort(files.begin(), files.end(), [](const File& a, const File& b) { return a.time < b.time; });
  uintmax_t total = 0;
  for (const File& f : files) total += f.size;
  const auto cutoff = fs::file_time_type::clock::now() - config_.evidence.keep;
  size_t removed = 0;
  for (const File& f : files) {
    const bool old = f.time < cutoff;
    if (!old && total <= config_.evidence.max_disk_bytes) break;  // oldest first: the rest are newer
    if (fs::remove(f.path, ec)) {
      ++removed;
      total -= f.size;
    }
  }
  if (removed > 0) {
    pruned_ += removed;
    spdlog::info("evidence: {} old files deleted ({} bytes kept, quota {})", removed, total,
                 config_.evidence.max_disk_bytes);
  }
  return removed;
}

std::string Agent::metrics_text() const {
  const AgentStats st = stats();
  std::string out;
  auto metric = [&](const char* type, const char* name, const char* help, double v) {
    out += fmt::format("# HELP {0} {1}\n# TYPE {0} {2}\n{0} {3}\n", name, help, type, v);
  };
  metric("counter", "gw_agent_readings_received_total", "Sensor readings received.", static_cast<double>(st.readings_received));
  metric("counter", "gw_agent_readings_rejected_total", "Readings rejected (dead letters).", static_cast<double>(st.readings_rejected));
  metric("counter", "gw_agent_zone_events_total", "Camera zone events.", static_cast<double>(st.zone_events));
  metric("counter", "gw_agent_orders_published_total", "Order events acknowledged by the broker.", static_cast<double>(st.orders_published));
  metric("gauge", "gw_agent_open_episodes", "Rule episodes open.", static_cast<double>(st.open_episodes));
  metric("gauge", "gw_agent_outbox_pending", "Order events waiting in the outbox.", static_cast<double>(st.outbox_pending));
  metric("counter", "gw_agent_outbox_dropped_total", "Order events dropped from a full outbox.", static_cast<double>(st.outbox_dropped));
  metric("gauge", "gw_agent_broker_connected", "1 when connected to the broker.", mqtt_ && mqtt_->connected() ? 1 : 0);
  metric("gauge", "gw_agent_broker_subscribed",
         "1 when the broker granted every subscription (readings, clip requests).",
         mqtt_ && mqtt_->subscription_status().has_value() ? 1 : 0);
  metric("counter", "gw_agent_process_cpu_seconds_total", "CPU time of the agent.", platform::process_cpu_seconds());
  metric("gauge", "gw_agent_resident_memory_bytes", "Resident memory of the agent.", static_cast<double>(platform::resident_memory_bytes()));
  metric("counter", "gw_agent_clips_served_total", "Clips sent to the center.", static_cast<double>(st.clips_served));
  metric("counter", "gw_agent_evidence_pruned_total", "Evidence files deleted by age or quota.", static_cast<double>(st.evidence_pruned));
  auto per_camera = [&](const char* type, const char* name, const char* help, auto value) {
    out += fmt::format("# HELP {0} {1}\n# TYPE {0} {2}\n", name, help, type);
    for (const CameraStatus& c : st.cameras) out += fmt::format("{}{{camera=\"{}\"}} {}\n", name, c.id, value(c));
  };
  per_camera("gauge", "gw_agent_camera_up", "1 while the camera delivers frames.",
             [](const CameraStatus& c) { return c.state == CameraState::kRunning ? 1 : 0; });
  per_camera("counter", "gw_agent_camera_frames_total", "Frames read from the camera.", [](const CameraStatus& c) { return c.frames_in; });
  per_camera("counter", "gw_agent_camera_frames_dropped_total", "Frames dropped because analysis was behind.",
             [](const CameraStatus& c) { return c.frames_dropped; });
  per_camera("gauge", "gw_agent_camera_queue_depth", "Frames waiting for analysis.", [](const CameraStatus& c) { return c.queue_depth; });
  per_camera("gauge", "gw_agent_camera_detect_fps", "Frames analysed a second (last 10 s).", [](const CameraStatus& c) { return c.detect_fps; });
  per_camera("counter", "gw_agent_camera_reconnects_total", "Times the camera's source was reopened.", [](const CameraStatus& c) { return c.reconnects; });
  per_camera("counter", "gw_agent_camera_cpu_seconds_total", "CPU time of the camera's threads.", [](const CameraStatus& c) { return c.cpu_s; });
  return out;
}

}  // namespace gridwatch::agent
