// The chaos tests' world (chaos_test.cc): three real agents (`gridwatch agent`, 50 bin sensors
// each) and two real centers (`gridwatch center`, one share group) on a private Mosquitto and a
// private PostgreSQL + PostGIS that each run starts for itself, so that a test may kill them;
// the sensors' readings step by step, and what the books are read from (the agents' logs, the
// stored events, the processes' metrics).
#pragma once

#include <gtest/gtest.h>

#include <signal.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "gridwatch/domain/order.h"
#include "gridwatch/domain/time.h"
#include "gridwatch/platform/mqtt.h"
#include "gridwatch/platform/process.h"
#include "gridwatch/platform/services.h"
#include "support.h"

namespace gridwatch::testing::chaos {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

inline constexpr int kAgents = 3;
inline constexpr int kDevices = 50;  // per agent
inline constexpr int kSteps = 68;    // readings per device: 34 opens and 34 clears
inline constexpr auto kLateness = std::chrono::seconds{5};  // the agents' rule engines'

inline std::string device(int agent, int d) { return fmt::format("bin-{}-{:02}", agent, d); }

// Where a device stands: a 10 x 15 grid 150 m apart in Dongcheng, north of Wangfujing.
inline LonLat place(int agent, int d) {
  const int i = agent * kDevices + d;
  return {.lon = 116.4020 + (i % 10) * 0.00175, .lat = 39.9160 + (i / 10) * 0.00135};
}

struct WorldOptions {
  // Non-empty: the agents reach the broker at this loopback address (e.g. 127.0.0.2) and the
  // broker listens on every address: a partition may then cut the agents off and not the centers.
  // Only in a network namespace of the test's own (own_network()).
  std::string agents_broker_host;
};

class World {
 public:
  explicit World(const std::string& name, WorldOptions options = {})
      : options_(std::move(options)), dir_(temp_dir("chaos-" + name)), prefix_(unique_prefix()) {
    // A durable database (fsync and synchronous commits on), as a system of record runs it: the
    // centers confirm an event to its agent once its commit returns, which is only a promise when
    // the commit is on disk. (The other tests' fast settings lose the last commits in a crash.)
    auto svc = platform::PrivateServices::start(
        {.dir = dir_ / "services", .durable = true,
         .mqtt_address = options_.agents_broker_host.empty() ? "127.0.0.1" : ""});
    if (!svc) throw std::runtime_error(svc.error().message);
    svc_ = std::move(*svc);
    for (int a = 0; a < kAgents; ++a) {
      agent_ports_[a] = platform::free_tcp_port().value_or(0);
      write_agent(a);
    }
    for (int c = 0; c < 2; ++c) {
      center_ports_[c] = platform::free_tcp_port().value_or(0);
      write_center(c);
    }
    auto sensors = platform::MqttClient::create(
        {.url = svc_->endpoints().mqtt_url, .client_id = fmt::format("chaos-sensors-{}", getpid())});
    if (!sensors || !(*sensors)->connect(10s)) throw std::runtime_error("sensors: no broker");
    sensors_ = std::move(*sensors);
  }
  ~World() {
    if (::testing::Test::HasFailure())
      for (const auto& f : {"center-0.log", "center-1.log", "agent-0.log", "agent-1.log", "agent-2.log"})
        std::cerr << "---- tail of " << f << "\n" << tail(read_file(dir_ / f)) << "\n";
    centers_.clear();
    agents_.clear();
    for (const fs::path& m : mounts_) ::umount2(m.c_str(), MNT_DETACH);
    sensors_.reset();
    svc_.reset();
    if (::testing::Test::HasFailure()) std::cerr << "logs kept in " << dir_.string() << "\n";
    else fs::remove_all(dir_);
  }

