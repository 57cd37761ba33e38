// The edge agent: sensor readings in over MQTT, work orders out.
//
// Lifecycle: construct, start(), ..., stop(). start() connects to the broker with a retained
// last will "{prefix}/agents/{id}/status" = {"state":"offline"}, publishes the retained online
// status, subscribes to "{prefix}/sensors/+/reading", and starts three threads: one evaluates
// readings (handed over from Paho's callback through a bounded queue), one republishes the
// status every status_interval, one answers the center's clip requests (reading and sending a
// clip never holds up the readings). The worker feeds readings to the rule engine (rules/) and
// advances its clock at least once a second, so timers (durations, no data, schedules) fire
// without new readings; each transition becomes a gw.order/1 event (open, update or clear) on
// "{prefix}/orders/{id}" at QoS 1, located at the sensor's configured place. Rule state is kept
// in DATA_DIR/rules (snapshot every checkpoint_interval and at stop, journal in between), so a
// restart resumes open episodes and half-elapsed durations.
//
// Cameras (cameras.h) run on their own threads and hand their zone events to the worker; their
// orders carry the snapshot (fitted to evidence.snapshot_max_bytes) and the clip's name, which the
// center can ask for on "{prefix}/agents/{id}/clips/get". Snapshots and clips are pruned by age
// and disk quota. Status (retained, every status_interval and when a camera changes state) and
// /metrics (status.metrics) report cameras, queues, the outbox, CPU and memory.
//
// Readings that cannot be used (malformed, unknown device, wrong type, queue full) are counted,
// logged with the reason and appended to DATA_DIR/dead-letter.jsonl; processing goes on.
// stop() publishes the offline status and disconnects. Public methods are thread-safe.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "gridwatch/agent/cameras.h"
#include "gridwatch/agent/config.h"
#include "gridwatch/agent/outbox.h"
#include "gridwatch/geo/areas.h"
#include "gridwatch/platform/log.h"
#include "gridwatch/platform/message_queue.h"
#include "gridwatch/platform/mqtt.h"
#include "gridwatch/rules/engine.h"
#include "gridwatch/rules/state_file.h"

namespace gridwatch::agent {

struct AgentStats {
  uint64_t readings_received = 0;
  uint64_t readings_rejected = 0;
  uint64_t orders_published = 0;
  uint64_t publish_failures = 0;     // order events that could not be made (invalid, too large)
  uint64_t outbox_bypassed = 0;      // order events the outbox's disk refused: published directly
  size_t open_episodes = 0;
  uint64_t readings_late = 0;        // refused by the engine: behind its lateness window
  uint64_t readings_duplicate = 0;   // same device, type and timestamp seen before
  uint64_t zone_events = 0;          // camera zone events received
  size_t outbox_pending = 0;         // order events stored and not yet acknowledged by the broker
  uint64_t outbox_dropped = 0;       // pushed out of a full outbox (oldest low-priority first)
  std::vector<CameraStatus> cameras;
  uint64_t clips_served = 0;         // clips sent to the center on request
  uint64_t evidence_pruned = 0;      // snapshot and clip files deleted by age or quota
};

class Agent {
 public:
  static constexpr size_t kQueueCapacity = 10'000;

  // `camera_options` (tests): how the cameras open their sources; default: their `source`.
  Agent(AgentConfig config, const Catalog& catalog, CameraOptions camera_options = {});
  ~Agent();
  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;

  // Fails with kUnavailable when the broker cannot be reached within `connect_timeout`.
  [[nodiscard]] Status start(std::chrono::milliseconds connect_timeout = std::chrono::seconds{30});
  void stop();
  AgentStats stats() const;
  const AgentConfig& config() const { return config_; }
  // The port /metrics listens on (status.metrics; 0 when off). Prometheus text of the same figures.
  int metrics_port() const { return metrics_port_; }
  std::string metrics_text() const;
  // Deletes evidence files older than evidence.keep, then the oldest until the folder fits
  // evidence.max_disk_bytes (the status thread calls it every minute). Returns how many went.
  size_t prune_evidence();

