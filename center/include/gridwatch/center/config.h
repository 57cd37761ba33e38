// The district center's configuration (one YAML file; reference in docs/configuration.md).
// Errors say "FILE:LINE: KEY: reason" (ErrorCode::kConfig).
#pragma once

#include "gridwatch/platform/mqtt.h"

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gridwatch/center/auth.h"
#include "gridwatch/center/queries.h"
#include "gridwatch/center/rate_limit.h"
#include "gridwatch/domain/catalog.h"
#include "gridwatch/domain/error.h"
#include "gridwatch/domain/time.h"
#include "gridwatch/geo/areas.h"
#include "gridwatch/geo/patrol.h"

namespace gridwatch::center {

struct AreaLayerConfig {
  std::filesystem::path file;  // relative paths are relative to the config file
  geo::LayerOptions options;
  // Instead of a file: SYNTHETIC square cells of about this many metres cut from the areas of
  // the level above (all of them, or those whose codes are in `synthetic_within`).
  double synthetic_cell_m = 0;
  std::vector<std::string> synthetic_within;
};

// An Open311 API key: who may POST requests. `name` is logged and stored with each ticket.
struct ApiKey {
  std::string name;
  std::string key;         // empty when only its digest is configured
  std::string key_sha256;  // the key's SHA-256 in hex (`key_sha256`); empty: computed from `key`
};
// The key's SHA-256 in hex, as configured or computed.
std::string api_key_digest(const ApiKey& k);
// The entry whose key is `key` (keys are unique), compared by digest in constant time; nullptr
// for an empty or unknown key.
const ApiKey* find_api_key(const std::vector<ApiKey>& keys, std::string_view key);

// The web pages (docs/web.md): where the built files are, the base map, the report page.
struct WebConfig {
  std::filesystem::path root;  // the built pages (web/dist); empty: the center serves no pages
  // A base map of the deployment's own tile server ({z}/{x}/{y} URL); empty: the administrative
  // layers are the base.
  std::string tile_url;
  std::string tile_type = "raster";  // raster | vector (a MapLibre style JSON URL)
  std::string tile_crs = "wgs84";    // wgs84 | gcj02 (Chinese tile sources): the pages shift cases to it
  std::string tile_attribution;
  // The open311.api_keys entry the report page posts with (its key is given to the page: it
  // names the channel, it is not a secret); empty: the report page only shows the building.
  std::string report_key;
  std::filesystem::path buildings;  // the building registry (一楼一码), see buildings.h
  // Other origins the pages may load from (a vector style's glyphs and sprites, say), besides the
  // center and the tile URL's: the pages' Content-Security-Policy names them.
  std::vector<std::string> origins;
};

// The Content-Security-Policy of the pages: the center's own scripts and styles, images and
// data from the center, the tile URL's origin and web.origins.
std::string content_security_policy(const WebConfig& web);

// Grid workers' rounds (docs/patrol.md): tracks, their glitch rule and the coverage lattice.
struct PatrolConfig {
  std::string time_zone = "Asia/Shanghai";  // the day a position counts for
  int keep_days = 30;                       // positions and coverage older than this are deleted
  double cell_m = 50;                       // the coverage lattice's cells
  double pass_m = 25;                       // a cell is passed when its centre is this near the track
  geo::GlitchRule glitch;                   // max_speed, min_jump
  Duration max_gap = std::chrono::minutes{2};  // two fixes further apart in time are not joined
};

// Dispatch suggestions from the text of hotline tickets (docs/classify.md).
struct ClassifyConfig {
  std::filesystem::path model;  // empty: no suggestions (and Open311 needs a service_code)
  // A suggestion fills the category of a ticket that came without one when its p is at least
  // this; nullopt: the model's own suggested threshold.
  std::optional<double> auto_threshold;
  std::vector<std::string> safety_words;   // empty: the built-in list
  std::vector<std::string> safety_except;  // empty: the built-in list
};

struct CenterConfig {
  std::string id = "center-1";
  std::string log_level = "info";
  std::filesystem::path catalog;  // empty: the built-in catalog
  // broker
  // mosquitto: MQTT, the order stream a shared subscription ($share/{share_group}/...);
  // rabbitmq: AMQP 0-9-1 to a RabbitMQ cluster, the order stream the quorum queue
  // "{share_group}-orders" (agents still speak MQTT to the cluster's MQTT plugin).
  enum class BrokerKind { kMosquitto, kRabbitmq };
  BrokerKind broker_kind = BrokerKind::kMosquitto;
  std::string broker_url = "tcp://127.0.0.1:1883";  // amqp://host:port[/vhost] with rabbitmq
  std::vector<std::string> broker_failover_urls;    // other nodes, tried in turn after broker_url
  std::string topic_prefix = "gw/v1";
  std::string share_group = "center";
  std::string username;
  std::string password;
  platform::BrokerTls broker_tls;  // with an ssl:// url
  // Lifecycle updates and clip requests kept while the broker is unreachable; beyond it a
  // publish fails, is logged and counted (gw_center_publish_failures_total).
  int max_buffered = 10000;
  // database
  std::string conninfo = "host=127.0.0.1 port=5432 dbname=gridwatch user=gridwatch";
  // A streaming replica for the reads that may be a second stale (Store::set_read_replica);
  // empty: everything on conninfo.
  std::string read_conninfo;
  int pool_size = 4;
  // http
  std::string http_host = "127.0.0.1";
  int http_port = 8080;  // 0: any free port
  int http_threads = 8;      // workers for handlers (connections and event streams need none)
  size_t http_queue = 256;   // requests waiting for a worker; more are answered 503
  // HTTPS (http.tls.cert, http.tls.key): PEM files; empty: plain HTTP.
  std::filesystem::path tls_cert, tls_key;
  // GET /api/v1/orders/{id}/clip waits this long for the agent that keeps the clip
  std::chrono::milliseconds clip_timeout{std::chrono::seconds{20}};
  // administrative layers, coarsest first
  std::vector<AreaLayerConfig> areas;
  // dispatch: the area level whose code names the unit a case goes to (直派街乡镇)
  std::string dispatch_level = "street";
  // and to the nearest on-duty grid worker of the case's area of this level, when one reported
  // its position within worker_fresh
  std::string worker_level = "grid";
  Duration worker_fresh = std::chrono::minutes{15};
  // API tokens (auth.tokens); none: /api/v1 refuses every request
  std::vector<ApiToken> tokens;
  Duration sla_check_interval = std::chrono::seconds{30};
  // Open311 intake
  std::vector<ApiKey> api_keys;
  int open311_page_size = 50;  // requests per page of GET requests
  // limits
  size_t max_payload_bytes = 256 * 1024;
  size_t max_queue = 1'000'000;
  // Writes from outside (Open311 POSTs, photo uploads): per client address when the caller shows
  // no valid key or token, per key or token when it does; 429 + Retry-After beyond. Refused
  // Open311 posts are kept as dead letters up to refusals_kept, the oldest deleted beyond.
  RateLimit per_address{.rate = 1, .burst = 10};
  RateLimit per_key{.rate = 50, .burst = 200};
  size_t refusals_kept = 10'000;
  WebConfig web;
  PatrolConfig patrol;
  ClassifyConfig classify;
  AnalyticsDefaults analytics;  // hot spots, emerging hot spots, anomalies (docs/analytics.md)
};

[[nodiscard]] Result<CenterConfig> load_center_config(const std::filesystem::path& path);
[[nodiscard]] Result<CenterConfig> parse_center_config(std::string_view yaml, std::string source);

}  // namespace gridwatch::center
