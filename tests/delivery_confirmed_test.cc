// End-to-end delivery: an agent's outbox forgets an order event only when the center has stored
// it, not when the broker acknowledged it. Two ways an acknowledged event used to be lost:
// - the broker crashes with events queued for an absent center (Mosquitto keeps QoS 1 messages
//   for a subscriber in memory between autosaves): a 10,000-event stream, the center away for
//   its second half, kill -9 of the broker, restart → every event stored exactly once (and the
//   same scenario without confirmations loses the events the broker held: the test can fail);
// - a center takes events and dies before storing them, while the agent's link never drops:
//   only the confirmation timeout brings them back.
// A broker of the test's own, a center in this process on the test's own database, and the
// agent's outbox with its sender and the confirmation subscription, as the agent wires them.
#include <gtest/gtest.h>

#include <unistd.h>

#include <atomic>
#include <memory>
#include <random>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "gridwatch/agent/outbox.h"
#include "gridwatch/center/center.h"
#include "gridwatch/domain/catalog.h"
#include "gridwatch/domain/time.h"
#include "gridwatch/platform/mqtt.h"
#include "center_config.h"
#include "outbox_agent.h"
#include "private_broker.h"
#include "support.h"

namespace gridwatch::testing {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

class DeliveryConfirmed : public ::testing::Test {
 protected:
  void SetUp() override {
    svc_ = services();
    ASSERT_FALSE(svc_.pg_conninfo.empty());
    dir_ = temp_dir("delivery-confirmed");
    prefix_ = unique_prefix();
    static int n = 0;  // one agent a test: the tests of a process share its database
    agent_id_ = fmt::format("e2e-agent-{}-{}", getpid(), n++);
    cfg_ = center_config(fmt::format("e2e-{}", getpid()), prefix_, "e2e", "e2e-test-key-0123456789");
  }
  void TearDown() override {
    agent_.stop();
    center_.reset();
    if (broker_) broker_->stop();
    std::filesystem::remove_all(dir_);
  }

  // Mosquitto saving its state every `autosave_s` seconds.
  void start_broker(int autosave_s) {
    broker_ = std::make_unique<PrivateBroker>(dir_, *platform::free_tcp_port(), "allow_anonymous true\n", autosave_s);
    broker_->start();
    cfg_.broker_url = broker_->url();
    cfg_.username.clear();
    cfg_.password.clear();
  }
  void start_center() {
    center_ = std::make_unique<center::Center>(cfg_, Catalog::builtin());
    auto st = center_->start();
    ASSERT_TRUE(st.has_value()) << st.error().message;
  }
  // The agent's side, as agent.cc wires it.
  void start_agent(bool confirm, std::chrono::milliseconds confirm_timeout) {
    platform::MqttOptions mqtt;
    mqtt.url = broker_->url();
    auto st = agent_.start(
        {.dir = dir_, .id = agent_id_, .prefix = prefix_, .mqtt = mqtt, .confirm = confirm, .confirm_timeout = confirm_timeout});
    ASSERT_TRUE(st.has_value()) << st.error().message;
  }
  void add(int from, int to) { ASSERT_TRUE(agent_.add(from, to).has_value()); }
  // Order events of this agent stored: (rows, distinct orders).
  std::pair<int, int> stored() {
    auto rows = sql(svc_.pg_conninfo, "SELECT count(*), count(DISTINCT order_id) FROM order_events WHERE order_id LIKE $1",
                    {agent_.order_id_pattern()});
    return rows.empty() ? std::pair<int, int>{-1, -1} : std::pair<int, int>{std::stoi(rows[0][0]), std::stoi(rows[0][1])};
  }
  // The scenario of the broker crash: the first half of `events` stored, the center away, the
  // second half taken by the broker (acknowledged) and queued for the center, the broker killed
  // before it saved them (autosave every hour; Mosquitto's default is 30 min) and restarted,
  // the center back.
  void crash_with_half_the_stream_queued(int events, bool confirm) {
    start_broker(3600);
    start_center();
    start_agent(confirm, 3s);
    add(0, events / 2);
    ASSERT_TRUE(eventually([&] { return stored().second == events / 2; }, 60s)) << describe();
    center_.reset();  // its session keeps its subscription
    add(events / 2, events);
    ASSERT_TRUE(eventually([&] { return agent_.outbox().stats().acknowledged >= static_cast<uint64_t>(events); }, 60s))
        << "the broker took the second half: " << describe();
    if (confirm) {
      EXPECT_EQ(agent_.outbox().stats().pending, static_cast<size_t>(events / 2)) << "kept past the broker's PUBACK";
    }
    broker_->kill();
    broker_->start();
    start_center();
  }
  std::string describe() {
    const agent::OutboxStats os = agent_.outbox().stats();
    return fmt::format("stored {}; outbox pending {}, unconfirmed {}, confirmed {}, acknowledged {}, resent {}",
                       stored().second, os.pending, os.unconfirmed, os.confirmed, os.acknowledged, os.resent);
  }

