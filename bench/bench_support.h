// Small helpers shared by the benchmarks: wall time, percentiles, SQL that must succeed, and
// where the real data is (bench_data.h).
#pragma once

#include <libpq-fe.h>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "bench_data.h"
#include "gridwatch/platform/process.h"

namespace gridwatch::bench {

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// The p-quantile (0..1) of `v`, 0 when empty.
inline double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

// Runs `sql` (one or more statements without parameters); a failure ends the benchmark.
inline void exec(PGconn* c, const std::string& sql) {
  PGresult* r = PQexec(c, sql.c_str());
  if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
    fmt::print(stderr, "{}: {}\n", sql.substr(0, 80), PQresultErrorMessage(r));
    std::exit(1);
  }
  PQclear(r);
}

// What wrk (Debian package wrk) measured.
struct WrkResult {
  long requests = 0, errors = 0, non2xx = 0;
  std::string error_kinds;  // "connect C, read R, write W, timeout T"
  double seconds = 0, p50_ms = 0, p99_ms = 0;
  double per_second() const { return seconds > 0 ? static_cast<double>(requests) / seconds : 0; }
};

// Runs `wrk -t1 -c{connections} -d{seconds}s` against `url` with `lua`, a script that makes the
// requests (it may set wrk.method, wrk.headers, request()); the script's summary is added here.
// nullopt (after printing wrk's output) when wrk failed.
inline std::optional<WrkResult> run_wrk(const std::string& url, const std::string& lua, int connections, int seconds) {
  const auto dir = std::filesystem::temp_directory_path() / fmt::format("gw-bench-wrk-{}", getpid());
  std::filesystem::create_directories(dir);
  const std::string script = lua + R"(
done = function(summary, latency, requests)
  io.write(string.format("WRK requests=%d errors=%d non2xx=%d p50_us=%d p99_us=%d seconds=%.3f\n",
    summary.requests, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status, latency:percentile(50), latency:percentile(99), summary.duration / 1e6))
  io.write(string.format("WRKERR connect %d, read %d, write %d, timeout %d\n", summary.errors.connect,
    summary.errors.read, summary.errors.write, summary.errors.timeout))
end
)";
  if (std::FILE* f = std::fopen((dir / "bench.lua").c_str(), "w")) {
    std::fputs(script.c_str(), f);
    std::fclose(f);
  }
  // A child of its own (not popen): it inherits none of this process's sockets, which a center
  // in this process may hold by the thousand.
  std::string out;
  auto wrk = platform::ChildProcess::spawn({"wrk", "-t1", fmt::format("-c{}", connections), fmt::format("-d{}s", seconds),
                                            "-s", (dir / "bench.lua").string(), url},
                                           {.log_file = dir / "wrk.log"});
  if (wrk) {
    wrk->wait(std::chrono::seconds{seconds + 60});
    std::ifstream in(dir / "wrk.log");
    std::stringstream text;
    text << in.rdbuf();
    out = text.str();
  } else {
    out = wrk.error().message;
  }
  std::filesystem::remove_all(dir);
  WrkResult r;
  long p50 = 0, p99 = 0;
  const auto at = out.find("WRK ");
  if (at == std::string::npos ||
      std::sscanf(out.c_str() + at, "WRK requests=%ld errors=%ld non2xx=%ld p50_us=%ld p99_us=%ld seconds=%lf",
                  &r.requests, &r.errors, &r.non2xx, &p50, &p99, &r.seconds) != 6) {
    fmt::print(stderr, "wrk (Debian package wrk) failed:\n{}\n", out);
    return std::nullopt;
  }
  if (const auto e = out.find("WRKERR "); e != std::string::npos)
    r.error_kinds = out.substr(e + 7, out.find('\n', e) - e - 7);
  r.p50_ms = static_cast<double>(p50) / 1000;
  r.p99_ms = static_cast<double>(p99) / 1000;
  return r;
}

}  // namespace gridwatch::bench
