// A private RabbitMQ cluster: N nodes of Debian's rabbitmq-server on loopback ports, each with
// the MQTT plugin, formed into one cluster at boot (classic peer discovery). Used by the tests,
// the scale-out benchmark and `gridwatch demo --cluster`; nothing touches a system RabbitMQ.
//
// Everything is the cluster's own: node names (gw-1@localhost ...), data directories, its own
// Erlang port mapper (epmd) on a free port, and an Erlang cookie made for it. When gridwatch runs
// as root the nodes run as the user `rabbitmq` (or GRIDWATCH_RABBITMQ_USER). Clients: AMQP and
// MQTT as the loopback-only `guest` account (MQTT anonymous clients are `guest` too).
//
// A RabbitCluster owns its processes and stops them when destroyed unless detach() was called.
// kill() is a power cut of one node (SIGKILL), restart() boots it again on its data. Not
// thread-safe: one owner.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "gridwatch/domain/error.h"
#include "gridwatch/platform/process.h"

namespace gridwatch::platform {

struct RabbitNode {
  std::string name;  // Erlang node name, gw-1@localhost
  int amqp_port = 0, mqtt_port = 0, dist_port = 0;
  std::string amqp_url;  // amqp://guest:guest@127.0.0.1:PORT
  std::string mqtt_url;  // tcp://127.0.0.1:PORT
};

// A node's AMQP URL without its account (amqp://127.0.0.1:PORT): what a center's broker.url takes,
// the account being broker.username/password.
std::string amqp_address(const RabbitNode& node);

struct RabbitClusterOptions {
  std::filesystem::path dir;  // logs and configs; data too when the nodes' user can reach it
  int nodes = 3;
  bool outlive_parent = false;  // needed for detach()
  std::chrono::seconds boot_timeout{120};
};

class RabbitCluster {
 public:
  // Boots the nodes in parallel and waits until each accepts AMQP and MQTT and all are running
  // in one cluster. A previous cluster's leftovers in `dir` are stopped and removed.
  [[nodiscard]] static Result<std::unique_ptr<RabbitCluster>> start(const RabbitClusterOptions& options);
  ~RabbitCluster();

  const std::vector<RabbitNode>& nodes() const { return nodes_; }
  // {"nodes": [{"name", "amqp_url", "mqtt_url"}...]} as `services up` prints it.
  nlohmann::json describe() const;

  // SIGKILL of node `i` (0-based): no shutdown, as in a power cut.
  void kill(size_t i);
  // Boots node `i` again on its data and waits until it accepts connections.
  [[nodiscard]] Status restart(size_t i);
  // Runs rabbitmqctl against node `i` (its output, or kIo with it).
  [[nodiscard]] Result<std::string> ctl(size_t i, const std::vector<std::string>& args,
                                        std::chrono::seconds timeout = std::chrono::seconds{60});
  // The node holding the leader of quorum queue `queue` (index in nodes()), asked of node `via`.
  [[nodiscard]] Result<size_t> queue_leader(const std::string& queue, size_t via = 0);

  void stop();
  // Leaves the nodes running; what stop_detached() needs to stop them, as JSON.
  [[nodiscard]] nlohmann::json detach();
  static bool stop_detached(const nlohmann::json& state);

 private:
  RabbitCluster() = default;
  Status write_configs();
  Status spawn_node(size_t i);
  // Waits until node `i` accepts AMQP and MQTT, or its process ended.
  Status wait_mqtt(size_t i, std::chrono::steady_clock::time_point deadline);  // takes an MQTT client
  Status wait_node(size_t i, std::chrono::steady_clock::time_point deadline);
  Status wait_clustered(std::chrono::steady_clock::time_point deadline);
  std::vector<std::string> node_env(size_t i) const;
  SpawnOptions spawn_options(const std::filesystem::path& log) const;

  RabbitClusterOptions options_;
  std::optional<std::string> run_as_;
  std::filesystem::path data_;  // node data, the cookie's home
  bool data_is_temp_ = false;
  int epmd_port_ = 0;
  std::optional<ChildProcess> epmd_;
  std::vector<RabbitNode> nodes_;
  std::vector<std::optional<ChildProcess>> procs_;
};

}  // namespace gridwatch::platform
