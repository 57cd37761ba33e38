// Center intake benchmark (not a test): three figures, each against a peer or goal measured here.
//  1. Sustained ingest MQTT -> PostGIS (the center: decode, place, merge decision, store) against
//     the broker-only rate (the same publisher to a plain subscriber) in the same run.
//  2. Open311 POST requests per second and p99 latency, driven by wrk on loopback.
//  3. Merge decision latency (gw_add_source: locks, candidate search, insert, case refresh) with
//     1,000,000 open cases in the database.
// Usage: center_bench [orders=20000] [open_cases=1000000] [wrk_seconds=10] [--durable]
// Ends with one line "RESULT ...". Latest results: docs/PERFORMANCE.md.
#include <libpq-fe.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <random>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "bench_center.h"
#include "bench_support.h"
#include "gridwatch/center/center.h"
#include "gridwatch/domain/catalog.h"
#include "gridwatch/domain/order.h"
#include "gridwatch/platform/mqtt.h"
#include "gridwatch/platform/process.h"
#include "gridwatch/platform/services.h"

using namespace gridwatch;
using Clock = bench::Clock;
using bench::exec;
using bench::percentile;
using bench::seconds_since;
using json = nlohmann::json;

namespace {

// Orders of every category at random places in central Beijing (a 30 x 30 km square).
std::vector<std::string> make_orders(size_t n, const std::string& agent) {
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> lon(116.20, 116.55), lat(39.75, 40.02);
  const auto& cats = Catalog::builtin().all();
  std::vector<std::string> out;
  const Timestamp t0 = now_utc();
  for (size_t i = 0; i < n; ++i) {
    OrderEvent e;
    e.id = fmt::format("{}.rule.dev-{}.{}", agent, i % 500, i);
    e.category = cats[i % cats.size()].code;
    e.priority = cats[i % cats.size()].default_priority;
    e.source = {.kind = SourceKind::kSensor, .agent_id = agent, .device_id = fmt::format("dev-{}", i % 500), .rule = "rule"};
    e.location = OrderLocation{.position = {.lon = lon(rng), .lat = lat(rng)}, .accuracy_m = 5.0};
    e.observed_at = t0 + std::chrono::milliseconds(i);
    e.first_seen_at = e.observed_at;
    e.description = "benchmark order with a description of ordinary length for a bin that is full";
    e.evidence = {{"readings", json::array({{{"ts", format_rfc3339(e.observed_at)}, {"value", 93.5}}})}};
    out.push_back(encode_order(e));
  }
  return out;
}

std::unique_ptr<platform::MqttClient> client(const std::string& url, const std::string& id) {
  auto c = platform::MqttClient::create({.url = url, .client_id = id});
  if (!c || !(*c)->connect(std::chrono::seconds{10})) {
    fmt::print(stderr, "cannot connect to the broker\n");
    std::exit(1);
  }
  return std::move(*c);
}

// Publishes every order (QoS 1) and returns when `done()` is true; the rate is orders per second
// from the first publish to `done`.
double publish_all(platform::MqttClient& pub, const std::string& topic, const std::vector<std::string>& orders,
                   const std::function<bool()>& done) {
  const auto t0 = Clock::now();
  for (const auto& o : orders) {
    while (!pub.publish(topic, o, 1, false)) std::this_thread::sleep_for(std::chrono::milliseconds{1});
  }
  while (!done()) {
    if (seconds_since(t0) > 600) {
      fmt::print(stderr, "gave up waiting after 600 s\n");
      std::exit(1);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds{2});
  }
  return static_cast<double>(orders.size()) / seconds_since(t0);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  const bool durable = std::erase(args, "--durable") > 0;
  const size_t n = args.size() > 0 ? std::stoul(args[0]) : 20'000;
  const size_t open_cases = args.size() > 1 ? std::stoul(args[1]) : 1'000'000;
  const int wrk_seconds = args.size() > 2 ? std::stoi(args[2]) : 10;
  spdlog::set_level(spdlog::level::warn);

  auto services = platform::PrivateServices::start(
      {.dir = std::filesystem::temp_directory_path() / fmt::format("gw-center-bench-{}", getpid()), .durable = durable});
  if (!services) {
    fmt::print(stderr, "services: {}\n", services.error().message);
    return 1;
  }
  const auto ep = (*services)->endpoints();
  fmt::print("PostgreSQL {} (fsync {}), {} orders, {} open cases\n", "15", durable ? "on" : "off", n, open_cases);

  // 1. Broker only: the same orders to a plain subscriber.
  const auto orders = make_orders(n, "bench-agent");
  double broker_rate = 0;
  {
    std::atomic<size_t> got{0};
    auto sub = platform::MqttClient::create({.url = ep.mqtt_url, .client_id = "bench-sub"});
    (*sub)->on_message([&](platform::MqttMessage) { ++got; });
    if (!(*sub)->subscribe("peer/orders/#", 1)) return 1;
    if (!(*sub)->connect(std::chrono::seconds{10})) return 1;
    auto pub = client(ep.mqtt_url, "bench-pub-peer");
    broker_rate = publish_all(*pub, "peer/orders/bench-agent", orders, [&] { return got.load() >= n; });
    fmt::print("broker only (publisher -> subscriber, QoS 1): {:.0f} orders/s\n", broker_rate);
  }

  // 1'. The center: MQTT -> validation -> areas -> merge decision -> PostGIS.
  auto center_ptr = bench::start_center(bench::center_config(ep));
  center::Center& center = *center_ptr;
  double ingest_rate = 0;
  {
    auto pub = client(ep.mqtt_url, "bench-pub-center");
    ingest_rate = publish_all(*pub, "gw/v1/orders/bench-agent", orders,
                              [&] { return center.metrics().stored.load() + center.metrics().rejected_total() >= n; });
    fmt::print("center ingest (MQTT -> PostGIS, merge decision each): {:.0f} orders/s = {:.2f}x broker only "
               "(goal >= 0.8x); {} merged, {} rejected\n",
               ingest_rate, ingest_rate / broker_rate, center.metrics().merged.load(), center.metrics().rejected_total());
  }

  // 2. Open311 POST with wrk: random places and categories, one API key.
  double post_rate = 0, post_p99_ms = 0;
  {
    const std::string lua = R"(
math.randomseed(7)
local codes = {"sanitation.bin_overflow", "environment.noise", "traffic.illegal_parking", "water.waterlogging"}
request = function()
  local body = string.format("api_key=bench-key-0123456789&service_code=%s&lat=%.6f&long=%.6f&description=%s",
    codes[math.random(#codes)], 39.75 + math.random() * 0.27, 116.20 + math.random() * 0.35,
    "bin+full+near+the+north+gate")
  return wrk.format("POST", "/open311/v2/requests.json",
                    {["Content-Type"] = "application/x-www-form-urlencoded"}, body)
end
)";
    const auto w = bench::run_wrk(fmt::format("http://127.0.0.1:{}/", center.http_port()), lua, 16, wrk_seconds);
    if (!w) return 1;
    post_rate = w->per_second();
    post_p99_ms = w->p99_ms;
    fmt::print("Open311 POST (wrk, 16 connections, {} s): {:.0f} requests/s (goal >= 2000), p50 {:.1f} ms, "
               "p99 {:.1f} ms (goal < 50), {} errors, {} non-2xx\n",
               wrk_seconds, post_rate, w->p50_ms, post_p99_ms, w->errors, w->non2xx);
  }
  center.stop();

  // 3. Merge decisions among 1 M open cases, in a database of their own.
  double merge_p50 = 0, merge_p99 = 0;
  {
    PGconn* admin = PQconnectdb(ep.pg_conninfo.c_str());
    exec(admin, "DROP DATABASE IF EXISTS merge_bench");
    exec(admin, "CREATE DATABASE merge_bench");
    PQfinish(admin);
    std::string conninfo = ep.pg_conninfo;
    conninfo.replace(conninfo.find("dbname=gridwatch"), 16, "dbname=merge_bench");
    PGconn* c = PQconnectdb(conninfo.c_str());
    exec(c, "CREATE EXTENSION IF NOT EXISTS postgis");
    auto store = center::Store::open(conninfo, 1);
    if (!store || !(*store)->migrate()) {
      fmt::print(stderr, "merge database unavailable\n");
      return 1;
    }
    const auto t0 = Clock::now();
    // Open cases of every category spread over Beijing's built-up area (a 60 x 60 km square),
    // opened within the last day, one source each.
    exec(c, fmt::format(R"sql(
INSERT INTO orders (id, category, priority, status, source_kind, agent_id, geom, observed_at, opened_at, first_seen_at,
                    proactive)
SELECT 'case-' || i, (ARRAY['sanitation.bin_overflow','sanitation.dumped_waste','traffic.illegal_parking',
                            'traffic.bike_clutter','fire.blocked_lane','water.waterlogging','utilities.manhole_cover',
                            'environment.noise','environment.odor','utilities.heating'])[1 + i % 10],
       'normal', 'open', 'sensor', 'bench', ST_SetSRID(ST_MakePoint(116.05 + random() * 0.7, 39.65 + random() * 0.54), 4326),
       now() - random() * interval '20 hours', now() - random() * interval '20 hours', now(), true
FROM generate_series(1, {}) i;
INSERT INTO sources (id, case_id, kind, channel, reporter, category, priority, status, geom, reported_at, observed_at, merge)
SELECT id, id, 'sensor', 'mqtt', 'bench', category, priority, 'open', geom, opened_at, observed_at, '{{}}'
FROM orders;
ANALYZE;
)sql",
                        open_cases));
    fmt::print("loaded {} open cases in {:.1f} s\n", open_cases, seconds_since(t0));
    PQfinish(c);
    std::mt19937_64 rng(9);
    std::uniform_real_distribution<double> lon(116.05, 116.75), lat(39.65, 40.19);
    const auto& cats = Catalog::builtin().all();
    std::vector<double> ms;
    size_t merged = 0;
    for (int i = 0; i < 3000; ++i) {
      const Category& cat = cats[static_cast<size_t>(i) % 10];
      json s = {{"kind", "hotline"},
                {"channel", "open311"},
                {"category", cat.code},
                {"priority", "normal"},
                {"reported_at", format_rfc3339(now_utc())},
                {"description", "merge benchmark"}};
      const auto t = Clock::now();
      auto out = (*store)->add_source(s, LonLat{.lon = lon(rng), .lat = lat(rng)});
      ms.push_back(seconds_since(t) * 1000);
      if (!out) {
        fmt::print(stderr, "add_source: {}\n", out.error().message);
        return 1;
      }
      merged += out->stored == center::Stored::kMerged;
    }
    merge_p50 = percentile(ms, 0.5);
    merge_p99 = percentile(ms, 0.99);
    fmt::print("merge decision + store among {} open cases: p50 {:.2f} ms, p99 {:.2f} ms (goal < 5), {} of {} merged\n",
               open_cases, merge_p50, merge_p99, merged, ms.size());
  }

  fmt::print("RESULT ingest_per_s={:.0f} broker_only_per_s={:.0f} ratio_ingest={:.2f} open311_post_per_s={:.0f} "
             "open311_post_p99_ms={:.1f} merge_p50_ms={:.2f} merge_p99_ms={:.2f} open_cases={} fsync={}\n",
             ingest_rate, broker_rate, ingest_rate / broker_rate, post_rate, post_p99_ms, merge_p50, merge_p99,
             open_cases, durable ? 1 : 0);
  return 0;
}
