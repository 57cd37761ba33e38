// Scale-out: orders stored per second by 1, 2 and 3 centers on one PostGIS database, on a single
// Mosquitto and on a 3-node RabbitMQ cluster (quorum queue, acknowledgements after commit), in
// one run; each broker's own rate (publishers to one plain consumer) as its peer; end-to-end
// latency from an agent's outbox to the order's row at a steady rate, per broker; the database's
// CPU. Agents are the real delivery path (outbox, sender, the center's confirmations), three of
// them, each on its own node of the cluster.
//
//   build/bench/scaleout_bench [events per run, default 6000] [latency rate/s, default 150]
//
// Goals: 2 centers store >= 1.5x one (the database is the limit: its CPU is reported); the
// cluster's latency <= 1.5x the single broker's. Ends with one line "RESULT ...".
#include <dirent.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <memory>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "bench_support.h"
#include "gridwatch/center/center.h"
#include "gridwatch/domain/catalog.h"
#include "gridwatch/platform/amqp.h"
#include "gridwatch/platform/rabbitmq.h"
#include "gridwatch/platform/services.h"
#include "outbox_agent.h"

using namespace gridwatch;
using namespace gridwatch::bench;
using namespace std::chrono_literals;

namespace {

// CPU seconds of process `pid` and all its children (PostgreSQL: the postmaster and its sessions).
double tree_cpu_seconds(pid_t root) {
  std::map<pid_t, pid_t> parent;
  std::map<pid_t, double> cpu;
  for (const platform::ProcessInfo& p : platform::list_processes()) {
    parent[p.pid] = p.parent;
    cpu[p.pid] = p.cpu_s;
  }
  double total = 0;
  for (const auto& [pid, c] : cpu) {
    for (pid_t p = pid; p > 1; p = parent.count(p) ? parent[p] : 0)
      if (p == root) {
        total += c;
        break;
      }
  }
  return total;
}

// Busy and total CPU time of the whole machine so far (/proc/stat), in seconds.
std::pair<double, double> machine_cpu() {
  std::ifstream in("/proc/stat");
  std::string cpu;
  double v[8] = {};
  in >> cpu;
  for (double& x : v) in >> x;
  const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
  double total = 0;
  for (double x : v) total += x;
  return {(total - v[3] - v[4]) / tick, total / tick};
}

struct Broker {
  std::string name;
  std::vector<std::string> mqtt_urls;  // one per node
  std::vector<std::string> amqp_urls;  // RabbitMQ only
  bool rabbitmq = false;
};

struct Run {
  double per_s = 0, db_cores = 0, machine_busy = 0;  // machine_busy: share of all cores busy
};

class Bench {
 public:
  Bench(platform::PrivateServices& db, std::filesystem::path dir) : db_(db), dir_(std::move(dir)) {}

