// Case lifecycle benchmark (not a test): two figures, each against a peer measured in this run.
//  1. Lifecycle steps per second through the API (POST /api/v1/orders/{id}/actions: token check,
//     state table, SLA dues, one audit row each) against the same steps called on the store
//     directly (no HTTP, no auth) by as many threads.
//  2. The three rates (GET /api/v1/stats) over 1,000,000 cases, against a bare count of the same
//     rows in SQL (the scan every answer needs). Goal: < 1 s.
// Usage: lifecycle_bench [cases_per_side=2000] [rate_cases=1000000] [threads=8]
// Ends with one line "RESULT ...". Latest results: docs/PERFORMANCE.md.
#include <httplib.h>
#include <libpq-fe.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "bench_center.h"
#include "bench_support.h"
#include "gridwatch/center/center.h"
#include "gridwatch/domain/catalog.h"
#include "gridwatch/platform/services.h"

using namespace gridwatch;
using Clock = bench::Clock;
using bench::exec;
using bench::percentile;
using bench::seconds_since;
using json = nlohmann::json;

namespace {

constexpr const char* kToken = "bench-dispatcher-token-0123";
constexpr center::CaseAction kSteps[] = {center::CaseAction::kDispatch, center::CaseAction::kAccept,
                                         center::CaseAction::kStart, center::CaseAction::kResolve,
                                         center::CaseAction::kClose};

// `n` new cases with ids PREFIX-0 ... PREFIX-(n-1).
void new_cases(PGconn* c, const std::string& prefix, size_t n) {
  exec(c, fmt::format(R"sql(
INSERT INTO orders (id, category, priority, status, source_kind, observed_at, opened_at, first_seen_at)
SELECT '{0}-' || i, 'sanitation.bin_overflow', 'normal', 'open', 'camera', now(), now(), now()
FROM generate_series(0, {1} - 1) i)sql",
                      prefix, n));
}

// Runs every step of every case on `threads` threads, each taking every threads-th case.
double run_steps(size_t n, int threads, const std::function<bool(size_t, center::CaseAction)>& step) {
  std::atomic<size_t> failed{0};
  const auto t0 = Clock::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      for (size_t i = static_cast<size_t>(t); i < n; i += static_cast<size_t>(threads))
        for (center::CaseAction a : kSteps)
          if (!step(i, a)) ++failed;
    });
  for (auto& th : pool) th.join();
  const double secs = seconds_since(t0);
  if (failed) fmt::print(stderr, "{} steps failed\n", failed.load());
  return static_cast<double>(n * std::size(kSteps)) / secs;
}

}  // namespace

