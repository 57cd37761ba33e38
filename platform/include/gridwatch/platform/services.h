// Private broker and database: a Mosquitto (or a RabbitMQ cluster) and a PostgreSQL + PostGIS that gridwatch starts
// for itself, on free loopback ports, in a directory it owns. Used by the demo and the tests;
// nothing touches system-wide services.
//
// PostgreSQL refuses to run as root, so when gridwatch runs as root the database runs as the
// user `postgres` (or GRIDWATCH_PG_USER). Its data directory goes under `dir` when that user can
// reach it, otherwise into a fresh directory under the system temp dir (removed on stop).
// Mosquitto started as root drops to its own `mosquitto` user by itself.
//
// A PrivateServices object owns its processes and stops them (fast shutdown, then SIGKILL) when
// destroyed, unless detach() was called; detached services are stopped later with
// stop_detached(dir). Not thread-safe: one owner.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gridwatch/domain/error.h"
#include "gridwatch/platform/process.h"
#include "gridwatch/platform/rabbitmq.h"

namespace gridwatch::platform {

struct ServiceEndpoints {
  std::string mqtt_url;     // tcp://127.0.0.1:PORT
  int mqtt_port = 0;
  std::string mqtt_username, mqtt_password;  // the first of ServicesOptions::mqtt_accounts, if any
  std::string pg_conninfo;  // libpq keyword/value string for database "gridwatch"
  int pg_port = 0;
  std::string pg_replica_conninfo;  // with ServicesOptions::pg_replica: its streaming replica
  // With ServicesOptions::rabbitmq_nodes: the cluster's nodes (mqtt_url is then the first one's).
  std::vector<RabbitNode> rabbitmq_nodes;
};

struct MqttAccount {
  std::string user, password;
};

// The ACL of a gridwatch broker (Mosquitto syntax) for topic prefix `prefix` (which may contain
// `+` levels), one entry per account so that an agent and a sensor can never pass for each other:
// user `center` reads orders and clip answers, writes case updates and clip requests; each of
// `agents` publishes orders on {prefix}/orders/{id}, uses {prefix}/agents/{id}/# and reads the
// readings; each of `sensors` publishes {prefix}/sensors/{id}/reading only; `superusers` read and
// write everything; `observers` read everything. Anyone else may do nothing.
struct AclAccounts {
  std::vector<std::string> agents, sensors, superusers, observers;
};
std::string gridwatch_acl(const std::string& prefix, const AclAccounts& accounts);

// One right of an account under Mosquitto's dynamic-security plugin: `type` is one of its ACL
// types (subscribePattern, subscribeLiteral, publishClientSend, publishClientReceive, ...), `topic`
// a filter, `allow` false to deny.
struct DynsecAcl {
  std::string user, type, topic;
  bool allow = true;
};

// `bytes` random bytes from /dev/urandom as hex: passwords of the private broker's accounts.
std::string random_secret(size_t bytes = 16);

struct ServicesOptions {
  std::filesystem::path dir;  // created if missing; logs and configs live here
  bool mosquitto = true;
  bool postgres = true;
  bool durable = false;  // fsync on; off for tests and the demo (faster, no crash safety)
  // A streaming replica of the database as well (pg_basebackup -R, hot standby), read-only.
  bool pg_replica = false;
  bool outlive_parent = false;  // needed for detach(): not killed when this process exits
  // Non-empty: the broker refuses anonymous clients, knows these accounts (hashed with
  // mosquitto_passwd) and applies `mqtt_acl` (Mosquitto ACL file text; empty: no restriction).
  std::vector<MqttAccount> mqtt_accounts;
  std::string mqtt_acl;
  // With mqtt_accounts: keep the accounts in Mosquitto's dynamic-security plugin instead of a
  // password file, with the rights of `mqtt_dynsec_acls` (mqtt_acl is not used). Unlike an ACL
  // file, which only filters what is delivered and grants every SUBSCRIBE, the plugin refuses a
  // subscription the account may not make (SUBACK 0x80) and denies what no ACL allows.
  bool mqtt_dynsec = false;
  // The broker's listening address; empty: every address of the host (for a test in a network
  // namespace of its own, whose clients reach it at other loopback addresses such as 127.0.0.2).
  std::string mqtt_address = "127.0.0.1";
  std::vector<DynsecAcl> mqtt_dynsec_acls;
  // More than 0: a private RabbitMQ cluster of that many nodes as the broker (MQTT for agents,
  // AMQP for centers; see rabbitmq.h), instead of Mosquitto.
  int rabbitmq_nodes = 0;
};

class PrivateServices {
 public:
  // Starts what `options` asks for and waits until each accepts connections (the database
  // also has CREATE EXTENSION postgis done). A previous run's leftovers in `dir` are removed.
  [[nodiscard]] static Result<std::unique_ptr<PrivateServices>> start(const ServicesOptions& options);
  ~PrivateServices();