  // Publishers (QoS 1, one per node) to one plain consumer: what the broker alone carries.
  double broker_only(const Broker& b, int events) {
    const std::string prefix = next_prefix();
    std::atomic<int> got{0};
    std::unique_ptr<platform::MqttClient> sub;
    std::unique_ptr<platform::AmqpClient> consumer;
    if (b.rabbitmq) {
      auto c = platform::AmqpClient::create({.urls = b.amqp_urls, .client_name = "bench-consumer"});
      consumer = std::move(*c);
      consumer->on_message([&](platform::MqttMessage m) {
        consumer->ack({m.delivery});
        ++got;
      });
      consumer->consume({.name = fmt::format("{}-bench", prefix.substr(0, prefix.find('/'))),
                         .filters = {prefix + "/orders/#"},
                         .prefetch = 1000});
      if (!consumer->connect(30s)) std::exit(1);
    } else {
      sub = std::move(*platform::MqttClient::create({.url = b.mqtt_urls[0], .client_id = "bench-sub", .clean_session = true}));
      sub->on_message([&](platform::MqttMessage) { ++got; });
      if (!sub->subscribe(prefix + "/orders/#", 1) || !sub->connect(10s)) std::exit(1);
    }
    std::vector<std::unique_ptr<platform::MqttClient>> pubs;
    for (size_t k = 0; k < 3; ++k) {
      pubs.push_back(std::move(*platform::MqttClient::create(
          {.url = b.mqtt_urls[k % b.mqtt_urls.size()], .client_id = fmt::format("bench-pub-{}", k)})));
      if (!pubs.back()->connect(10s)) std::exit(1);
    }
    const std::string payload(400, 'x');
    const auto t0 = Clock::now();
    std::vector<std::thread> threads;
    for (size_t k = 0; k < pubs.size(); ++k)
      threads.emplace_back([&, k] {
        for (int i = static_cast<int>(k); i < events; i += 3)
          while (!pubs[k]->publish(fmt::format("{}/orders/p{}", prefix, k), payload, 1, false)) std::this_thread::sleep_for(1ms);
      });
    for (auto& t : threads) t.join();
    while (got.load() < events && seconds_since(t0) < 300) std::this_thread::sleep_for(5ms);
    const double rate = got.load() / seconds_since(t0);
    for (auto& p : pubs) p->disconnect(1s);
    if (sub) sub->disconnect(1s);
    if (consumer) consumer->disconnect(1s);
    return rate;
  }

  // `centers` centers, three agents adding `events` at once: orders stored per second from the
  // first add to the last row, and the database's CPU (cores busy) meanwhile.
  Run throughput(const Broker& b, int centers, int events) {
    Setup s = setup(b, centers, 1e9);
    const int per_agent = events / 3;
    const double cpu0 = tree_cpu_seconds(db_.postgres_pid());
    const auto m0 = machine_cpu();
    const auto t0 = Clock::now();
    std::vector<std::thread> feeders;
    for (auto& a : s.agents) feeders.emplace_back([&a, per_agent] { (void)a->add(0, per_agent); });
    for (auto& f : feeders) f.join();
    while (stored(s.prefix_like) < 3 * per_agent && seconds_since(t0) < 600) std::this_thread::sleep_for(20ms);
    const double secs = seconds_since(t0);
    const auto m1 = machine_cpu();
    return {3 * per_agent / secs, (tree_cpu_seconds(db_.postgres_pid()) - cpu0) / secs,
            (m1.first - m0.first) / std::max(1e-9, m1.second - m0.second)};
  }

  // Two centers, three agents adding `rate` events a second in all for `seconds`: latency from
  // each add to its order's row (received_at, the storing transaction's start), p50 and p99 in ms.
  std::pair<double, double> latency(const Broker& b, double rate, int seconds) {
    Setup s = setup(b, 2, 4000);
    std::map<std::string, double> added;  // order id -> unix seconds at the add
    const int total = static_cast<int>(rate * seconds);
    const auto t0 = Clock::now();
    for (int i = 0; i < total; ++i) {
      auto& a = *s.agents[static_cast<size_t>(i) % 3];
      const int k = i / 3;
      added[a.order_id(k)] = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
      (void)a.add(k, k + 1);
      std::this_thread::sleep_until(t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>((i + 1) / rate)));
    }
    while (stored(s.prefix_like) < total && seconds_since(t0) < seconds + 120.0) std::this_thread::sleep_for(20ms);
    PGconn* c = PQconnectdb(db_.endpoints().pg_conninfo.c_str());
    const std::string q = fmt::format(
        "SELECT order_id, extract(epoch FROM received_at) FROM order_events WHERE order_id LIKE '{}'", s.prefix_like);
    PGresult* r = PQexec(c, q.c_str());
    std::vector<double> ms;
    for (int i = 0; i < PQntuples(r); ++i) {
      const auto it = added.find(PQgetvalue(r, i, 0));
      if (it != added.end()) ms.push_back((std::stod(PQgetvalue(r, i, 1)) - it->second) * 1000.0);
    }
    PQclear(r);
    PQfinish(c);
    return {percentile(ms, 0.5), percentile(ms, 0.99)};
  }