  platform::PrivateServices& services() { return *svc_; }
  fs::path agent_dir(int a) const { return dir_ / fmt::format("agent-{}", a); }
  // Agent `a`'s data directory on a tmpfs of `mb` MiB (root only), before it starts: a disk
  // that can be filled without filling the machine's.
  // The mount is made in a mount namespace of this process's own (own_mounts()).
  void small_disk_for_agent(int a, int mb) {
    fs::create_directories(agent_dir(a));
    if (::mount("tmpfs", agent_dir(a).c_str(), "tmpfs", 0, fmt::format("size={}m", mb).c_str()) != 0)
      throw std::runtime_error(fmt::format("mount tmpfs on {}: {}", agent_dir(a).string(), std::strerror(errno)));
    mounts_.push_back(agent_dir(a));
  }
  // Centers started again after a kill: their counters began again (the books of metrics then
  // cannot add up across the restart).
  bool center_restarted() const { return center_restarted_; }
  bool database_crashed() const { return database_crashed_; }
  void kill_postgres() {
    database_crashed_ = true;
    svc_->kill_postgres();
  }
  std::set<int> agents_restarted() const { return agents_restarted_; }
  const std::string& conninfo() const { return svc_->endpoints().pg_conninfo; }

  void start_center(int c) {
    if (centers_.count(c)) center_restarted_ = true;
    centers_[c].emplace(start_gridwatch({"center", "--config", (dir_ / fmt::format("center-{}.yaml", c)).string()},
                                        dir_ / fmt::format("center-{}.log", c)));
    if (!eventually([&] { return http_get(center_ports_[c], "/healthz").status == 200; }, 60s))
      throw std::runtime_error(fmt::format("center {} did not come up", c));
  }
  // `env`: NAME=VALUE for the agent's process (libfaketime).
  void start_agent(int a, std::vector<std::string> env = {}) {
    platform::SpawnOptions so{.log_file = dir_ / fmt::format("agent-{}.log", a), .env = std::move(env)};
    auto p = platform::ChildProcess::spawn(
        {GRIDWATCH_BIN, "agent", "--config", (dir_ / fmt::format("agent-{}.yaml", a)).string()}, so);
    if (!p) throw std::runtime_error(p.error().message);
    if (agents_.count(a)) agents_restarted_.insert(a);
    agents_[a].emplace(std::move(*p));
    received_base_[a] = 0;  // its counters start again
    if (!eventually([&] { return agent_metric(a, "gw_agent_broker_subscribed") == 1; }, 60s))
      throw std::runtime_error(fmt::format("agent {} did not subscribe", a));
  }
  void start_all() {
    for (int c = 0; c < 2; ++c) start_center(c);
    for (int a = 0; a < kAgents; ++a) start_agent(a);
  }
  // After the broker came back: every client has reconnected and subscribed again (readings
  // sent before an agent is back would be lost on the way in, which is not what is measured).
  void wait_reconnected() {
    std::vector<std::string> away;  // the clients not (yet) back, for the message
    const bool back = eventually([&] {
      away.clear();
      if (!sensors_->connected()) away.push_back("the sensors' client");
      for (const auto& [a, p] : agents_)
        if (p && agent_metric(a, "gw_agent_broker_subscribed") != 1) away.push_back(fmt::format("agent {}", a));
      for (const auto& [c, p] : centers_)
        if (p && center_metric(c, "gw_center_mqtt_subscribed") != 1) away.push_back(fmt::format("center {}", c));
      return away.empty();
    }, 90s);
    if (!back)
      throw std::runtime_error(fmt::format("the clients did not reconnect to the broker in 90 s: {} still away",
                                           fmt::join(away, ", ")));
  }
  platform::ChildProcess& center(int c) { return *centers_[c]; }
  platform::ChildProcess& agent(int a) { return *agents_[a]; }
  void kill_agent(int a) {
    ::kill(agents_[a]->pid(), SIGKILL);
    agents_[a]->wait(10s);
    agents_[a].reset();
  }
  void kill_center(int c) {
    ::kill(centers_[c]->pid(), SIGKILL);
    centers_[c]->wait(10s);
    centers_[c].reset();
  }

