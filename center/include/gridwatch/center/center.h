// The district center service: orders in over MQTT, stored in PostGIS, served over HTTP.
//
// start() opens the store and migrates it, takes the order stream shared by the centers of its
// group (a shared MQTT subscription "$share/{group}/{prefix}/orders/#" on Mosquitto, the quorum
// queue "{group}-orders" on a RabbitMQ cluster: src/bus.h), starts the ingest thread and the
// HTTP server. Messages are handed from the broker client's thread to the ingest thread through a queue;
// the ingest thread validates each (gw.order/1), stores valid ones idempotently and keeps
// invalid ones, with the reason, in the dead_letters table. While the database is down the
// ingest thread retries the same message; nothing is dropped. stop() ends all of it.
// Public methods are thread-safe.
#pragma once

#include <atomic>
#include <optional>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <future>
#include <set>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "gridwatch/center/auth.h"
#include "gridwatch/center/buildings.h"
#include "gridwatch/center/config.h"
#include "gridwatch/center/suggest.h"
#include "gridwatch/center/patrol.h"
#include "gridwatch/center/events.h"
#include "gridwatch/center/store.h"
#include "gridwatch/domain/catalog.h"
#include "gridwatch/platform/message_queue.h"
#include "gridwatch/platform/mqtt.h"

namespace gridwatch::center {

class Bus;

namespace http {
class Server;
struct Request;
struct Response;
}  // namespace http

class Metrics {
 public:
  std::atomic<uint64_t> received{0};
  std::atomic<uint64_t> stored{0};
  std::atomic<uint64_t> duplicates{0};
  std::atomic<uint64_t> store_retries{0};
  std::atomic<uint64_t> merged{0};
  std::atomic<uint64_t> tickets{0};
  std::atomic<uint64_t> publish_failures{0};  // MQTT publishes the client refused
  std::atomic<uint64_t> changes_from_others{0};  // cases changed through other centers, streamed
  std::atomic<uint64_t> limited_by_address{0}, limited_by_key{0};  // writes from outside answered 429
  void rejected(const Error& e);
  uint64_t rejected_total() const;
  // Prometheus text exposition format.
  std::string render(size_t queue_depth, bool mqtt_connected, bool mqtt_subscribed, bool db_ok) const;
  // The HTTP server's figures, in the same format.
  struct HttpFigures {
    uint64_t connections = 0, streams = 0, requests = 0, busy = 0, queued = 0;
  };
  static std::string render_http(const HttpFigures& h);

 private:
  mutable std::mutex mu_;
  std::map<std::pair<std::string, std::string>, uint64_t> rejected_;  // (reason, field)
};

// The administrative layers of `config` (files and synthetic cells) as one index.
[[nodiscard]] Result<std::shared_ptr<const geo::AreaIndex>> load_area_index(const CenterConfig& config);

class Center {
 public:
  // `areas`: the index of config.areas when the caller has built it already (start() builds it
  // otherwise).
  Center(CenterConfig config, const Catalog& catalog, std::shared_ptr<const geo::AreaIndex> areas = nullptr);
  ~Center();
  Center(const Center&) = delete;
  Center& operator=(const Center&) = delete;

  [[nodiscard]] Status start(std::chrono::milliseconds connect_timeout = std::chrono::seconds{30});
  void stop();

  int http_port() const { return http_port_; }
  // (method, pattern) of every HTTP route, in the order they are matched (docs/api.md).
  std::vector<std::pair<std::string, std::string>> http_routes() const;
  const Metrics& metrics() const { return metrics_; }
  Store& store() { return *store_; }
  const Catalog& catalog() const { return catalog_; }
  const CenterConfig& config() const { return config_; }
  // The administrative areas loaded at start (empty index when none are configured).
  const geo::AreaIndex& areas() const { return *areas_; }
  size_t queue_depth() const;

  // Flags the cases late at `now` and publishes each on {prefix}/center/orders/{id}; the SLA
  // thread calls it every sla.check_interval with the wall clock. Returns how many.
  size_t check_sla(Timestamp now);