  const ServiceEndpoints& endpoints() const { return endpoints_; }
  const std::filesystem::path& dir() const { return options_.dir; }
  // The RabbitMQ cluster when ServicesOptions::rabbitmq_nodes asked for one (to kill and restart
  // its nodes in tests), else nullptr.
  RabbitCluster* rabbitmq() { return rabbitmq_.get(); }
  // The PostgreSQL server's process (its postmaster; the sessions are its children), or -1.
  pid_t postgres_pid() const { return postgres_ ? postgres_->pid() : -1; }
  // The broker's process (Mosquitto), or -1.
  pid_t mosquitto_pid() const { return mosquitto_ ? mosquitto_->pid() : -1; }
  // Faults for tests: kill -9 of the broker or of the database, and a start again on the same
  // port (the database on its data directory: PostgreSQL runs its crash recovery first).
  void kill_mosquitto();
  [[nodiscard]] Status restart_mosquitto();
  void kill_postgres();
  [[nodiscard]] Status restart_postgres();
  // Stops both services and removes the database's data directory.
  void stop();
  // Leaves the services running and records them in DIR/services.json for stop_detached().
  Status detach();

  // Reads DIR/services.json written by detach().
  [[nodiscard]] static Result<ServiceEndpoints> read_state(const std::filesystem::path& dir);
  // Stops services recorded in DIR/services.json; harmless when nothing runs.
  static Status stop_detached(const std::filesystem::path& dir);

 private:
  PrivateServices() = default;
  Status start_mosquitto();
  // The password (and ACL) file lines of mosquitto.conf for options_.mqtt_accounts / mqtt_acl.
  Status write_broker_accounts(std::string& conf_lines);
  // The dynamic-security variant: initialises the plugin's file (conf_lines load it); after the
  // broker is up, add_dynsec_accounts() creates the accounts and their rights through it.
  Status write_dynsec_config(std::string& conf_lines);
  Status add_dynsec_accounts();
  std::string dynsec_admin_password_;
  Status start_postgres();
  Status start_replica();
  // Starts `postgres` on `data` (as the database's user), waits until it answers: its port.
  Result<int> spawn_postgres(const std::filesystem::path& data, const std::filesystem::path& log,
                             std::optional<ChildProcess>& into, int fixed_port = 0);
  SpawnOptions pg_spawn_options(const std::filesystem::path& log) const;

  ServicesOptions options_;
  ServiceEndpoints endpoints_;
  std::optional<ChildProcess> mosquitto_;
  std::unique_ptr<RabbitCluster> rabbitmq_;
  std::optional<ChildProcess> postgres_;
  std::optional<ChildProcess> replica_;
  std::filesystem::path replica_data_;
  std::filesystem::path pg_data_;
  bool pg_data_is_temp_ = false;
};

// A TCP port on 127.0.0.1 that was free a moment ago.
[[nodiscard]] Result<int> free_tcp_port();
// True once something accepts TCP connections on 127.0.0.1:port, false after `timeout`.
bool wait_for_tcp(int port, std::chrono::milliseconds timeout);

}  // namespace gridwatch::platform