int main(int argc, char** argv) {
  const size_t n = argc > 1 ? std::stoul(argv[1]) : 2'000;
  const size_t rate_cases = argc > 2 ? std::stoul(argv[2]) : 1'000'000;
  const int threads = argc > 3 ? std::stoi(argv[3]) : 8;
  spdlog::set_level(spdlog::level::warn);

  auto services = platform::PrivateServices::start(
      {.dir = std::filesystem::temp_directory_path() / fmt::format("gw-lifecycle-bench-{}", getpid())});
  if (!services) {
    fmt::print(stderr, "services: {}\n", services.error().message);
    return 1;
  }
  const auto ep = (*services)->endpoints();
  auto center_ptr = bench::start_center(bench::center_config(ep, threads, kToken));
  center::Center& center = *center_ptr;
  PGconn* db = PQconnectdb(ep.pg_conninfo.c_str());
  fmt::print("{} cases a side x {} steps (dispatch, accept, start, resolve, close), {} threads; rates over {} cases\n",
             n, std::size(kSteps), threads, rate_cases);

  // 1. Steps on the store directly, then the same through the API.
  new_cases(db, "direct", n);
  new_cases(db, "api", n);
  exec(db, "ANALYZE orders");
  const center::TransitionOptions options{.unit = "street-1"};
  const double direct = run_steps(n, threads, [&](size_t i, center::CaseAction a) {
    return center.store().transition(fmt::format("direct-{}", i), a, "benchmark", "bench", options).has_value();
  });
  const double api = run_steps(n, threads, [&](size_t i, center::CaseAction a) {
    thread_local std::unique_ptr<httplib::Client> cli;
    if (!cli) {
      cli = std::make_unique<httplib::Client>("127.0.0.1", center.http_port());
      cli->set_keep_alive(true);
      cli->set_tcp_nodelay(true);  // as browsers do: headers and body are separate writes
      cli->set_bearer_token_auth(kToken);
    }
    json body = {{"action", center::to_string(a)}, {"reason", "benchmark"}};
    if (a == center::CaseAction::kDispatch) body["unit"] = "street-1";
    auto r = cli->Post(fmt::format("/api/v1/orders/api-{}/actions", i), body.dump(), "application/json");
    return r && r->status == 200;
  });
  PGresult* audit = PQexec(db, "SELECT count(*) FROM case_history WHERE actor = 'bench'");
  const std::string audit_rows = PQgetvalue(audit, 0, 0);
  PQclear(audit);
  fmt::print("lifecycle steps: API {:.0f}/s, store directly {:.0f}/s = {:.2f}x; {} audit rows for {} steps\n", api,
             direct, api / direct, audit_rows, 2 * n * std::size(kSteps));

  // 2. The three rates over many cases opened in the last 30 days, in ~330 streets.
  auto t0 = Clock::now();
  exec(db, fmt::format(R"sql(
INSERT INTO orders (id, category, priority, status, source_kind, observed_at, opened_at, first_seen_at, proactive,
                    areas, area_code, state, unit_code, department, first_dispatched_at, dispatched_at, respond_due,
                    responded_at, satisfaction)
SELECT 'rate-' || i, c.code, 'normal', 'open', CASE WHEN i % 3 = 0 THEN 'camera' ELSE 'hotline' END, t, t, t, i % 3 = 0,
       jsonb_build_object('street', s), s,
       (ARRAY['new','dispatched','accepted','in_progress','resolved','closed','closed','closed','reopened','rejected'])[1 + i % 10],
       CASE WHEN i % 10 = 0 THEN NULL ELSE s END, CASE WHEN i % 10 = 0 THEN NULL ELSE c.dep END,
       CASE WHEN i % 10 = 0 THEN NULL ELSE t + interval '5 minutes' END,
       CASE WHEN i % 10 = 0 THEN NULL ELSE t + interval '5 minutes' END,
       CASE WHEN i % 10 = 0 THEN NULL ELSE t + interval '65 minutes' END,
       CASE WHEN i % 10 < 2 THEN NULL ELSE t + (random() * interval '90 minutes') END,
       CASE WHEN i % 10 IN (5, 6) THEN 'satisfied' WHEN i % 10 IN (7, 8) THEN
         (CASE WHEN random() < 0.9 THEN 'satisfied' ELSE 'unsatisfied' END) END
FROM (SELECT i, now() - random() * interval '30 days' AS t, '110' || lpad((i % 331)::text, 6, '0') AS s FROM generate_series(1, {}) i) g
JOIN (VALUES (0, 'sanitation.bin_overflow', 'sanitation'), (1, 'sanitation.dumped_waste', 'sanitation'),
             (2, 'traffic.illegal_parking', 'traffic_police'), (3, 'traffic.bike_clutter', 'transport'),
             (4, 'fire.blocked_lane', 'fire_rescue'), (5, 'water.waterlogging', 'water_authority'),
             (6, 'utilities.manhole_cover', 'city_management'), (7, 'environment.noise', 'ecology_environment'),
             (8, 'environment.odor', 'ecology_environment'), (9, 'utilities.heating', 'heating'))
     AS c(k, code, dep) ON c.k = (g.i / 10) % 10
)sql",
                       rate_cases));
  exec(db, "VACUUM ANALYZE orders");
  fmt::print("loaded {} cases in {:.1f} s\n", rate_cases, seconds_since(t0));
  const std::string from = format_rfc3339(now_utc() - std::chrono::days{31});
  httplib::Client cli("127.0.0.1", center.http_port());
  cli.set_bearer_token_auth(kToken);
  cli.set_read_timeout(60);
  auto time_stats = [&](const std::string& query, json* out) {
    std::vector<double> s;
    for (int k = 0; k < 5; ++k) {
      const auto t = Clock::now();
      auto r = cli.Get("/api/v1/stats?" + query);
      s.push_back(seconds_since(t));
      if (!r || r->status != 200) {
        fmt::print(stderr, "stats {}: {}\n", query, r ? r->body : "no answer");
        std::exit(1);
      }
      if (out) *out = json::parse(r->body);
    }
    return std::pair{percentile(s, 0.5), *std::max_element(s.begin(), s.end())};
  };
  json by_unit;
  const auto [unit_med, unit_max] = time_stats("by=unit&from=" + from, &by_unit);
  const auto [dep_med, dep_max] = time_stats("by=department&period=day&tz=Asia/Shanghai&from=" + from, nullptr);
  std::vector<double> scan;
  for (int k = 0; k < 5; ++k) {
    const auto t = Clock::now();
    exec(db, fmt::format("SELECT count(*), count(responded_at) FROM orders WHERE opened_at >= '{}'", from));
    scan.push_back(seconds_since(t));
  }
  const double scan_med = percentile(scan, 0.5);
  const json& total = by_unit["total"];
  fmt::print("three rates over {} cases: by unit ({} groups) median {:.3f} s (max {:.3f}); by department per day "
             "median {:.3f} s (max {:.3f}); bare count of the same rows {:.3f} s = {:.1f}x (goal < 1 s)\n",
             total["cases"].get<int64_t>(), by_unit["groups"].size(), unit_med, unit_max, dep_med, dep_max, scan_med,
             unit_med / scan_med);
  fmt::print("  rates: response {:.3f}, resolution {:.3f}, satisfaction {:.3f}, proactive share {:.3f}\n",
             total["response_rate"].get<double>(), total["resolution_rate"].get<double>(),
             total["satisfaction_rate"].get<double>(), total["proactive_share"].get<double>());
  PQfinish(db);
  center.stop();
  fmt::print("RESULT api_steps_per_s={:.0f} direct_steps_per_s={:.0f} ratio_api={:.2f} stats_cases={} "
             "stats_by_unit_s={:.3f} stats_by_department_day_s={:.3f} bare_count_s={:.3f} stats_goal_met={}\n",
             api, direct, api / direct, total["cases"].get<int64_t>(), unit_med, dep_med, scan_med,
             unit_max < 1.0 && dep_max < 1.0 ? 1 : 0);
  return 0;
}
