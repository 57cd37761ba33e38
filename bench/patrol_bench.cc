// Patrol benchmark (not a test): two figures, each against a peer measured in this run.
//  1. 1,000 grid workers on duty, each phone sending a batch of its track every 15 s (≈ 67 batches
//     a second, 4 positions each: glitch rule, lattice cells, positions and cells stored, the live
//     position moved) through POST /api/v1/workers/{id}/track, open loop; against the plain
//     PUT /api/v1/workers/{id}/position at the same rate. Goal: p99 < 50 ms.
//  2. The coverage of a day of 1,000 workers over 500 grids (GET /api/v1/stats/coverage: a grouped
//     count of the day's cells, each grid's lattice), cold (lattices built on this call) and warm;
//     against the bare count of the day's rows in SQL. Goal: < 1 s.
// Usage: patrol_bench [seconds_per_phase=30] [workers=1000]
// Ends with one line "RESULT ...". Latest results: docs/PERFORMANCE.md.
#include <httplib.h>
#include <libpq-fe.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <fstream>
#include <functional>
#include <mutex>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "bench_center.h"
#include "bench_support.h"
#include "gridwatch/center/center.h"
#include "gridwatch/platform/services.h"

using namespace gridwatch;
using Clock = bench::Clock;
using bench::percentile;
using bench::seconds_since;
using json = nlohmann::json;

namespace {

constexpr int kBatchEveryS = 15;
constexpr int kPositionsPerBatch = 4;
constexpr int kClients = 16;  // connections the phones' requests are spread over

std::string worker_token(size_t i) { return fmt::format("bench-worker-token-{:06}", i); }

struct Worker {
  std::string id, grid;
  std::array<double, 4> bbox;
  double lon = 0, lat = 0, heading = 0;  // walking inside the grid
};

// Open loop: `rate` requests a second for `seconds`, request k made by `send(k)` on one of
// kClients connections; latencies in ms (a request is timed from when it was due, so a late start
// counts against the server, not hidden).
std::vector<double> open_loop(double rate, int seconds, const std::function<bool(httplib::Client&, size_t)>& send,
                              int port, std::atomic<size_t>& failed) {
  const size_t total = static_cast<size_t>(rate * seconds);
  std::vector<double> lat(total, -1);
  const auto t0 = Clock::now() + std::chrono::milliseconds{200};
  std::vector<std::thread> pool;
  for (int c = 0; c < kClients; ++c)
    pool.emplace_back([&, c] {
      httplib::Client cli("127.0.0.1", port);
      cli.set_keep_alive(true);
      cli.set_tcp_nodelay(true);
      for (size_t k = static_cast<size_t>(c); k < total; k += kClients) {
        const auto due = t0 + std::chrono::microseconds{static_cast<int64_t>(1e6 * static_cast<double>(k) / rate)};
        std::this_thread::sleep_until(due);
        if (!send(cli, k)) ++failed;
        lat[k] = std::chrono::duration<double, std::milli>(Clock::now() - due).count();
      }
    });
  for (auto& t : pool) t.join();
  return lat;
}

}  // namespace

