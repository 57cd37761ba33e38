#include "gridwatch/platform/services.h"

#include "service_dir.h"

#include <arpa/inet.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

namespace gridwatch::platform {
namespace fs = std::filesystem;
using namespace std::chrono_literals;

Result<int> free_tcp_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail(ErrorCode::kIo, fmt::format("socket: {}", std::strerror(errno)));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    return fail(ErrorCode::kIo, fmt::format("bind: {}", std::strerror(errno)));
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

bool wait_for_tcp(int port, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::close(fd);
    if (rc == 0) return true;
    std::this_thread::sleep_for(50ms);
  }
  return false;
}

namespace {

constexpr const char* kPgBin = "/usr/lib/postgresql/15/bin";
constexpr const char* kMosquitto = "/usr/sbin/mosquitto";
constexpr const char* kMosquittoPasswd = "/usr/bin/mosquitto_passwd";
constexpr const char* kMosquittoCtrl = "/usr/bin/mosquitto_ctrl";
constexpr const char* kDynsecAdmin = "gw-dynsec-admin";

// The dynamic-security plugin of Debian's mosquitto package, by architecture.
std::optional<fs::path> dynsec_plugin() {
  for (const char* p : {"/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so",
                        "/usr/lib/aarch64-linux-gnu/mosquitto_dynamic_security.so",
                        "/usr/lib/mosquitto_dynamic_security.so"})
    if (fs::exists(p)) return fs::path(p);
  return std::nullopt;
}

Status exec_sql(const std::string& conninfo, const std::string& sql) {
  PGconn* c = PQconnectdb(conninfo.c_str());
  if (PQstatus(c) != CONNECTION_OK) {
    std::string msg = PQerrorMessage(c);
    PQfinish(c);
    return fail(ErrorCode::kUnavailable, fmt::format("connect to private PostgreSQL: {}", msg));
  }
  PGresult* r = PQexec(c, sql.c_str());
  Status st;
  if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
    st = fail(ErrorCode::kIo, fmt::format("{}: {}", sql, PQresultErrorMessage(r)));
  PQclear(r);
  PQfinish(c);
  return st;
}

std::string conninfo_for(int port, const std::string& db) {
  return fmt::format("host=127.0.0.1 port={} user=gridwatch dbname={} connect_timeout=5", port, db);
}

}  // namespace

Result<std::unique_ptr<PrivateServices>> PrivateServices::start(const ServicesOptions& options) {
  std::unique_ptr<PrivateServices> s(new PrivateServices());
  s->options_ = options;
  std::error_code ec;
  fs::create_directories(options.dir, ec);
  if (ec)
    return fail(ErrorCode::kIo, fmt::format("cannot create {}: {}", options.dir.string(),
                                            ec.message()));
  s->options_.dir = fs::canonical(options.dir);
  if (options.rabbitmq_nodes > 0) {
    auto cluster = RabbitCluster::start({.dir = s->options_.dir,
                                         .nodes = options.rabbitmq_nodes,
                                         .outlive_parent = options.outlive_parent});
    if (!cluster) return std::unexpected(cluster.error());
    s->rabbitmq_ = std::move(*cluster);
    s->endpoints_.rabbitmq_nodes = s->rabbitmq_->nodes();
    s->endpoints_.mqtt_url = s->endpoints_.rabbitmq_nodes.front().mqtt_url;
    s->endpoints_.mqtt_port = s->endpoints_.rabbitmq_nodes.front().mqtt_port;
  } else if (options.mosquitto) {
    if (auto st = s->start_mosquitto(); !st) return std::unexpected(st.error());
  }
  if (options.postgres) {
    if (auto st = s->start_postgres(); !st) return std::unexpected(st.error());
  }
  return s;
}

