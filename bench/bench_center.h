// The center the benchmarks run in their own process, on their private services.
#pragma once

#include <cstdlib>
#include <memory>

#include <fmt/format.h>

#include "gridwatch/center/center.h"
#include "gridwatch/domain/catalog.h"
#include "gridwatch/platform/services.h"

namespace gridwatch::bench {

// Center "bench" on `ep`: any free HTTP port, `threads` database connections and HTTP workers,
// the Open311 key "bench-key-0123456789" and a dispatcher's token `token` (none when empty).
inline center::CenterConfig center_config(const platform::ServiceEndpoints& ep, int threads = 8,
                                          const std::string& token = "") {
  center::CenterConfig cfg;
  cfg.id = "bench";
  cfg.broker_url = ep.mqtt_url;
  cfg.conninfo = ep.pg_conninfo;
  cfg.http_port = 0;
  cfg.pool_size = threads;
  cfg.http_threads = threads;
  cfg.sla_check_interval = std::chrono::hours{1};
  cfg.api_keys = {{"bench", "bench-key-0123456789"}};
  if (!token.empty())
    cfg.tokens = {{.name = "bench", .role = center::Role::kDispatcher, .token = token, .expires = {}, .unit = "",
                   .grid = ""}};
  return cfg;
}

// The center of `cfg`, started; a failure ends the benchmark.
inline std::unique_ptr<center::Center> start_center(const center::CenterConfig& cfg) {
  auto c = std::make_unique<center::Center>(cfg, Catalog::builtin());
  if (auto st = c->start(); !st) {
    fmt::print(stderr, "center: {}\n", st.error().message);
    std::exit(1);
  }
  return c;
}

}  // namespace gridwatch::bench
