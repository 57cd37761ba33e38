// The center the benchmarks run in their own process, on their private services.
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>

#include <fmt/format.h>

#include "gridwatch/center/center.h"
#include "gridwatch/domain/catalog.h"
#include "gridwatch/platform/services.h"

namespace gridwatch::bench {

// Private services (broker and PostGIS) in a temporary directory named after the benchmark and
// this process; a failure ends the benchmark.
inline std::unique_ptr<platform::PrivateServices> start_services(const std::string& name) {
  auto services = platform::PrivateServices::start(
      {.dir = std::filesystem::temp_directory_path() / fmt::format("gw-{}-{}", name, getpid())});
  if (!services) {
    fmt::print(stderr, "services: {}\n", services.error().message);
    std::exit(1);
  }
  return std::move(*services);
}

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