std::string random_secret(size_t bytes) {
  std::ifstream in("/dev/urandom", std::ios::binary);
  std::string out;
  for (size_t i = 0; i < bytes; ++i) {
    char c = 0;
    in.get(c);
    out += fmt::format("{:02x}", static_cast<unsigned char>(c));
  }
  return out;
}

std::string gridwatch_acl(const std::string& p, const AclAccounts& accounts) {
  std::string acl = fmt::format(
      "# The district center\n"
      "user center\n"
      "topic read {0}/orders/#\n"
      "topic readwrite {0}/center/#\n"
      "topic write {0}/agents/+/clips/get\n"
      "topic read {0}/agents/+/clips/#\n"
      "topic write {0}/agents/+/stored\n",
      p);
  for (const std::string& u : accounts.agents)
    acl += fmt::format("\n# Agent {1}: orders and its own status and clips, as itself only\nuser {1}\n"
                       "topic write {0}/orders/{1}\ntopic readwrite {0}/agents/{1}/#\ntopic read {0}/sensors/+/reading\n",
                       p, u);
  for (const std::string& u : accounts.sensors)
    acl += fmt::format("\n# Sensor {1}: its own readings only\nuser {1}\ntopic write {0}/sensors/{1}/reading\n", p, u);
  for (const std::string& u : accounts.superusers) acl += fmt::format("\nuser {}\ntopic readwrite #\n", u);
  for (const std::string& u : accounts.observers) acl += fmt::format("\nuser {}\ntopic read #\n", u);
  return acl;
}

Status PrivateServices::write_broker_accounts(std::string& conf_lines) {
  if (options_.mqtt_accounts.empty()) {
    conf_lines = "allow_anonymous true\n";
    return {};
  }
  const fs::path passwd = options_.dir / "mosquitto.passwd", acl = options_.dir / "mosquitto.acl";
  fs::remove(passwd);
  {
    std::ofstream out(passwd, std::ios::trunc);  // user:password lines, hashed in place below
    for (const MqttAccount& a : options_.mqtt_accounts) out << a.user << ":" << a.password << "\n";
  }
  ::chmod(passwd.c_str(), 0644);  // Mosquitto reads it after dropping to its own user
  if (auto st = run_to_completion({kMosquittoPasswd, "-U", passwd.string()}, {.log_file = options_.dir / "mosquitto_passwd.log"},
                                  10s);
      !st)
    return st;
  ::chmod(passwd.c_str(), 0644);
  conf_lines = fmt::format("allow_anonymous false\npassword_file {}\n", passwd.string());
  if (!options_.mqtt_acl.empty()) {
    std::ofstream(acl, std::ios::trunc) << options_.mqtt_acl;
    ::chmod(acl.c_str(), 0644);
    conf_lines += fmt::format("acl_file {}\n", acl.string());
  }
  endpoints_.mqtt_username = options_.mqtt_accounts.front().user;
  endpoints_.mqtt_password = options_.mqtt_accounts.front().password;
  return {};
}

Status PrivateServices::write_dynsec_config(std::string& conf_lines) {
  const auto plugin = dynsec_plugin();
  if (!plugin) return fail(ErrorCode::kNotFound, "mosquitto_dynamic_security.so not found (Debian package mosquitto)");
  // The plugin saves every change next to its file, as Mosquitto's own user.
  const fs::path dir = options_.dir / "dynsec", file = dir / "dynamic-security.json";
  fs::remove_all(dir);
  fs::create_directories(dir);
  ::chmod(dir.c_str(), 0777);
  dynsec_admin_password_ = random_secret();
  if (auto st = run_to_completion({kMosquittoCtrl, "dynsec", "init", file.string(), kDynsecAdmin, dynsec_admin_password_},
                                  {.log_file = options_.dir / "mosquitto_ctrl.log"}, 10s);
      !st)
    return st;
  ::chmod(file.c_str(), 0666);
  conf_lines = fmt::format("allow_anonymous false\nplugin {}\nplugin_opt_config_file {}\n", plugin->string(),
                           file.string());
  endpoints_.mqtt_username = options_.mqtt_accounts.front().user;
  endpoints_.mqtt_password = options_.mqtt_accounts.front().password;
  return {};
}