  platform::ServiceEndpoints svc_;
  std::filesystem::path dir_;
  std::string prefix_, agent_id_;
  center::CenterConfig cfg_;
  std::unique_ptr<PrivateBroker> broker_;
  std::unique_ptr<center::Center> center_;
  OutboxAgent agent_;
};

TEST_F(DeliveryConfirmed, ABrokerKilledWithEventsQueuedForTheCenterLosesNoneOfThem) {
  constexpr int kEvents = 10'000;
  crash_with_half_the_stream_queued(kEvents, /*confirm=*/true);
  ASSERT_TRUE(eventually([&] { return stored().second == kEvents && agent_.outbox().stats().pending == 0; }, 120s)) << describe();
  EXPECT_EQ(stored().first, kEvents) << "every event stored once";
  EXPECT_EQ(agent_.outbox().stats().confirmed, static_cast<uint64_t>(kEvents)) << "each confirmed and forgotten once";
  EXPECT_EQ(agent_.outbox().stats().dropped, 0u);
  EXPECT_EQ(agent_.bad_confirmations.load(), 0);
}

// The same crash when the outbox forgets at the PUBACK (confirmations off): what the broker held
// is gone. This is what the test above guards against.
TEST_F(DeliveryConfirmed, WithoutConfirmationsTheSameCrashLosesWhatTheBrokerHeld) {
  constexpr int kEvents = 1'000;
  crash_with_half_the_stream_queued(kEvents, /*confirm=*/false);
  EXPECT_EQ(agent_.outbox().stats().pending, 0u) << "forgotten at the PUBACK";
  // A barrier: an event sent after the restart. The broker hands a returning session what it
  // kept before anything new, and the center stores in order: once this one is stored, anything
  // the broker kept would have been too.
  add(kEvents, kEvents + 1);
  ASSERT_TRUE(eventually([&] {
    return !sql(svc_.pg_conninfo, "SELECT 1 FROM order_events WHERE order_id = $1", {agent_.order_id(kEvents)})
                .empty();
  }, 60s)) << describe();
  EXPECT_EQ(stored().second, kEvents / 2 + 1) << "the broker's queue for the center was lost in the crash";
}

// A center that took events and stopped before storing them (here: a client with the center's
// session that reads and drops them), while the agent stays connected: only the confirmation
// timeout sends them again.
TEST_F(DeliveryConfirmed, EventsACenterTookButNeverStoredArePublishedAgainAfterTheTimeout) {
  constexpr int kEvents = 200;
  start_broker(1);
  start_center();  // makes the schema and the center's session
  center_.reset();
  std::atomic<int> taken{0};
  auto dying = platform::MqttClient::create(
      {.url = broker_->url(), .client_id = fmt::format("gw-center-{}", cfg_.id), .clean_session = false});
  ASSERT_TRUE(dying.has_value());
  (*dying)->on_message([&](platform::MqttMessage) { ++taken; });
  ASSERT_TRUE((*dying)->subscribe(fmt::format("$share/{}/{}/orders/#", cfg_.share_group, prefix_), 1).has_value());
  ASSERT_TRUE((*dying)->connect(10s).has_value());
  start_agent(/*confirm=*/true, 2s);
  add(0, kEvents);
  ASSERT_TRUE(eventually([&] { return taken.load() >= kEvents; }, 30s)) << taken.load();
  (void)(*dying)->disconnect(1s);
  dying->reset();
  start_center();
  ASSERT_TRUE(eventually([&] { return stored().second == kEvents && agent_.outbox().stats().pending == 0; }, 60s)) << describe();
  EXPECT_EQ(stored().first, kEvents);
  EXPECT_GE(agent_.outbox().stats().resent, static_cast<uint64_t>(kEvents)) << "each came back by the timeout";
  EXPECT_TRUE(agent_.mqtt().connected()) << "the agent's link never dropped";
}

}  // namespace
}  // namespace gridwatch::testing