 private:
  struct Setup {
    std::string prefix, prefix_like;
    std::vector<std::unique_ptr<center::Center>> centers;
    std::vector<std::unique_ptr<testing::OutboxAgent>> agents;  // destroyed first (declared last)
  };

  Setup setup(const Broker& b, int centers, double agent_rate) {
    Setup s;
    s.prefix = next_prefix();
    const std::string group = fmt::format("bench{}", runs_);
    for (int i = 0; i < centers; ++i) {
      center::CenterConfig cfg;
      cfg.id = fmt::format("scale-{}-{}", runs_, i);
      cfg.topic_prefix = s.prefix;
      cfg.share_group = group;
      cfg.conninfo = db_.endpoints().pg_conninfo;
      cfg.http_port = 0;
      cfg.sla_check_interval = std::chrono::hours{1};
      cfg.pool_size = 2;
      if (b.rabbitmq) {
        cfg.broker_kind = center::CenterConfig::BrokerKind::kRabbitmq;
        const size_t n = static_cast<size_t>(i) % b.amqp_urls.size();
        cfg.broker_url = platform::amqp_address({.amqp_url = b.amqp_urls[n]});
      } else {
        cfg.broker_url = b.mqtt_urls[0];
      }
      s.centers.push_back(std::make_unique<center::Center>(cfg, Catalog::builtin()));
      if (auto st = s.centers.back()->start(); !st) {
        fmt::print(stderr, "center: {}\n", st.error().message);
        std::exit(1);
      }
    }
    for (size_t k = 0; k < 3; ++k) {
      platform::MqttOptions mqtt;
      mqtt.url = b.mqtt_urls[k % b.mqtt_urls.size()];
      s.agents.push_back(std::make_unique<testing::OutboxAgent>());
      const std::string id = fmt::format("r{}a{}", runs_, k);
      if (auto st = s.agents.back()->start(
              {.dir = dir_, .id = id, .prefix = s.prefix, .mqtt = mqtt, .confirm = true, .confirm_timeout = 30s, .rate = agent_rate});
          !st) {
        fmt::print(stderr, "agent: {}\n", st.error().message);
        std::exit(1);
      }
    }
    s.prefix_like = fmt::format("r{}a%", runs_);
    ++runs_;
    return s;
  }
  int stored(const std::string& like) {
    PGconn* c = PQconnectdb(db_.endpoints().pg_conninfo.c_str());
    PGresult* r = PQexec(c, fmt::format("SELECT count(*) FROM order_events WHERE order_id LIKE '{}'", like).c_str());
    const int n = PQresultStatus(r) == PGRES_TUPLES_OK ? std::atoi(PQgetvalue(r, 0, 0)) : 0;
    PQclear(r);
    PQfinish(c);
    return n;
  }
  std::string next_prefix() { return fmt::format("s{}x{}/v1", getpid(), prefixes_++); }

