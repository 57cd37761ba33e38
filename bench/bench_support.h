// Small helpers shared by the benchmarks: wall time, percentiles, SQL that must succeed, and
// where the real data is (bench_data.h).
#pragma once

#include <libpq-fe.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "bench_data.h"

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

}  // namespace gridwatch::bench