Status PrivateServices::add_dynsec_accounts() {
  const std::string port = std::to_string(endpoints_.mqtt_port);
  auto ctrl = [&](std::vector<std::string> args) {
    std::vector<std::string> argv = {kMosquittoCtrl, "-h", "127.0.0.1", "-p", port, "-u", kDynsecAdmin,
                                     "-P", dynsec_admin_password_, "dynsec"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_to_completion(argv, {.log_file = options_.dir / "mosquitto_ctrl.log"}, 10s);
  };
  for (const MqttAccount& a : options_.mqtt_accounts) {
    // One role per account, named after it, holding that account's rights.
    for (auto&& args : std::vector<std::vector<std::string>>{
             {"createClient", a.user, "-p", a.password}, {"createRole", a.user}, {"addClientRole", a.user, a.user}})
      if (auto st = ctrl(args); !st) return st;
  }
  for (const DynsecAcl& acl : options_.mqtt_dynsec_acls)
    if (auto st = ctrl({"addRoleACL", acl.user, acl.type, acl.topic, acl.allow ? "allow" : "deny"}); !st) return st;
  return {};
}

Status PrivateServices::start_mosquitto() {
  fs::path conf = options_.dir / "mosquitto.conf";
  fs::path log = options_.dir / "mosquitto.log";
  std::string access;
  const bool dynsec = options_.mqtt_dynsec && !options_.mqtt_accounts.empty();
  if (auto st = dynsec ? write_dynsec_config(access) : write_broker_accounts(access); !st) return st;
  for (int attempt = 0; attempt < 5; ++attempt) {
    auto port = free_tcp_port();
    if (!port) return std::unexpected(port.error());
    {
      std::ofstream out(conf, std::ios::trunc);
      out << "# Private broker generated by gridwatch.\n"
          << "listener " << *port << (options_.mqtt_address.empty() ? "" : " " + options_.mqtt_address) << "\n"
          << access
          << "persistence false\n"
          << "log_dest stderr\n"
          << "log_type error\nlog_type warning\nlog_type notice\nlog_type information\n"
          << "log_type subscribe\nlog_type unsubscribe\n"
          << "log_timestamp_format %Y-%m-%dT%H:%M:%S\n"
          // Room for a burst of QoS 1 traffic and for a subscriber that is briefly away.
          << "max_inflight_messages 1000\n"
          << "max_queued_messages 100000\n";
    }
    ::chmod(conf.c_str(), 0644);
    SpawnOptions so;
    so.log_file = log;
    so.die_with_parent = !options_.outlive_parent;
    so.new_session = options_.outlive_parent;
    auto child = ChildProcess::spawn({kMosquitto, "-c", conf.string()}, so);
    if (!child) return std::unexpected(child.error());
    if (wait_for_tcp(*port, 10s)) {
      mosquitto_.emplace(std::move(*child));
      endpoints_.mqtt_port = *port;
      endpoints_.mqtt_url = fmt::format("tcp://127.0.0.1:{}", *port);
      spdlog::info("private Mosquitto on {} (log {})", endpoints_.mqtt_url, log.string());
      if (dynsec) return add_dynsec_accounts();
      return {};
    }
    child->stop(2s);  // port taken in the meantime, or a start failure: try another port
  }
  return fail(ErrorCode::kUnavailable,
              fmt::format("private Mosquitto did not start; see {}", log.string()));
}

void PrivateServices::kill_mosquitto() {
  if (!mosquitto_ || mosquitto_->pid() <= 0) return;
  ::kill(mosquitto_->pid(), SIGKILL);
  mosquitto_->wait(10s);
  mosquitto_.reset();
}

Status PrivateServices::restart_mosquitto() {
  kill_mosquitto();
  SpawnOptions so;
  so.log_file = options_.dir / "mosquitto.log";
  so.die_with_parent = !options_.outlive_parent;
  so.new_session = options_.outlive_parent;
  auto child = ChildProcess::spawn({kMosquitto, "-c", (options_.dir / "mosquitto.conf").string()}, so);
  if (!child) return std::unexpected(child.error());
  // Its port answering is not enough: another process may have taken it meanwhile.
  if (!wait_for_tcp(endpoints_.mqtt_port, 10s) || !child->running())
    return fail(ErrorCode::kUnavailable, fmt::format("private Mosquitto did not start again on port {}; see {}",
                                                     endpoints_.mqtt_port, so.log_file.string()));
  mosquitto_.emplace(std::move(*child));
  return {};
}

void PrivateServices::kill_postgres() {
  if (!postgres_ || postgres_->pid() <= 0 || !postgres_->running()) return;
  // The whole server at once, as a crash takes it: the postmaster's children (sessions, WAL
  // writer, checkpointer) first, while they are still its children, then the postmaster. (Killing
  // the postmaster alone leaves its sessions running, and committing, until they notice.)
  const pid_t pm = postgres_->pid();
  ::kill(pm, SIGSTOP);  // no new children meanwhile
  for (const ProcessInfo& p : list_processes())
    if (p.parent == pm) ::kill(p.pid, SIGKILL);
  ::kill(pm, SIGKILL);
  postgres_->wait(10s);
  postgres_.reset();
}

Status PrivateServices::restart_postgres() {
  kill_postgres();
  const fs::path log = options_.dir / "postgres.log";
  // The sessions of the killed server may hold the shared memory for a moment: retry for 30 s.
  for (auto end = std::chrono::steady_clock::now() + 30s;;) {
    auto port = spawn_postgres(pg_data_, log, postgres_, endpoints_.pg_port);
    if (port) return {};
    if (std::chrono::steady_clock::now() > end) return std::unexpected(port.error());
    std::this_thread::sleep_for(500ms);
  }
}

Status PrivateServices::start_postgres() {
  const std::optional<std::string> run_as = service_user("GRIDWATCH_PG_USER", "postgres");
  std::optional<UserIds> ids;
  if (run_as) {
    ids = lookup_user(*run_as);
    if (!ids) return fail(ErrorCode::kIo, fmt::format("no user \"{}\" to run PostgreSQL", *run_as));
  }
  std::error_code ec;
  fs::remove_all(options_.dir / "postgres" / "data", ec);
  auto base = make_service_dir(options_.dir, "postgres", ids);
  if (!base) return std::unexpected(base.error());
  pg_data_ = base->path / "data";
  pg_data_is_temp_ = base->is_temp;
  fs::path log = options_.dir / "postgres.log";
  fs::remove(log, ec);
  auto st = run_to_completion({fmt::format("{}/initdb", kPgBin), "-D", pg_data_.string(), "-U",
                               "gridwatch", "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8",
                               "--no-sync"},
                              pg_spawn_options(log), 120s);
  if (!st) return std::unexpected(st.error());
  auto port = spawn_postgres(pg_data_, log, postgres_);
  if (!port) return std::unexpected(port.error());
  if (auto r = exec_sql(conninfo_for(*port, "postgres"), "CREATE DATABASE gridwatch"); !r) return r;
  endpoints_.pg_port = *port;
  endpoints_.pg_conninfo = conninfo_for(*port, "gridwatch");
  if (auto r = exec_sql(endpoints_.pg_conninfo, "CREATE EXTENSION IF NOT EXISTS postgis"); !r) return r;
  spdlog::info("private PostgreSQL + PostGIS on 127.0.0.1:{} (data {}, log {})", *port, pg_data_.string(), log.string());
  if (options_.pg_replica) return start_replica();
  return {};
}

SpawnOptions PrivateServices::pg_spawn_options(const fs::path& log) const {
  SpawnOptions so;
  so.log_file = log;
  so.run_as = service_user("GRIDWATCH_PG_USER", "postgres");
  so.working_dir = pg_data_.parent_path();
  so.stop_signal = SIGINT;  // "fast" shutdown
  so.die_with_parent = !options_.outlive_parent;
  so.new_session = options_.outlive_parent;
  return so;
}

Result<int> PrivateServices::spawn_postgres(const fs::path& data, const fs::path& log, std::optional<ChildProcess>& into,
                                            int fixed_port) {
  const SpawnOptions so = pg_spawn_options(log);
  const char* sync = options_.durable ? "on" : "off";
  for (int attempt = 0; attempt < 5; ++attempt) {
    auto port = fixed_port > 0 ? Result<int>(fixed_port) : free_tcp_port();
    if (!port) return std::unexpected(port.error());
    auto child = ChildProcess::spawn(
        {fmt::format("{}/postgres", kPgBin), "-D", data.string(), "-p", std::to_string(*port),
         "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=", "-c",
         fmt::format("fsync={}", sync), "-c", fmt::format("synchronous_commit={}", sync), "-c",
         fmt::format("full_page_writes={}", sync), "-c", "max_connections=100"},
        so);
    if (!child) return std::unexpected(child.error());
    const std::string admin = conninfo_for(*port, "postgres");
    auto deadline = std::chrono::steady_clock::now() + 30s;
    while (std::chrono::steady_clock::now() < deadline && child->running()) {
      if (PQping(admin.c_str()) == PQPING_OK) {
        into.emplace(std::move(*child));
        return *port;
      }
      std::this_thread::sleep_for(50ms);
    }
    child->stop(5s);
  }
  return fail(ErrorCode::kUnavailable, fmt::format("private PostgreSQL did not start; see {}", log.string()));
}

Status PrivateServices::start_replica() {
  // A copy of the primary taken over its replication connection (pg_hba from initdb lets
  // 127.0.0.1 replicate), -R: it starts as a hot standby that streams from the primary.
  replica_data_ = pg_data_.parent_path() / "replica";
  std::error_code ec;
  fs::remove_all(replica_data_, ec);
  const fs::path log = options_.dir / "postgres-replica.log";
  fs::remove(log, ec);
  if (auto st = run_to_completion({fmt::format("{}/pg_basebackup", kPgBin), "-h", "127.0.0.1", "-p",
                                   std::to_string(endpoints_.pg_port), "-U", "gridwatch", "-D", replica_data_.string(),
                                   "-R", "-X", "stream", "-c", "fast", "--no-sync"},
                                  pg_spawn_options(log), 120s);
      !st)
    return st;
  auto port = spawn_postgres(replica_data_, log, replica_);
  if (!port) return std::unexpected(port.error());
  endpoints_.pg_replica_conninfo = conninfo_for(*port, "gridwatch");
  spdlog::info("private PostgreSQL streaming replica on 127.0.0.1:{} (log {})", *port, log.string());
  return {};
}

void PrivateServices::stop() {
  if (replica_) {
    replica_->stop(20s);
    replica_.reset();
  }
  if (postgres_) {
    postgres_->stop(20s);
    postgres_.reset();
  }
  if (mosquitto_) {
    mosquitto_->stop(5s);
    mosquitto_.reset();
  }
  if (rabbitmq_) rabbitmq_->stop();
  rabbitmq_.reset();
  if (!pg_data_.empty()) {
    std::error_code ec;
    fs::remove_all(pg_data_is_temp_ ? pg_data_.parent_path() : pg_data_, ec);
    pg_data_.clear();
  }
  if (!replica_data_.empty()) {
    std::error_code ec;
    fs::remove_all(replica_data_, ec);
    replica_data_.clear();
  }
}

PrivateServices::~PrivateServices() { stop(); }

Status PrivateServices::detach() {
  nlohmann::json j = {{"mqtt_url", endpoints_.mqtt_url},
                      {"mqtt_port", endpoints_.mqtt_port},
                      {"mqtt_username", endpoints_.mqtt_username},
                      {"mqtt_password", endpoints_.mqtt_password},
                      {"pg_conninfo", endpoints_.pg_conninfo},
                      {"pg_port", endpoints_.pg_port},
                      {"pg_data", pg_data_.string()},
                      {"pg_data_is_temp", pg_data_is_temp_},
                      {"mosquitto_pid", mosquitto_ ? mosquitto_->release() : -1},
                      {"postgres_pid", postgres_ ? postgres_->release() : -1},
                      {"pg_replica_conninfo", endpoints_.pg_replica_conninfo},
                      {"replica_pid", replica_ ? replica_->release() : -1},
                      {"replica_data", replica_data_.string()}};
  replica_data_.clear();
  replica_.reset();
  if (rabbitmq_) j["rabbitmq"] = rabbitmq_->detach();
  rabbitmq_.reset();
  mosquitto_.reset();
  postgres_.reset();
  pg_data_.clear();
  std::ofstream out(options_.dir / "services.json", std::ios::trunc);
  out << j.dump(2) << "\n";
  if (!out) return fail(ErrorCode::kIo, "cannot write services.json");
  return {};
}

Result<ServiceEndpoints> PrivateServices::read_state(const fs::path& dir) {
  std::ifstream in(dir / "services.json");
  if (!in)
    return fail(ErrorCode::kNotFound,
                fmt::format("{}: no services.json (are the services up?)", dir.string()));
  auto j = nlohmann::json::parse(in, nullptr, false);
  if (j.is_discarded()) return fail(ErrorCode::kParse, "services.json is not valid JSON");
  ServiceEndpoints e;
  e.mqtt_url = j.value("mqtt_url", "");
  e.mqtt_port = j.value("mqtt_port", 0);
  e.mqtt_username = j.value("mqtt_username", "");
  e.mqtt_password = j.value("mqtt_password", "");
  e.pg_conninfo = j.value("pg_conninfo", "");
  e.pg_port = j.value("pg_port", 0);
  e.pg_replica_conninfo = j.value("pg_replica_conninfo", "");
  if (j.contains("rabbitmq"))
    for (const auto& n : j["rabbitmq"].value("nodes", nlohmann::json::array()))
      e.rabbitmq_nodes.push_back({.name = n.value("name", ""), .amqp_url = n.value("amqp_url", ""),
                                  .mqtt_url = n.value("mqtt_url", "")});
  return e;
}

Status PrivateServices::stop_detached(const fs::path& dir) {
  std::ifstream in(dir / "services.json");
  if (!in) return {};
  auto j = nlohmann::json::parse(in, nullptr, false);
  in.close();
  if (j.is_discarded()) return fail(ErrorCode::kParse, "services.json is not valid JSON");
  bool ok = stop_foreign_process(j.value("replica_pid", -1), SIGINT, 20s);
  ok = stop_foreign_process(j.value("postgres_pid", -1), SIGINT, 20s) && ok;
  ok = stop_foreign_process(j.value("mosquitto_pid", -1), SIGTERM, 5s) && ok;
  if (j.contains("rabbitmq")) ok = RabbitCluster::stop_detached(j["rabbitmq"]) && ok;
  std::error_code ec;
  std::string data = j.value("pg_data", "");
  if (!data.empty()) {
    fs::path p(data);
    fs::remove_all(j.value("pg_data_is_temp", false) ? p.parent_path() : p, ec);
  }
  if (const std::string replica = j.value("replica_data", ""); !replica.empty()) fs::remove_all(replica, ec);
  fs::remove(dir / "services.json", ec);
  if (!ok) return fail(ErrorCode::kIo, "a private service did not stop");
  return {};
}

}  // namespace gridwatch::platform