  platform::PrivateServices& db_;
  std::filesystem::path dir_;
  int runs_ = 0, prefixes_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  const int events = argc > 1 ? std::atoi(argv[1]) : 6000;
  const double rate = argc > 2 ? std::atof(argv[2]) : 150;
  spdlog::set_level(spdlog::level::warn);
  const auto dir = std::filesystem::temp_directory_path() / fmt::format("gw-scaleout-bench-{}", getpid());
  auto svc = platform::PrivateServices::start({.dir = dir / "single"});
  if (!svc) {
    fmt::print(stderr, "services: {}\n", svc.error().message);
    return 1;
  }
  auto cluster = platform::RabbitCluster::start({.dir = dir / "cluster", .nodes = 3});
  if (!cluster) {
    fmt::print(stderr, "cluster: {}\n", cluster.error().message);
    return 1;
  }
  Broker mosquitto{.name = "mosquitto", .mqtt_urls = {(*svc)->endpoints().mqtt_url}};
  Broker rabbit{.name = "rabbitmq-3", .rabbitmq = true};
  for (const auto& n : (*cluster)->nodes()) {
    rabbit.mqtt_urls.push_back(n.mqtt_url);
    rabbit.amqp_urls.push_back(n.amqp_url);
  }
  fmt::print("{} events per run from 3 agents (outbox, confirmations); one PostGIS database; {} cores\n", events,
             std::thread::hardware_concurrency());
  Bench bench(**svc, dir / "agents");
  std::map<std::string, double> result;
  for (const Broker* b : {&mosquitto, &rabbit}) {
    const double alone = bench.broker_only(*b, events);
    fmt::print("{}: broker only (3 publishers -> 1 consumer, QoS 1{}): {:.0f} msg/s\n", b->name,
               b->rabbitmq ? ", quorum queue, AMQP acks" : "", alone);
    result[b->name + "_broker_per_s"] = alone;
    double one = 0;
    for (int centers = 1; centers <= 3; ++centers) {
      const Run r = bench.throughput(*b, centers, events);
      if (centers == 1) one = r.per_s;
      fmt::print("{}: {} center{}: {:.0f} orders/s stored = {:.2f}x one center, {:.2f}x broker only; database {:.2f} "
                 "cores, machine {:.0f}% busy\n",
                 b->name, centers, centers > 1 ? "s" : "", r.per_s, r.per_s / one, r.per_s / alone, r.db_cores,
                 100 * r.machine_busy);
      result[fmt::format("{}_{}c_machine_busy", b->name, centers)] = r.machine_busy;
      result[fmt::format("{}_{}c_per_s", b->name, centers)] = r.per_s;
      result[fmt::format("{}_{}c_db_cores", b->name, centers)] = r.db_cores;
    }
    const auto [p50, p99] = bench.latency(*b, rate, 10);
    fmt::print("{}: latency outbox -> order row at {:.0f}/s, 2 centers: p50 {:.0f} ms, p99 {:.0f} ms\n", b->name, rate, p50, p99);
    result[b->name + "_p50_ms"] = p50;
    result[b->name + "_p99_ms"] = p99;
  }
  const double ratio_two = result["mosquitto_2c_per_s"] / result["mosquitto_1c_per_s"];
  const double ratio_two_cluster = result["rabbitmq-3_2c_per_s"] / result["rabbitmq-3_1c_per_s"];
  const double lat_ratio = result["rabbitmq-3_p50_ms"] / std::max(1.0, result["mosquitto_p50_ms"]);
  const double lat99_ratio = result["rabbitmq-3_p99_ms"] / std::max(1.0, result["mosquitto_p99_ms"]);
  fmt::print("2 centers / 1: {:.2f}x on Mosquitto, {:.2f}x on the cluster (goal >= 1.5x); cluster latency / single "
             "broker: p50 {:.2f}x, p99 {:.2f}x (goal <= 1.5x)\n",
             ratio_two, ratio_two_cluster, lat_ratio, lat99_ratio);
  (*cluster)->stop();
  (*svc)->stop();
  std::filesystem::remove_all(dir);
  std::string line = fmt::format("RESULT ratio_two_centers={:.2f} ratio_two_centers_cluster={:.2f} "
                                 "ratio_latency_p50={:.2f} ratio_latency_p99={:.2f}",
                                 ratio_two, ratio_two_cluster, lat_ratio, lat99_ratio);
  for (const auto& [k, v] : result) line += fmt::format(" {}={:.{}f}", k, v, k.find("cores") != std::string::npos || k.find("busy") != std::string::npos ? 2 : 0);
  fmt::print("{}\n", line);
  return 0;
}