int main(int argc, char** argv) {
  const int seconds = argc > 1 ? std::stoi(argv[1]) : 30;
  const size_t workers = argc > 2 ? std::stoul(argv[2]) : 1000;
  spdlog::set_level(spdlog::level::warn);

  auto services = bench::start_services("patrol-bench");
  const auto ep = services->endpoints();
  // One district of ~12 km x 11 km at Beijing cut into ~500 m grids: 24 x 22 = 528 of them.
  const auto dir = services->dir();
  const double lon0 = 116.30, lat0 = 39.85, lon1 = 116.44, lat1 = 39.95;
  {
    json fc = {{"type", "FeatureCollection"},
               {"features", {{{"type", "Feature"},
                              {"properties", {{"code", "110199"}, {"name", "bench district"}}},
                              {"geometry", {{"type", "Polygon"},
                                            {"coordinates", {{{lon0, lat0}, {lon1, lat0}, {lon1, lat1}, {lon0, lat1},
                                                              {lon0, lat0}}}}}}}}}};
    std::ofstream(dir / "district.geojson") << fc.dump();
  }
  center::CenterConfig cfg = bench::center_config(ep, 8, "bench-dispatcher-token-0123");
  cfg.areas = {{.file = dir / "district.geojson", .options = {.level_name = "district", .id_property = "code"}},
               {.options = {.level_name = "grid"}, .synthetic_cell_m = 500}};
  auto index = center::load_area_index(cfg);
  if (!index) {
    fmt::print(stderr, "areas: {}\n", index.error().message);
    return 1;
  }
  const auto& grids = (*index)->areas(1);
  const size_t grid_count = std::min<size_t>(500, grids.size());
  std::vector<Worker> crew;
  for (size_t i = 0; i < workers; ++i) {
    const geo::Area& g = grids[i % grid_count];
    crew.push_back({fmt::format("w-{:05}", i), g.code, g.bbox, g.interior.lon, g.interior.lat, 0.7 * static_cast<double>(i)});
    cfg.tokens.push_back({.name = crew.back().id, .role = center::Role::kWorker, .token = worker_token(i),
                          .expires = {}, .unit = "", .grid = g.code});
  }
  auto c = std::make_unique<center::Center>(cfg, Catalog::builtin(), *index);
  if (auto st = c->start(); !st) {
    fmt::print(stderr, "center: {}\n", st.error().message);
    return 1;
  }
  const int port = c->http_port();
  const double rate = static_cast<double>(workers) / kBatchEveryS;
  fmt::print("{} workers over {} grids, a batch of {} positions every {} s each: {:.1f} requests/s, {} s a phase\n",
             workers, grid_count, kPositionsPerBatch, kBatchEveryS, rate, seconds);

  // 1a. The peer: PUT position at the same rate.
  std::atomic<size_t> failed_put{0}, failed_track{0};
  auto put = open_loop(rate, seconds, [&](httplib::Client& cli, size_t k) {
    const Worker& w = crew[k % workers];
    httplib::Headers h = {{"Authorization", "Bearer " + worker_token(k % workers)}};
    auto r = cli.Put(fmt::format("/api/v1/workers/{}/position", w.id), h,
                     json({{"lon", w.lon}, {"lat", w.lat}, {"on_duty", true}}).dump(), "application/json");
    return r && r->status == 200;
  }, port, failed_put);
  // 1b. Track batches: each worker walks at 1.3 m/s, bouncing inside its grid; the batch's
  // positions are 15 s / 4 apart, stamped in the past so that each batch follows the last.
  std::vector<std::mutex> locks(workers);
  const auto start = std::chrono::system_clock::now() - std::chrono::hours{1};
  auto track = open_loop(rate, seconds, [&](httplib::Client& cli, size_t k) {
    const size_t i = k % workers, round = k / workers;
    json positions = json::array();
    {
      std::lock_guard lock(locks[i]);
      Worker& w = crew[i];
      for (int p = 0; p < kPositionsPerBatch; ++p) {
        const double step = 1.3 * kBatchEveryS / kPositionsPerBatch;  // metres
        w.lon += step * std::cos(w.heading) / 85'000;
        w.lat += step * std::sin(w.heading) / 111'000;
        if (w.lon < w.bbox[0] || w.lon > w.bbox[2]) w.heading = std::numbers::pi - w.heading;
        if (w.lat < w.bbox[1] || w.lat > w.bbox[3]) w.heading = -w.heading;
        w.lon = std::clamp(w.lon, w.bbox[0], w.bbox[2]);
        w.lat = std::clamp(w.lat, w.bbox[1], w.bbox[3]);
        const auto at = start + std::chrono::milliseconds{static_cast<int64_t>(
                                    1000.0 * kBatchEveryS * (static_cast<double>(round) + (p + 1.0) / kPositionsPerBatch))};
        positions.push_back({{"at", format_rfc3339(std::chrono::time_point_cast<std::chrono::milliseconds>(at))},
                             {"lon", w.lon}, {"lat", w.lat}, {"accuracy_m", 8}});
      }
    }
    httplib::Headers h = {{"Authorization", "Bearer " + worker_token(i)}};
    auto r = cli.Post(fmt::format("/api/v1/workers/{}/track", crew[i].id), h,
                      json({{"shift", "bench"}, {"positions", positions}}).dump(), "application/json");
    return r && r->status == 200;
  }, port, failed_track);
  const double put50 = percentile(put, 0.5), put99 = percentile(put, 0.99);
  const double tr50 = percentile(track, 0.5), tr99 = percentile(track, 0.99);
  fmt::print("PUT position   : p50 {:6.2f} ms  p99 {:6.2f} ms  ({} requests, {} failed)\n", put50, put99, put.size(),
             failed_put.load());
  fmt::print("POST track     : p50 {:6.2f} ms  p99 {:6.2f} ms  ({} requests, {} failed)  p99 {:.2f}x the PUT's\n", tr50,
             tr99, track.size(), failed_track.load(), tr99 / put99);

  // 2. A day of 1,000 workers: each passed 60 % of its grid's cells (written straight into the
  // table: what a day of batches leaves there).
  PGconn* db = PQconnectdb(ep.pg_conninfo.c_str());
  const std::string day = "2026-06-01";
  // What the batches left: every position kept, and the cells they passed.
  auto count = [&](const char* sql) {
    PGresult* r = PQexec(db, sql);
    const std::string v = PQresultStatus(r) == PGRES_TUPLES_OK ? PQgetvalue(r, 0, 0) : "?";
    PQclear(r);
    return v;
  };
  const std::string stored = count("SELECT count(*) FROM patrol_positions"),
                    passed = count("SELECT count(*) FROM patrol_cells");
  fmt::print("the batches stored {} positions ({} sent) and {} (worker, cell) passes\n", stored,
             track.size() * kPositionsPerBatch, passed);
  bench::exec(db, "DELETE FROM patrol_cells");
  std::string copy;
  for (size_t i = 0; i < workers; ++i)
    for (int cell = 0; cell < 100; ++cell)
      if ((cell * 7 + static_cast<int>(i)) % 10 < 6) copy += fmt::format("('{}','{}','{}',{}),", day, crew[i].grid, crew[i].id, cell);
  copy.pop_back();
  bench::exec(db, "INSERT INTO patrol_cells (day, grid, worker, cell) VALUES " + copy);
  bench::exec(db, "ANALYZE patrol_cells");
  auto timed = [&](const std::function<void()>& fn) {
    const auto t0 = Clock::now();
    fn();
    return seconds_since(t0);
  };
  const double bare = timed([&] {
    PGresult* r = PQexec(db, fmt::format("SELECT grid, worker, count(*) FROM patrol_cells WHERE day = '{}' "
                                         "GROUP BY grid, worker", day).c_str());
    PQclear(r);
  });
  httplib::Client cli("127.0.0.1", port);
  cli.set_bearer_token_auth("bench-dispatcher-token-0123");
  size_t listed = 0;
  auto coverage = [&] {
    auto r = cli.Get("/api/v1/stats/coverage?date=" + day);
    if (r && r->status == 200) listed = json::parse(r->body)["grids"].size();
  };
  const double cold = timed(coverage), warm = timed(coverage);
  fmt::print("coverage of a day: {} grids, cold {:.3f} s (lattices built), warm {:.3f} s; bare grouped count {:.3f} s "
             "({:.1f}x)\n",
             listed, cold, warm, bare, warm / bare);
  PQfinish(db);
  fmt::print("RESULT workers={} rate={:.1f} put_p99_ms={:.2f} track_p50_ms={:.2f} track_p99_ms={:.2f} "
             "ratio_track_vs_put_p99={:.2f} failed={} positions_stored={} coverage_grids={} coverage_cold_s={:.3f} "
             "coverage_warm_s={:.3f} bare_count_s={:.3f} ratio_coverage_vs_count={:.2f} track_goal_met={} "
             "coverage_goal_met={}\n",
             workers, rate, put99, tr50, tr99, tr99 / put99, failed_put.load() + failed_track.load(), stored, listed,
             cold, warm, bare, warm / bare, tr99 < 50 ? 1 : 0, std::max(cold, warm) < 1 ? 1 : 0);
  c->stop();
  services->stop();
  return 0;
}
