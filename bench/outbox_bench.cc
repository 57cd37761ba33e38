// Agent outbox benchmark (not a test), on a private Mosquitto:
//  1. Outbox write (fdatasync'd) + publish + acknowledgement, against a plain QoS 1 publish of the
//     same messages to the same subscriber in the same run. Goal >= 0.5x.
//  2. Backlog drain after an outage: 1 hour of 50 sources at 1 event/s (180,000 events) stored
//     while the broker is away, then drained while 50 new events a second keep coming.
// Usage: outbox_bench [messages=20000] [outage_events=180000] [--no-fsync]
// Ends with one line "RESULT ...". Latest results: docs/PERFORMANCE.md.
#include <unistd.h>

#include <atomic>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "bench_support.h"
#include "gridwatch/agent/outbox.h"
#include "gridwatch/platform/mqtt.h"
#include "gridwatch/platform/services.h"

using namespace gridwatch;
using bench::Clock;
using bench::seconds_since;

namespace {

// An order event of ordinary size (~600 bytes), numbered.
std::string order(size_t n) {
  return nlohmann::json({{"schema", "gw.order/1"},
                         {"event", "open"},
                         {"id", fmt::format("box-01.bin_full.bin-{:03}.{}", n % 50, n)},
                         {"category", "sanitation.bin_overflow"},
                         {"priority", "normal"},
                         {"source", {{"kind", "sensor"}, {"agent_id", "box-01"}, {"device_id", "bin-001"}}},
                         {"location", {{"lon", 116.4109}, {"lat", 39.9139}, {"accuracy_m", 5}}},
                         {"observed_at", "2026-11-23T08:00:00Z"},
                         {"evidence", {{"readings", nlohmann::json::array({87.5, 90.1, 93.4, 95.0})},
                                       {"snapshot", "evidence/box-01/bin-001/20261123T080000Z.jpg"}}},
                         {"description", "垃圾桶满溢 bin over 90 % for 10 minutes, from the bin-fill sensor at the "
                                         "corner of Wangfujing and Dongdan; the last four readings are attached"}})
      .dump();
}

std::unique_ptr<platform::MqttClient> client(const std::string& url, const std::string& id) {
  auto c = platform::MqttClient::create({.url = url, .client_id = id});
  if (!c || !(*c)->connect(std::chrono::seconds{10})) {
    fmt::print(stderr, "cannot connect {}\n", id);
    std::exit(1);
  }
  return std::move(*c);
}

void wait_until(const std::function<bool()>& done) {
  const auto t0 = Clock::now();
  while (!done()) {
    if (seconds_since(t0) > 900) {
      fmt::print(stderr, "timed out\n");
      std::exit(1);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds{2});
  }
}

// No center here: events are forgotten at the broker's PUBACK (the outbox's own cost against a
// plain publish); with a center, confirmations add one message back per batch of events.
std::unique_ptr<agent::Outbox> open_box(const std::filesystem::path& file, bool sync) {
  std::filesystem::remove(file);
  auto log = agent::open_outbox_file(file);
  auto box = log ? agent::Outbox::open(std::move(*log), {.max_bytes = 1ull << 30, .sync = sync, .confirm = false})
                 : Result<std::unique_ptr<agent::Outbox>>(std::unexpected(log.error()));
  if (!box) {
    fmt::print(stderr, "outbox: {}\n", box.error().message);
    std::exit(1);
  }
  return std::move(*box);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  const bool sync = std::erase(args, "--no-fsync") == 0;
  const size_t n = args.size() > 0 ? std::stoul(args[0]) : 20'000;
  const size_t outage = args.size() > 1 ? std::stoul(args[1]) : 180'000;
  spdlog::set_level(spdlog::level::warn);
  const auto dir = std::filesystem::temp_directory_path() / fmt::format("gw-outbox-bench-{}", getpid());
  auto services = platform::PrivateServices::start({.dir = dir, .postgres = false});
  if (!services) {
    fmt::print(stderr, "services: {}\n", services.error().message);
    return 1;
  }
  const std::string url = (*services)->endpoints().mqtt_url;
  std::atomic<size_t> got{0};
  auto sub = platform::MqttClient::create({.url = url, .client_id = "bench-sub"});
  (*sub)->on_message([&](platform::MqttMessage) { ++got; });
  if (!(*sub)->subscribe("bench/#", 1)) return 1;
  if (!(*sub)->connect(std::chrono::seconds{10})) return 1;
  std::vector<std::string> messages;
  for (size_t i = 0; i < n; ++i) messages.push_back(order(i));
  fmt::print("{} messages of {} bytes, outbox fsync {}; outage of {} events\n", n, messages[0].size(),
             sync ? 1 : 0, outage);

  // 1. Peer: plain QoS 1 publishing.
  auto pub = client(url, "bench-pub");
  got = 0;
  auto t0 = Clock::now();
  for (const std::string& m : messages) (void)pub->publish("bench/peer", m, 1, false);
  wait_until([&] { return got.load() >= n; });
  const double plain = static_cast<double>(n) / seconds_since(t0);
  fmt::print("plain QoS 1 publish: {:.0f} messages/s\n", plain);

  // 1'. Outbox: each message stored (and synced) first, published by the sender, acknowledged;
  // one message per fdatasync, then ten (the rule engine hands over all transitions of a moment).
  const auto file = dir / "outbox" / "log";
  auto through_outbox = [&](size_t batch) {
    auto box = open_box(file, sync);
    agent::OutboxSender sender(*box, *pub, 1000, 1e9);
    sender.start();
    got = 0;
    const auto t = Clock::now();
    for (size_t i = 0; i < n; i += batch) {
      std::vector<agent::Outbox::Event> events;
      for (size_t k = i; k < std::min(n, i + batch); ++k) events.push_back({"bench/outbox", messages[k], 2});
      (void)box->add_all(events);
      sender.wake();
    }
    wait_until([&] { return got.load() >= n && box->stats().pending == 0; });
    const double rate = static_cast<double>(n) / seconds_since(t);
    sender.stop();
    fmt::print("outbox, {} per write{} + publish + acknowledgement: {:.0f} messages/s = {:.2f}x plain (goal >= 0.5x)\n",
               batch, sync ? " and fdatasync" : "", rate, rate / plain);
    return rate;
  };
  const double boxed = through_outbox(1);
  const double boxed10 = through_outbox(10);

  // 2. An hour of 50 sources while the broker is away, then the drain with new events coming.
  auto box = open_box(file, sync);
  t0 = Clock::now();
  for (size_t i = 0; i < outage; ++i) (void)box->add("bench/backlog", order(i), 2);
  const double store_s = seconds_since(t0);
  fmt::print("stored {} events in {:.1f} s ({} MB on disk)\n", outage, store_s, box->stats().log_bytes >> 20);
  got = 0;
  agent::OutboxSender sender(*box, *pub, 1000, 1e9);
  std::atomic<bool> live{true};
  std::atomic<size_t> added_live{0};
  std::thread sources([&] {
    // 50 new events a second while the backlog drains.
    while (live) {
      (void)box->add("bench/backlog", order(outage + added_live), 2);
      ++added_live;
      sender.wake();
      std::this_thread::sleep_for(std::chrono::milliseconds{20});
    }
  });
  t0 = Clock::now();
  sender.start();
  wait_until([&] { return box->stats().pending == 0 && got.load() >= outage; });
  const double drain_s = seconds_since(t0);
  live = false;
  sources.join();
  sender.stop();
  const double drain_rate = static_cast<double>(got.load()) / drain_s;
  fmt::print("backlog drained in {:.1f} s while {} new events arrived: {:.0f} events/s; at the default "
             "outbox.drain_rate of 500/s it would take {:.0f} min\n",
             drain_s, added_live.load(), drain_rate, static_cast<double>(outage) / (500.0 - 50.0) / 60.0);
  box.reset();
  pub->disconnect(std::chrono::seconds{1});
  (*sub)->disconnect(std::chrono::seconds{1});
  (*services)->stop();
  std::filesystem::remove_all(dir);
  fmt::print("RESULT plain_qos1_per_s={:.0f} outbox_per_s={:.0f} ratio_outbox={:.2f} outbox_batch10_per_s={:.0f} "
             "ratio_outbox_batch10={:.2f} fsync={} backlog_events={} backlog_store_s={:.1f} backlog_drain_per_s={:.0f} "
             "backlog_drain_s={:.1f}\n",
             plain, boxed, boxed / plain, boxed10, boxed10 / plain, sync ? 1 : 0, outage, store_s, drain_rate,
             drain_s);
  return 0;
}