 private:
  void ingest_loop();
  // The sessions' name to PostgreSQL: gridwatch-center/{id}.
  std::string application_name() const;
  // Streams the cases other centers on the database change (src/case_feed.cc); until stop().
  void follow_other_centers();
  void ingest_batch(std::vector<platform::MqttMessage>& batch);
  // Stores edge events (events[k] arrived on topics[k]) in one transaction; see ingest_batch.
  // Whether each one is now kept (stored, stored before, or a dead letter): false only when the
  // center stopped with the database down.
  std::vector<bool> store_events(const std::vector<Store::EdgeEvent>& events, const std::vector<std::string_view>& topics);
  // False when the center stopped with the database down before the letter was kept.
  bool keep_dead_letter(const std::string& topic, const Error& e, const std::string& payload);
  // Tells each agent which of its order events in `batch` are kept (`kept[i]`), on
  // {prefix}/agents/{id}/stored, so that its outbox forgets them.
  void confirm_stored(const std::vector<platform::MqttMessage>& batch, const std::vector<bool>& kept);
  // Order messages stored per transaction at most.
  static constexpr size_t kIngestBatch = 500;
  void publish_case(const std::string& id, const nlohmann::json& change);
  // Keeps a hotline source's suggestion (logged when the database refuses: the ticket is stored).
  void record_suggestion(const std::string& source_id, const Suggestion& s);

  // The HTTP API (center/src/http/): the server and its routes, one group a file.
  void setup_http();
  void add_service_routes(http::Server& server);  // /healthz, /metrics, /api/v1/stats
  void add_order_routes(http::Server& server);    // cases as GeoJSON, one case, tiles, areas
  void add_action_routes(http::Server& server);   // lifecycle steps, feedback, merge, split, summons
  void add_worker_routes(http::Server& server);   // positions, workers, /api/v1/me
  void add_event_routes(http::Server& server);    // /api/v1/events
  void add_open311_routes(http::Server& server);  // Open311 GeoReport v2
  void add_media_routes(http::Server& server);    // photos and clips
  void add_web_routes(http::Server& server);      // pages, their settings, buildings
  void add_label_routes(http::Server& server);    // dispatchers' categories as training labels
  void add_patrol_routes(http::Server& server);   // patrol reports, tracks, coverage
  void add_analytics_routes(http::Server& server);  // hot spots, emerging hot spots, anomalies
  void add_monthly_problem_routes(http::Server& server);  // 每月一题: candidates, picks, tracking
  void add_report_routes(http::Server& server);  // a report's figures (the wall screen reads them)
  // The month's top candidates with their evidence, and the picked problems tracked (monthly_problems.cc).
  Result<nlohmann::json> monthly_problems(const AnalyticsQuery& q);
  // The parsed analytics request of a caller who may read it, or nullopt after answering 401/403/400.
  std::optional<AnalyticsQuery> analytics_request(AnalyticsKind kind, const http::Request& req, http::Response& res);
  // The grid of worker `id` when `who` may act for them (the worker, or an admin for a worker that
  // has a token), or nullopt after answering 403 (`who` may not `what`) / 404.
  std::optional<std::string> worker_grid(const Principal& who, const std::string& id, http::Response& res,
                                         std::string_view what);
  // The authenticated caller of `req`, or nullopt after answering 401.
  // `query_token`: also ?access_token= (for EventSource and map tiles, which cannot send headers).
  std::optional<Principal> caller(const http::Request& req, http::Response& res, bool query_token = false);
  // A write from outside (limits.per_key / per_address): nullopt when it may pass now, else how
  // long until it may (counted in the metrics). `key` names the valid API key or token the caller
  // showed, "" when none: its address is limited instead.
  std::optional<std::chrono::milliseconds> over_limit(const std::string& key, const http::Request& req);
  // The same for an Open311 caller with `key` (nullptr: none valid). The report page's key is
  // public (/web/config.json): its callers are limited by address like those without a key.
  std::optional<std::chrono::milliseconds> over_limit(const ApiKey* key, const http::Request& req);
  // The case `req.matches[1]` names (it may be one of its sources) if the caller may read it:
  // the caller, the case as a GeoJSON feature, and its sources, history and tasks ({"sources",
  // "history", "tasks"}); nullopt after answering 400 / 401 / 403 / 404 / 503.
  struct ReadableCase {
    Principal who;
    nlohmann::json feature;
    nlohmann::json more;
  };
  std::optional<ReadableCase> readable_case(const http::Request& req, http::Response& res, bool query_token = false);
  // A dispatcher's or a unit's request about the case `req.matches[1]`: its caller, when `may`
  // lets it (else 403 naming `what`), the case id, and its JSON body of `known` fields (else 400
  // showing `usage`); nullopt after answering.
  struct CaseRequest {
    Principal who;
    std::string id;
    nlohmann::json body;
  };
  std::optional<CaseRequest> case_request(const http::Request& req, http::Response& res, bool (Principal::*may)() const,
                                          std::string_view what, std::initializer_list<std::string_view> known,
                                          std::string_view usage);
  // Lifecycle options for a step `who` takes (its scope, the configured dispatch).
  TransitionOptions step_options(const Principal& who) const;
  // Takes a lifecycle step and answers it: the change (also published), or 404 / 409 / 503.
  void answer_step(http::Response& res, const std::string& id, CaseAction action, const std::string& reason,
                   const std::string& actor, const TransitionOptions& options);
  Status load_areas();
  // Asks agent `agent_id` for clip `name` over MQTT and waits up to http.clip_timeout: the clip's bytes,
  // kNotFound with the agent's reason, or kUnavailable when it does not answer.
  Result<std::string> fetch_clip(const std::string& agent_id, const std::string& name);
  // The clip's bytes for the API: from memory when fetched lately (a player asks for one clip
  // several times at once: ranges, seeks), else from the agent, one fetch per clip however many
  // ask (the others wait for it). kUnavailable with field "busy" when kMaxClipFetches other clips
  // are being fetched; fetch_clip()'s errors otherwise.
  Result<std::shared_ptr<const std::string>> clip(const std::string& agent_id, const std::string& name);
  static constexpr size_t kClipCacheBytes = 64u << 20;
  static constexpr int kMaxClipFetches = 2;
  // Paho's thread: an agent's answer on {prefix}/agents/{id}/clips/{request}[/error].
  void clip_reply(const platform::MqttMessage& m);

