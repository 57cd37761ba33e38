// The center's HTTP server under open event streams (not a test): `wrk` on the map's query
// (/api/v1/orders?fields=map) with no stream open, then the same `wrk` with 2,000 idle event
// streams (/api/v1/events) open, in one run; goal >= 0.8x the requests/s and p99 < 100 ms.
// Also: the memory and the threads the streams cost the process.
// Usage: http_bench [streams=2000] [cases=2000] [wrk_seconds=10] [connections=4]
// Ends with one line "RESULT ...". Latest results: docs/PERFORMANCE.md.
#include <cstring>
#include <fstream>
#include <memory>
#include <random>
#include <thread>

#include <fmt/format.h>
#include <httplib.h>
#include <spdlog/spdlog.h>

#include "bench_center.h"
#include "bench_support.h"
#include "gridwatch/center/center.h"
#include "gridwatch/domain/catalog.h"
#include "gridwatch/platform/services.h"
#include "raw_http.h"

using namespace gridwatch;
using gridwatch::testing::RawHttp;

namespace {

constexpr const char* kToken = "bench-wall-screen-token-0123456789";

// A field of /proc/self/status ("VmRSS", "Threads") as a number (kB for sizes).
long proc_status(const std::string& field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(field + ":", 0) == 0) return std::stol(line.substr(field.size() + 1));
  return -1;
}

// Opens `n` event streams as EventSource does and waits for each one's first lines.
std::vector<std::unique_ptr<RawHttp>> open_streams(int port, size_t n) {
  std::vector<std::unique_ptr<RawHttp>> streams;
  const std::string request = RawHttp::event_stream_request(kToken);
  for (size_t i = 0; i < n; ++i) {
    streams.push_back(std::make_unique<RawHttp>(port));
    if (!streams.back()->connected() || !streams.back()->send(request)) {
      fmt::print(stderr, "stream {}: cannot connect: {}\n", i, std::strerror(errno));
      std::exit(1);
    }
  }
  for (auto& s : streams) {
    if (!s->read_until("gridwatch live events", std::chrono::seconds{30})) {
      fmt::print(stderr, "a stream did not open within 30 s: {}\n", s->received());
      std::exit(1);
    }
    if (s->received().find("200 OK") == std::string::npos) {
      fmt::print(stderr, "a stream was refused: {}\n", s->received());
      std::exit(1);
    }
    s->discard();  // the process's memory is measured with these clients in it: keep them small
  }
  return streams;
}

}  // namespace

int main(int argc, char** argv) {
  const size_t streams = argc > 1 ? std::stoul(argv[1]) : 2000;
  const size_t cases = argc > 2 ? std::stoul(argv[2]) : 2000;
  const int wrk_seconds = argc > 3 ? std::stoi(argv[3]) : 10;
  const int connections = argc > 4 ? std::stoi(argv[4]) : 4;
  spdlog::set_level(spdlog::level::warn);

  auto services = platform::PrivateServices::start(
      {.dir = std::filesystem::temp_directory_path() / fmt::format("gw-http-bench-{}", getpid())});
  if (!services) {
    fmt::print(stderr, "services: {}\n", services.error().message);
    return 1;
  }
  const auto ep = (*services)->endpoints();
  const center::CenterConfig cfg = bench::center_config(ep, 8, kToken);
  auto center_ptr = bench::start_center(cfg);
  center::Center& center = *center_ptr;
  const int port = center.http_port();

  // Open cases at random places for the map's query.
  {
    httplib::Client cli("127.0.0.1", port);
    std::mt19937_64 rng(11);
    std::uniform_real_distribution<double> lon(116.20, 116.55), lat(39.75, 40.02);
    const char* codes[] = {"sanitation.bin_overflow", "environment.noise", "traffic.illegal_parking", "water.waterlogging"};
    for (size_t i = 0; i < cases; ++i) {
      auto r = cli.Post("/open311/v2/requests.json",
                        fmt::format("api_key=bench-key-0123456789&service_code={}&lat={:.6f}&long={:.6f}&description=bench",
                                    codes[i % 4], lat(rng), lon(rng)),
                        "application/x-www-form-urlencoded");
      if (!r || r->status != 200) {
        fmt::print(stderr, "case {} not posted: {}\n", i, r ? r->body : httplib::to_string(r.error()));
        return 1;
      }
    }
  }
  const std::string lua = fmt::format(R"(
wrk.method = "GET"
wrk.path = "/api/v1/orders?fields=map"
wrk.headers["Authorization"] = "Bearer {}"
)", kToken);
  const std::string url = fmt::format("http://127.0.0.1:{}/api/v1/orders?fields=map", port);
  fmt::print("{} open cases; wrk -t1 -c{} -d{}s on /api/v1/orders?fields=map; http.threads {}\n", cases, connections,
             wrk_seconds, cfg.http_threads);

  const auto alone = bench::run_wrk(url, lua, connections, wrk_seconds);
  if (!alone) return 1;
  fmt::print("no stream open: {:.0f} requests/s, p50 {:.1f} ms, p99 {:.1f} ms, {} errors ({}), {} non-2xx\n",
             alone->per_second(), alone->p50_ms, alone->p99_ms, alone->errors, alone->error_kinds, alone->non2xx);

  const long rss_before = proc_status("VmRSS"), threads_before = proc_status("Threads");
  const auto t0 = bench::Clock::now();
  auto open = open_streams(port, streams);
  const double open_s = bench::seconds_since(t0);
  const long rss_after = proc_status("VmRSS"), threads_after = proc_status("Threads");
  const double kb_per_stream = static_cast<double>(rss_after - rss_before) / static_cast<double>(streams);
  fmt::print("{} event streams opened in {:.2f} s: process memory +{} kB ({:.1f} kB a stream), threads {} -> {}\n",
             streams, open_s, rss_after - rss_before, kb_per_stream, threads_before, threads_after);

  const auto loaded = bench::run_wrk(url, lua, connections, wrk_seconds);
  if (!loaded) return 1;
  const double ratio = loaded->per_second() / alone->per_second();
  fmt::print("{} streams open: {:.0f} requests/s = {:.2f}x no stream (goal >= 0.8x), p50 {:.1f} ms, p99 {:.1f} ms "
             "(goal < 100), {} errors ({}), {} non-2xx\n",
             streams, loaded->per_second(), ratio, loaded->p50_ms, loaded->p99_ms, loaded->errors, loaded->error_kinds,
             loaded->non2xx);
  // The streams are still open and answered: one event reaches every one of them.
  httplib::Client cli("127.0.0.1", port);
  auto r = cli.Post("/open311/v2/requests.json",
                    "api_key=bench-key-0123456789&service_code=environment.noise&lat=39.9&long=116.4&description=last",
                    "application/x-www-form-urlencoded");
  size_t reached = 0;
  const auto t1 = bench::Clock::now();
  for (auto& s : open) reached += s->read_until("event: case", std::chrono::seconds{10});
  fmt::print("one new case reached {} of {} streams in {:.2f} s\n", reached, streams, bench::seconds_since(t1));
  open.clear();
  center.stop();
  fmt::print("RESULT streams={} cases={} connections={} alone_per_s={:.0f} alone_p99_ms={:.1f} loaded_per_s={:.0f} loaded_p99_ms={:.1f} "
             "ratio={:.2f} kb_per_stream={:.1f} threads_before={} threads_after={} event_reached={}\n",
             streams, cases, connections, alone->per_second(), alone->p99_ms, loaded->per_second(), loaded->p99_ms, ratio, kb_per_stream,
             threads_before, threads_after, reached);
  return 0;
}
