// The agent's outbox against a real Mosquitto that goes away in the middle of a stream: a broker
// of this test's own (the fixture's broker is shared), with persistence, so that the subscriber's
// session survives the restart as a center's does.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <mutex>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "gridwatch/agent/outbox.h"
#include "gridwatch/platform/mqtt.h"
#include "gridwatch/platform/process.h"
#include "gridwatch/platform/services.h"
#include "support.h"

namespace gridwatch::testing {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

class Broker {
 public:
  Broker(std::filesystem::path dir, int port) : dir_(std::move(dir)), port_(port) {
    // Mosquitto drops root privileges: its persistence directory must be writable by it.
    ::chmod(dir_.c_str(), 0777);
    write_file(dir_ / "mosquitto.conf",
               fmt::format("listener {} 127.0.0.1\nallow_anonymous true\npersistence true\n"
                           "persistence_location {}/\nautosave_interval 1\nlog_dest stderr\n"
                           "max_inflight_messages 1000\nmax_queued_messages 100000\n",
                           port_, dir_.string()));
    ::chmod((dir_ / "mosquitto.conf").c_str(), 0644);
  }
  void start() {
    platform::SpawnOptions o;
    o.log_file = dir_ / "mosquitto.log";
    auto child = platform::ChildProcess::spawn({"/usr/sbin/mosquitto", "-c", (dir_ / "mosquitto.conf").string()}, o);
    ASSERT_TRUE(child.has_value()) << child.error().message;
    child_.emplace(std::move(*child));
    ASSERT_TRUE(platform::wait_for_tcp(port_, 10s)) << read_file(dir_ / "mosquitto.log");
  }
  void stop() {
    if (child_) child_->stop(5s);  // SIGTERM: Mosquitto saves its sessions
    child_.reset();
  }
  std::string url() const { return fmt::format("tcp://127.0.0.1:{}", port_); }

 private:
  std::filesystem::path dir_;
  int port_;
  std::optional<platform::ChildProcess> child_;
};

TEST(OutboxDelivery, ABrokerOutageInTheMiddleOfAStreamLosesNothingAndKeepsTheOrder) {
  const auto dir = temp_dir("outbox-delivery");
  const int port = *platform::free_tcp_port();
  Broker broker(dir, port);
  broker.start();

  // The subscriber stands for the center: a session that outlives a broker restart.
  std::mutex mu;
  std::vector<int> received;
  auto sub = platform::MqttClient::create(
      {.url = broker.url(), .client_id = fmt::format("t-outbox-sub-{}", getpid()), .clean_session = false});
  ASSERT_TRUE(sub.has_value());
  (*sub)->on_message([&](platform::MqttMessage m) {
    const json j = json::parse(m.payload, nullptr, false);
    std::lock_guard lock(mu);
    received.push_back(j.value("n", -1));
  });
  (*sub)->subscribe("t/orders/#", 1);
  ASSERT_TRUE((*sub)->connect(10s).has_value());

  auto log = agent::open_outbox_file(dir / "agent" / "outbox" / "log");
  ASSERT_TRUE(log.has_value());
  auto box = agent::Outbox::open(std::move(*log), {});
  ASSERT_TRUE(box.has_value());
  auto pub = platform::MqttClient::create({.url = broker.url(), .client_id = fmt::format("t-outbox-agent-{}", getpid())});
  ASSERT_TRUE(pub.has_value());
  ASSERT_TRUE((*pub)->connect(10s).has_value());
  agent::OutboxSender sender(**box, **pub, 100, 2000);
  sender.start();

  // 600 events over ~3 s; the broker is away for ~2 s after the 200th.
  constexpr int kEvents = 600;
  for (int i = 0; i < kEvents; ++i) {
    ASSERT_TRUE((*box)->add("t/orders/agent-1", json({{"n", i}}).dump(), 2).has_value());
    sender.wake();
    if (i == 200) {
      broker.stop();
      EXPECT_FALSE(eventually([&] { return (*pub)->connected(); }, 300ms)) << "the broker is down";
    }
    if (i == 400) broker.start();
    std::this_thread::sleep_for(5ms);
  }
  const bool all = eventually(
      [&] {
        std::lock_guard lock(mu);
        return std::set<int>(received.begin(), received.end()).size() == kEvents;
      },
      60s);
  sender.stop();
  std::lock_guard lock(mu);
  ASSERT_TRUE(all) << "received " << std::set<int>(received.begin(), received.end()).size() << " of " << kEvents;
  // Every event by its id, first arrivals in order; a copy sent again after the outage (its
  // acknowledgement was lost with the connection) is allowed, and harmless at the center.
  std::vector<int> first;
  std::set<int> seen;
  for (int n : received)
    if (seen.insert(n).second) first.push_back(n);
  std::vector<int> want(kEvents);
  for (int i = 0; i < kEvents; ++i) want[static_cast<size_t>(i)] = i;
  EXPECT_EQ(first, want);
  EXPECT_LE(received.size() - kEvents, 200u) << "at most one window sent again";
  EXPECT_EQ((*box)->stats().pending, 0u);
  EXPECT_GE((*box)->stats().acknowledged, static_cast<uint64_t>(kEvents));
  (*sub)->disconnect(1s);
  (*pub)->disconnect(1s);
  broker.stop();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace gridwatch::testing
