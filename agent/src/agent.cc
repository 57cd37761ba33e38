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
  stored_topic_ = fmt::format("{}/agents/{}/stored", p, config_.id);
  status_topic_ = fmt::format("{}/agents/{}/status", p, config_.id);
  orders_topic_ = fmt::format("{}/orders/{}", p, config_.id);
  readings_filter_ = fmt::format("{}/sensors/+/reading", p);
  sensor_count_ = config_.sensors.size();
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
  auto recovered = state_file_.recover(*engine_, now_utc());  // starts the engine
  if (!recovered) return std::unexpected(recovered.error());
  for (const std::string& w : recovered->warnings) spdlog::warn("rules: {}", w);
  if (recovered->had_snapshot || recovered->journal_inputs > 0)
    spdlog::info("rules: state restored ({} journalled readings replayed, {} episodes open)",
                 recovered->journal_inputs, engine_->stats().open_episodes);
  platform::MqttOptions o;
  o.url = config_.broker.url;
  o.failover_urls = config_.broker.failover_urls;
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
    // What the center stored: the outbox forgets it (a short write, no fsync).
    if (m.topic == stored_topic_) return confirm_stored(m.payload);
    // Paho's thread: hand over, never block. Clip requests have a thread of their own, so that
    // reading and sending a clip (up to 64 MiB) never holds up the readings.
    const bool clip = m.topic == clips_topic_;
    if (!(clip ? clip_queue_ : queue_).try_push(m)) {
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
  sender_ = std::make_unique<OutboxSender>(
      *outbox_, *mqtt_, static_cast<size_t>(config_.broker.max_inflight), config_.outbox.drain_rate,
      std::chrono::duration_cast<std::chrono::milliseconds>(config_.outbox.confirm_timeout));
  sender_->start();
  for (const auto& filter : {readings_filter_, clips_topic_, stored_topic_})
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
  clip_thread_ = std::thread([this] {
    while (auto m = clip_queue_.pop()) serve_clip(m->payload);
  });
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
  clip_queue_.close();
  status_cv_.notify_all();
  if (worker_thread_.joinable()) worker_thread_.join();
  if (clip_thread_.joinable()) clip_thread_.join();
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

void Agent::worker() {
  constexpr auto kTick = std::chrono::seconds{1};
  constexpr auto kCheckpointEvery = std::chrono::seconds{30};
  last_checkpoint_ = std::chrono::steady_clock::now();
  for (;;) {
    auto popped = queue_.pop_for(kTick);
    if (popped.message) handle_reading_message(popped.message->topic, popped.message->payload);
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

void Agent::confirm_stored(const std::string& payload) {
  auto keys = parse_confirmation(payload);
  if (!keys) {
    spdlog::warn("message on {} rejected: {}", stored_topic_, keys.error().message);
    if (dead_letters_) dead_letters_->add(stored_topic_, keys.error().message, payload);
    return;
  }
  const size_t known = outbox_->confirm(*keys);
  spdlog::debug("outbox: the center stored {} events ({} of them pending here)", keys->size(), known);
}

void Agent::publish_all(std::vector<rules::Intent> intents) {
  // On disk first, all of one moment's transitions with one fdatasync; the sender publishes them,
  // and the outbox forgets each once the center confirms it stored it.
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
    bypassed_ += events.size();
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

}  // namespace gridwatch::agent
