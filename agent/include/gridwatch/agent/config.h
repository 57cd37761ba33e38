// The edge agent's configuration (one YAML file; reference in docs/configuration.md).
//
// load_agent_config() reads one YAML file, or every *.yaml file of a folder in name order (each
// section in one file only; `sensors` and `cameras` are joined across files). It refuses unknown
// keys and bad values with "FILE:LINE: KEY: reason" (ErrorCode::kConfig). The result is a plain value.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "gridwatch/domain/catalog.h"
#include "gridwatch/domain/error.h"
#include "gridwatch/domain/order.h"
#include "gridwatch/geo/areas.h"
#include "gridwatch/rules/engine.h"
#include "gridwatch/rules/ruleset.h"
#include "gridwatch/vision/config.h"

namespace gridwatch::agent {

struct BrokerConfig {
  std::string url = "tcp://127.0.0.1:1883";
  std::vector<std::string> failover_urls;  // other nodes tried in turn when url is unreachable
  std::string topic_prefix = "gw/v1";
  std::string username;
  std::string password;
  std::chrono::seconds keepalive{20};
  int max_inflight = 1000;
  // TLS (an ssl:// url): PEM files, relative paths resolved against the config file
  std::string ca_file, cert_file, key_file;
};

// The durable outbox (store and forward) between the rule engine and the broker.
struct OutboxConfig {
  uint64_t max_bytes = 256ull << 20;  // pending events kept at most; then the oldest low-priority go
  double drain_rate = 500;            // events a second published at most (a backlog drains at this rate)
  bool fsync = true;                  // every event on stable storage before it is published
  // An event the center has not confirmed stored this long after the broker took it is
  // published again (the broker or the center may have lost it).
  Duration confirm_timeout{std::chrono::seconds{30}};
};

// Evidence on the box: the snapshot an order carries, and how long clips and snapshots are kept.
struct EvidenceSettings {
  std::filesystem::path dir;            // default DATA_DIR/evidence; each camera in a folder of its id
  uint64_t snapshot_max_bytes = 150 * 1024;  // JPEG in an order at most (re-encoded smaller to fit)
  Duration keep{std::chrono::hours{24 * 7}};  // snapshots and clips older than this are deleted
  uint64_t max_disk_bytes = 2ull << 30;       // then the oldest go first until the folder fits
};

// The grid cells the agent knows (optional): an order's location names the cell it lies in.
struct AreasSettings {
  std::filesystem::path file;  // GeoJSON FeatureCollection of grid cells; empty: none
  geo::LayerOptions options{.level_name = "grid"};  // id_property (empty: the feature's id) and crs
};

struct SensorConfig {
  std::string device_id;
  std::string type;  // reading type it sends, e.g. bin_fill
  std::string group;               // for rules with subject group or input groups
  std::vector<std::string> tags;   // for rules with input tags
  OrderLocation location;
  std::string description;
};

struct AgentConfig {
  std::string id;
  std::filesystem::path data_dir;  // dead letters; default ./gridwatch-data/agent-{id}
  std::string log_level = "info";
  BrokerConfig broker;
  std::chrono::milliseconds status_interval{std::chrono::seconds{30}};
  std::string metrics_listen;  // "127.0.0.1:9464": Prometheus text at /metrics; empty: off
  AreasSettings areas;
  EvidenceSettings evidence;
  std::vector<vision::CameraConfig> cameras;
  OutboxConfig outbox;
  std::vector<SensorConfig> sensors;
  rules::RuleSet rules;             // inline `rules:` or the file it names
  std::filesystem::path rules_file;  // empty when inline

  // The sensors as the rule engine's device registry.
  std::vector<rules::DeviceInfo> devices() const;

  const SensorConfig* sensor(std::string_view device_id) const;
  // The configuration files it was read from (one, or the folder's).
  std::vector<std::filesystem::path> files;
};

[[nodiscard]] Result<AgentConfig> load_agent_config(const std::filesystem::path& path,
                                                    const Catalog& catalog);
[[nodiscard]] Result<AgentConfig> parse_agent_config(std::string_view yaml, std::string source,
                                                     const Catalog& catalog);

}  // namespace gridwatch::agent