  double agent_metric(int a, const std::string& name) {
    const auto r = http_get(agent_ports_[a], "/metrics");
    return r.status == 200 ? metric(r.body, name) : -1;
  }
  double center_metric(int c, const std::string& name) { return metric(center_metrics(c), name); }
  std::string center_metrics(int c) {
    const auto r = http_get(center_ports_[c], "/metrics");
    return r.status == 200 ? r.body : "";
  }

  // Step k's reading of every device of the agents in `to` (every agent: all), then waits until
  // each of them has taken its readings (so that a fault never loses a reading on its way in:
  // the books are about what the agents made of them).
  void send_step(int k) {
    const double value = k >= kSteps || k % 2 == 1 ? 50 : 95;
    // Now (the agents refuse readings behind their lateness), and after the step before.
    Timestamp t = now_utc();
    if (!step_ts_.empty()) t = std::max(t, step_ts_.back() + std::chrono::milliseconds{1});
    step_ts_.push_back(t);
    const nlohmann::json r = {{"ts", format_rfc3339(t)}, {"type", "bin_fill"}, {"value", value}, {"unit", "%"}};
    for (int a = 0; a < kAgents; ++a)
      for (int d = 0; d < kDevices; ++d)
        for (int attempt = 0;; ++attempt) {
          if (sensors_->publish(fmt::format("{}/sensors/{}/reading", prefix_, device(a, d)), r.dump(), 1, false)) break;
          if (attempt > 600) throw std::runtime_error("sensors: cannot publish for a minute");
          std::this_thread::sleep_for(100ms);
        }
    // Every agent subscribes to every reading on the broker (and keeps the others' devices as
    // dead letters): each takes all of them.
    for (auto& [a, n] : received_base_) n += kAgents * kDevices;
    for (const auto& [a, n] : received_base_)
      if (agents_[a] && !eventually([&] { return agent_metric(a, "gw_agent_readings_received_total") >= static_cast<double>(n); }, 60s))
        throw std::runtime_error(fmt::format("agent {} did not take step {}", a, k));
  }

  // Every event stored: (device, event, observed_at) of order_events.
  std::set<std::tuple<std::string, std::string, std::string>> stored() {
    std::set<std::tuple<std::string, std::string, std::string>> out;
    for (const auto& r : sql(conninfo(),
                             "SELECT payload->'source'->>'device_id', event, gw_rfc3339(observed_at) FROM order_events"))
      out.emplace(r[0], r[1], r[2]);
    return out;
  }
  // What the agents in `from` should have made of their readings: one event a reading.
  std::set<std::tuple<std::string, std::string, std::string>> expected(const std::set<int>& from = {0, 1, 2}) {
    std::set<std::tuple<std::string, std::string, std::string>> out;
    for (int a : from)
      for (int d = 0; d < kDevices; ++d)
        for (size_t k = 0; k < static_cast<size_t>(kSteps); ++k) {
          const Timestamp t = step_ts_.at(k);
          const auto ms = t.time_since_epoch().count() % 1000;
          out.emplace(device(a, d), k % 2 == 0 ? "open" : "clear",
                      fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:03}Z", std::chrono::floor<std::chrono::seconds>(t), ms));
        }
    return out;
  }
  // What the agents' outboxes accepted, from their logs ("order EVENT ID (...) queued as outbox
  // event N"): (event, order id) pairs.
  std::set<std::pair<std::string, std::string>> accepted(std::optional<int> only = std::nullopt) const {
    std::set<std::pair<std::string, std::string>> out;
    for (int a = 0; a < kAgents; ++a) {
      if (only && a != *only) continue;
      std::istringstream in(read_file(dir_ / fmt::format("agent-{}.log", a)));
      for (std::string line; std::getline(in, line);) {
        const auto at = line.find("[agent] order ");
        if (at == std::string::npos || line.find("queued as outbox event") == std::string::npos) continue;
        std::istringstream words(line.substr(at + 14));
        std::string event, id;
        words >> event >> id;
        out.emplace(event, id);
      }
    }
    return out;
  }
  std::set<std::pair<std::string, std::string>> stored_ids() {
    std::set<std::pair<std::string, std::string>> out;
    for (const auto& r : sql(conninfo(), "SELECT event, order_id FROM order_events")) out.emplace(r[0], r[1]);
    return out;
  }
  std::string dir() const { return dir_.string(); }
  Timestamp last_step() const { return step_ts_.empty() ? now_utc() : step_ts_.back(); }
  Timestamp first_step() const { return step_ts_.empty() ? now_utc() : step_ts_.front(); }