  CenterConfig config_;
  const Catalog& catalog_;
  Authenticator auth_;
  RateLimiter by_address_, by_key_;
  std::unique_ptr<Store> store_;
  std::shared_ptr<const geo::AreaIndex> areas_;
  std::unique_ptr<PatrolMap> patrol_;  // coverage lattices (set once the areas are loaded)
  std::shared_ptr<const Suggester> suggester_;  // classify.model (nullptr: none configured)
  Timestamp patrol_trimmed_{};         // when old positions were last deleted
  std::unique_ptr<Bus> bus_;  // the broker: Mosquitto or a RabbitMQ cluster (src/bus.h)
  std::unique_ptr<http::Server> http_;
  std::thread ingest_thread_;
  std::thread sla_thread_;
  std::thread feed_thread_;  // follow_other_centers()
  std::promise<void> feed_listening_;  // set once its first LISTEN is in place
  int http_port_ = 0;
  Metrics metrics_;

  platform::MessageQueue queue_;  // order messages, Paho thread -> ingest thread

  struct ClipReply {
    bool error = false;
    std::string payload;
  };
  std::mutex clip_mu_;
  std::condition_variable clip_cv_;
  std::map<std::string, std::optional<ClipReply>> clip_waits_;  // request id -> answer (guarded by clip_mu_)
  std::vector<Building> buildings_;  // web.buildings
  EventHub live_;  // /api/v1/events
  std::atomic<uint64_t> clip_seq_{0};
  std::deque<std::pair<std::string, std::shared_ptr<const std::string>>> clip_cache_;  // oldest first (clip_mu_)
  size_t clip_cache_bytes_ = 0;  // guarded by clip_mu_
  std::set<std::string> clips_in_flight_;  // agent/name being fetched (guarded by clip_mu_)
};

}  // namespace gridwatch::center