  // Evaluates one message as if it had arrived on `topic` (used by start()'s subscription).
  void handle_reading_message(const std::string& topic, const std::string& payload);
  // SIGHUP: takes the sensors and rules of `next` (a configuration read again) at the worker's
  // next tick, keeping the state of every unchanged rule (open episodes, half-elapsed durations);
  // a changed rule keeps its open episode and starts its conditions afresh, a removed one is
  // dropped (logged). Anything else that differs (id, broker, data_dir, status, outbox) needs a
  // restart: kInvalidArgument naming the key, and nothing changes.
  [[nodiscard]] Status reload(AgentConfig next);
  // Hands a camera zone event to the rule engine (thread-safe; evaluated by the worker within a
  // second). Orders from zone rules carry source kind "camera" and the event's location.
  void offer_zone_event(rules::ZoneEvent event);

 private:
  void worker();
  void status_loop();
  std::string status_json(std::string_view state);
  void serve_clip(const std::string& payload);
  // {"stored": [{"id", "event", "observed_at"}, ...]} from the center: the outbox forgets them.
  void confirm_stored(const std::string& payload);
  // Order evidence as it leaves the box: the snapshot file read into snapshot_jpeg, local paths gone.
  nlohmann::json outgoing_evidence(const nlohmann::json& evidence, OrderEventKind kind, const std::string& id);
  void reject(const std::string& topic, const std::string& payload, const std::string& reason);
  // The order event of a rule transition and its encoding (within the center's payload limit);
  // nullopt (logged, counted) when it does not validate.
  struct Outgoing {
    OrderEvent event;
    std::string payload;
  };
  std::optional<Outgoing> order_event(const rules::Intent& intent);
  void publish_all(std::vector<rules::Intent> intents);
  void checkpoint();

  AgentConfig config_;
  const Catalog& catalog_;
  std::unique_ptr<platform::MqttClient> mqtt_;
  std::unique_ptr<platform::DeadLetterFile> dead_letters_;
  // Worker thread only (and start()/stop() while the worker is not running).
  std::unique_ptr<rules::Engine> engine_;
  struct PendingReload {
    AgentConfig config;
    std::vector<std::unique_ptr<CameraRunner>> cameras;  // new or changed, not started yet
  };
  void apply_reload(PendingReload reload);  // worker thread
  std::optional<PendingReload> pending_reload_;  // guarded by mu_
  Result<std::unique_ptr<CameraRunner>> make_camera(const vision::CameraConfig& c);
  std::atomic<size_t> sensor_count_{0};
  rules::StateFile state_file_;
  std::chrono::steady_clock::time_point last_checkpoint_{};

  platform::MessageQueue queue_{kQueueCapacity};  // readings, Paho thread -> worker
  platform::MessageQueue clip_queue_{16};          // clip requests, Paho thread -> clip thread
  std::mutex mu_;
  std::deque<rules::ZoneEvent> zone_events_;  // guarded by mu_
  std::condition_variable status_cv_;  // stopping_ (wakes the status thread early)
  bool stopping_ = false;
  std::thread worker_thread_;
  std::thread status_thread_;
  std::thread clip_thread_;  // serves clip requests (reads and sends the files)
  std::unique_ptr<Outbox> outbox_;
  std::unique_ptr<OutboxSender> sender_;

  std::atomic<uint64_t> received_{0}, rejected_{0}, publish_failures_{0}, bypassed_{0};
  std::atomic<uint64_t> late_{0}, duplicates_{0}, zone_events_received_{0};
  std::atomic<size_t> open_episodes_{0};
  std::string status_topic_, orders_topic_, readings_filter_, clips_topic_, stored_topic_;

  CameraOptions camera_options_;
  mutable std::mutex cameras_mu_;  // cameras_ (the worker changes it on reload; status reads it)
  std::vector<std::unique_ptr<CameraRunner>> cameras_;
  std::shared_ptr<const geo::AreaIndex> areas_;  // grid cells (areas.file), or null
  bool status_due_ = false;                      // guarded by mu_: a camera changed state
  std::mutex cpu_mu_;
  std::chrono::steady_clock::time_point cpu_wall_{};
  double cpu_last_s_ = 0, cpu_percent_ = 0;  // process CPU (100 = one core) between status messages
  std::atomic<uint64_t> clips_served_{0}, pruned_{0};
  struct MetricsServer;
  std::unique_ptr<MetricsServer> metrics_;
  int metrics_port_ = 0;
};

}  // namespace gridwatch::agent