 private:
  static std::string tail(const std::string& s) { return s.size() > 3000 ? s.substr(s.size() - 3000) : s; }

  std::string agents_broker_url() const {
    std::string url = svc_->endpoints().mqtt_url;
    if (!options_.agents_broker_host.empty())
      url.replace(url.find("127.0.0.1"), std::string("127.0.0.1").size(), options_.agents_broker_host);
    return url;
  }
  void write_agent(int a) {
    std::string sensors;
    for (int d = 0; d < kDevices; ++d) {
      const LonLat p = place(a, d);
      sensors += fmt::format("  - {{device_id: {}, type: bin_fill, location: {{lon: {:.6f}, lat: {:.6f}, accuracy_m: 5}}}}\n",
                             device(a, d), p.lon, p.lat);
    }
    write_file(dir_ / fmt::format("agent-{}.yaml", a),
               fmt::format(R"(agent: {{id: chaos-{a}, data_dir: {dir}/agent-{a}}}
broker: {{url: "{url}", topic_prefix: {prefix}}}
status: {{interval: 2s, metrics: "127.0.0.1:{port}"}}
outbox: {{confirm_timeout: 10s}}
sensors:
{sensors}rules:
  lateness: {lateness}s
  rules:
    - id: bin_full
      category: sanitation.bin_overflow
      input: {{type: bin_fill}}
      when: {{threshold: {{above: 90, clear_below: 60}}}}
)",
                           fmt::arg("a", a), fmt::arg("dir", dir_.string()), fmt::arg("url", agents_broker_url()),
                           fmt::arg("prefix", prefix_), fmt::arg("port", agent_ports_[a]), fmt::arg("sensors", sensors),
                           fmt::arg("lateness", kLateness.count())));
  }
  void write_center(int c) {
    write_file(dir_ / fmt::format("center-{}.yaml", c),
               fmt::format(R"(center: {{id: chaos-center-{c}}}
broker: {{url: "{url}", topic_prefix: {prefix}, share_group: chaos}}
database: {{conninfo: "{db}"}}
http: {{port: {port}}}
areas:
  - {{file: "{map}", level: district, crs: gcj02}}
  - {{level: grid, synthetic_cell_m: 500, within: ["110101"]}}
{auth})",
                           fmt::arg("c", c), fmt::arg("url", svc_->endpoints().mqtt_url), fmt::arg("prefix", prefix_),
                           fmt::arg("db", conninfo()), fmt::arg("port", center_ports_[c]),
                           fmt::arg("map", echarts_beijing_map()), fmt::arg("auth", auth_yaml())));
  }

  WorldOptions options_;
  fs::path dir_;
  std::string prefix_;
  std::vector<fs::path> mounts_;
  bool center_restarted_ = false, database_crashed_ = false;
  std::set<int> agents_restarted_;
  std::unique_ptr<platform::PrivateServices> svc_;
  std::vector<Timestamp> step_ts_;  // each step's readings' time
  std::map<int, int> agent_ports_, center_ports_;
  std::map<int, std::optional<platform::ChildProcess>> centers_, agents_;
  std::map<int, int64_t> received_base_;
  std::unique_ptr<platform::MqttClient> sensors_;
};

}  // namespace gridwatch::testing::chaos
