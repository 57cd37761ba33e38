// The durable outbox on real files: what is added survives reopening until acknowledged, a torn
// or corrupt tail is cut off and counted, a full outbox drops the oldest low-priority events
// first, and a disk that refuses writes loses nothing already stored.
#include "gridwatch/agent/outbox.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include <fmt/format.h>

namespace gridwatch::agent {
namespace {

class OutboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static int n = 0;
    dir_ = std::filesystem::temp_directory_path() / fmt::format("gw-outbox-{}-{}", getpid(), n++);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::unique_ptr<Outbox> open(OutboxOptions o = {}) {
    auto log = open_outbox_file(file());
    EXPECT_TRUE(log.has_value()) << log.error().message;
    auto box = Outbox::open(std::move(*log), o);
    EXPECT_TRUE(box.has_value()) << box.error().message;
    return box ? std::move(*box) : nullptr;
  }
  std::filesystem::path file() const { return dir_ / "outbox" / "log"; }
  static std::vector<std::string> payloads(const Outbox& box) {
    std::vector<std::string> out;
    for (const OutboxEntry& e : box.pending_after(0, 1000)) out.push_back(e.payload);
    return out;
  }
  std::filesystem::path dir_;
};

TEST_F(OutboxTest, AddedEventsSurviveReopeningUntilAcknowledged) {
  {
    auto box = open();
    for (int i = 0; i < 5; ++i) ASSERT_EQ(*box->add("gw/v1/orders/a", fmt::format("event {}", i), 2), uint64_t(i + 1));
    box->acknowledge(2);
    box->acknowledge(4);
    box->acknowledge(99);  // unknown: ignored
    EXPECT_EQ(box->stats().pending, 3u);
    EXPECT_EQ(box->stats().acknowledged, 2u);
  }
  auto box = open();
  EXPECT_EQ(payloads(*box), (std::vector<std::string>{"event 0", "event 2", "event 4"}));
  EXPECT_EQ(box->stats().recovered, 3u);
  EXPECT_EQ(box->stats().corrupt_bytes, 0u);
  // Sequence numbers go on after the highest one seen: never reused.
  EXPECT_EQ(*box->add("gw/v1/orders/a", "event 5", 2), 6u);
  const auto after = box->pending_after(3, 10);
  ASSERT_EQ(after.size(), 2u);
  EXPECT_EQ(after[0].seq, 5u);
  EXPECT_EQ(after[0].topic, "gw/v1/orders/a");
  EXPECT_EQ(after[1].seq, 6u);
}

TEST_F(OutboxTest, ATornOrCorruptTailIsCutOffAndCounted) {
  {
    auto box = open();
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(box->add("t", fmt::format("payload-{}", i), 2).has_value());
  }
  const auto whole = std::filesystem::file_size(file());
  // A crash in the middle of writing a fourth record: only part of it reached the disk.
  {
    std::ofstream out(file(), std::ios::app | std::ios::binary);
    out << "GWA\x30";
  }
  {
    auto box = open();
    EXPECT_EQ(payloads(*box), (std::vector<std::string>{"payload-0", "payload-1", "payload-2"}));
    EXPECT_EQ(box->stats().corrupt_bytes, 4u);
  }
  // The torn tail is gone: the file holds the three events and the highest number used (19 bytes).
  EXPECT_EQ(std::filesystem::file_size(file()), whole + 19);
  // A flipped bit in the last record: its checksum fails, it and what follows are cut off.
  {
    std::fstream f(file(), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(whole - 1));
    f.put('X');
  }
  {
    auto box = open();
    EXPECT_EQ(payloads(*box), (std::vector<std::string>{"payload-0", "payload-1"}));
    EXPECT_GT(box->stats().corrupt_bytes, 0u);
    ASSERT_TRUE(box->add("t", "payload-3", 2).has_value());
    ASSERT_TRUE(box->add("t", "payload-4", 2).has_value());
  }
  // A record damaged in the middle: skipped, the whole ones after it are kept.
  {
    std::fstream f(file(), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(20);  // inside the first record's body
    f.put('#');
  }
  auto box = open();
  EXPECT_EQ(payloads(*box), (std::vector<std::string>{"payload-1", "payload-3", "payload-4"}));
  EXPECT_GT(box->stats().corrupt_bytes, 0u);
}

TEST_F(OutboxTest, AFullOutboxDropsTheOldestLowPriorityEventsFirst) {
  auto box = open({.max_bytes = 40, .sync = true});
  // Ten-byte payloads: four fit.
  ASSERT_TRUE(box->add("t", "urgent-001", 0).has_value());
  ASSERT_TRUE(box->add("t", "low----001", 3).has_value());
  ASSERT_TRUE(box->add("t", "normal-001", 2).has_value());
  ASSERT_TRUE(box->add("t", "low----002", 3).has_value());
  ASSERT_TRUE(box->add("t", "normal-002", 2).has_value());  // pushes out low-001
  ASSERT_TRUE(box->add("t", "urgent-002", 0).has_value());  // pushes out low-002
  ASSERT_TRUE(box->add("t", "urgent-003", 0).has_value());  // pushes out normal-001
  EXPECT_EQ(payloads(*box), (std::vector<std::string>{"urgent-001", "normal-002", "urgent-002", "urgent-003"}));
  EXPECT_EQ(box->stats().dropped, 3u);
  EXPECT_EQ(box->stats().pending_bytes, 40u);
  // Drops are on disk too.
  box.reset();
  box = open({.max_bytes = 40, .sync = true});
  EXPECT_EQ(payloads(*box), (std::vector<std::string>{"urgent-001", "normal-002", "urgent-002", "urgent-003"}));
  auto huge = box->add("t", std::string(41, 'x'), 0);
  ASSERT_FALSE(huge);
  EXPECT_EQ(huge.error().code, ErrorCode::kTooLarge);
}

TEST_F(OutboxTest, CompactionKeepsOnlyPendingEvents) {
  auto box = open({.max_bytes = 64u << 20, .sync = false});
  const std::string payload(1000, 'p');
  for (int i = 0; i < 2000; ++i) ASSERT_TRUE(box->add("t", payload, 2).has_value());
  for (uint64_t s = 1; s <= 1990; ++s) box->acknowledge(s);
  ASSERT_GT(box->stats().log_bytes, 2'000'000u);
  ASSERT_TRUE(box->compact_if_worthwhile().has_value());
  EXPECT_LT(std::filesystem::file_size(file()), 20'000u);
  box.reset();
  box = open();
  ASSERT_EQ(box->stats().pending, 10u);
  EXPECT_EQ(box->pending_after(0, 1)[0].seq, 1991u);
  // Everything acknowledged and compacted away: numbers still go on after a restart.
  for (uint64_t s = 1991; s <= 2000; ++s) box->acknowledge(s);
  ASSERT_TRUE(box->compact_if_worthwhile().has_value());
  box.reset();
  box = open();
  EXPECT_EQ(box->stats().pending, 0u);
  EXPECT_EQ(*box->add("t", "after", 2), 2001u);
}

// A disk that fills up after `room` bytes.
class FullDisk final : public OutboxLog {
 public:
  explicit FullDisk(size_t room) : room_(room) {}
  Status append(std::string_view bytes, bool) override {
    if (data_.size() + bytes.size() > room_) return fail(ErrorCode::kIo, "write outbox/log: No space left on device");
    data_ += bytes;
    return {};
  }
  Result<std::string> read_all() override { return data_; }
  Status replace(std::string_view bytes) override {
    data_ = bytes;
    return {};
  }

 private:
  size_t room_;
  std::string data_;
};

TEST_F(OutboxTest, SeveralEventsAreStoredTogetherOrNotAtAll) {
  auto box = Outbox::open(std::make_unique<FullDisk>(150), {});
  ASSERT_TRUE(box.has_value());
  auto seqs = (*box)->add_all({{"t", "one", 0}, {"t", "two", 2}, {"t", "three", 3}});
  ASSERT_TRUE(seqs.has_value()) << seqs.error().message;
  EXPECT_EQ(*seqs, (std::vector<uint64_t>{1, 2, 3}));
  // Two more do not fit on the disk: neither is pending (their numbers are used up all the same:
  // a number is never given twice).
  auto refused = (*box)->add_all({{"t", "four", 2}, {"t", std::string(80, 'x'), 2}});
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kIo);
  EXPECT_EQ(payloads(**box), (std::vector<std::string>{"one", "two", "three"}));
  EXPECT_EQ(*(*box)->add("t", "four", 2), 6u);
}

TEST_F(OutboxTest, ADiskThatRefusesWritesLosesNothingAlreadyStored) {
  auto box = Outbox::open(std::make_unique<FullDisk>(100), {});
  ASSERT_TRUE(box.has_value());
  ASSERT_TRUE((*box)->add("t", "first event", 2).has_value());
  ASSERT_TRUE((*box)->add("t", "second event", 2).has_value());
  auto refused = (*box)->add("t", std::string(60, 'x'), 2);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kIo);
  EXPECT_EQ(refused.error().message, "write outbox/log: No space left on device");
  EXPECT_EQ(payloads(**box), (std::vector<std::string>{"first event", "second event"}));
  EXPECT_EQ((*box)->stats().added, 2u);
}

// An order event as the agent's rules write it.
std::string order_event(const std::string& id, const std::string& event = "open") {
  return fmt::format(R"({{"schema":"gw.order/1","event":"{}","id":"{}","category":"general.other",)"
                     R"("observed_at":"2026-12-03T08:00:0{}Z"}})",
                     event, id, id.size() % 10);
}
std::string key_of(const std::string& id, const std::string& event = "open") {
  return confirmation_key(id, event, fmt::format("2026-12-03T08:00:0{}Z", id.size() % 10));
}

// The broker's PUBACK keeps an order event (the broker may still lose it); the center's
// confirmation forgets it, also across a restart. An event that is not an order goes at the PUBACK.
TEST_F(OutboxTest, AnOrderEventIsKeptPastThePubackUntilTheCenterConfirmsIt) {
  using Clock = std::chrono::steady_clock;
  {
    auto box = open();
    ASSERT_EQ(*box->add("gw/v1/orders/a", order_event("a.r.1"), 2), 1u);
    ASSERT_EQ(*box->add("gw/v1/orders/a", order_event("a.r.22"), 2), 2u);
    ASSERT_EQ(*box->add("gw/v1/orders/a", "not an order", 2), 3u);
    for (uint64_t seq : {1ull, 2ull, 3ull}) box->acknowledge(seq, Clock::now());
    EXPECT_EQ(box->stats().acknowledged, 3u);
    EXPECT_EQ(box->stats().pending, 2u) << "the two orders wait for the center";
    EXPECT_EQ(box->stats().unconfirmed, 2u);
    EXPECT_EQ(box->confirm({key_of("a.r.1"), key_of("a.r.1"), key_of("other"), key_of("a.r.22", "update")}), 1u)
        << "a key twice, an unknown one and another event of the order count nothing";
    EXPECT_EQ(box->stats().confirmed, 1u);
    EXPECT_EQ(payloads(*box), (std::vector<std::string>{order_event("a.r.22")}));
  }
  // After a restart the unconfirmed one is pending again (to be published again); the confirmed
  // one is not.
  auto box = open();
  EXPECT_EQ(payloads(*box), (std::vector<std::string>{order_event("a.r.22")}));
  EXPECT_EQ(box->stats().unconfirmed, 0u) << "not acknowledged by this run's broker yet";
  EXPECT_EQ(box->confirm({key_of("a.r.22")}), 1u);
  EXPECT_EQ(box->stats().pending, 0u);
  // Without confirmations (a center that does not send them), the PUBACK forgets it.
  auto plain = Outbox::open(std::move(*open_outbox_file(dir_ / "plain" / "log")), {.confirm = false});
  ASSERT_TRUE(plain.has_value());
  ASSERT_EQ(*(*plain)->add("gw/v1/orders/a", order_event("a.r.3"), 2), 1u);
  (*plain)->acknowledge(1);
  EXPECT_EQ((*plain)->stats().pending, 0u);
}

// What the center leaves unconfirmed is taken to be published again after the timeout, then
// after twice as long, and so on.
TEST_F(OutboxTest, UnconfirmedEventsGoAgainAfterATimeoutThatDoubles) {
  using Clock = std::chrono::steady_clock;
  using std::chrono::milliseconds;
  auto box = open();
  ASSERT_TRUE(box->add("gw/v1/orders/a", order_event("a.r.1"), 2).has_value());
  ASSERT_TRUE(box->add("gw/v1/orders/a", order_event("a.r.22"), 2).has_value());
  const Clock::time_point t0{};
  box->acknowledge(1, t0);
  box->acknowledge(2, t0 + milliseconds{50});
  EXPECT_TRUE(box->take_unconfirmed(t0 + milliseconds{99}, milliseconds{100}, 10).empty());
  auto again = box->take_unconfirmed(t0 + milliseconds{100}, milliseconds{100}, 10);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].seq, 1u);
  EXPECT_EQ(box->stats().unconfirmed, 1u) << "taken: unacknowledged until the broker takes it again";
  EXPECT_TRUE(box->take_unconfirmed(t0 + milliseconds{1000}, milliseconds{100}, 10).size() == 1u)
      << "only event 2: event 1 is not acknowledged again yet";
  box->acknowledge(1, t0 + milliseconds{1000});
  EXPECT_TRUE(box->take_unconfirmed(t0 + milliseconds{1199}, milliseconds{100}, 10).empty()) << "twice the timeout";
  ASSERT_EQ(box->take_unconfirmed(t0 + milliseconds{1200}, milliseconds{100}, 10).size(), 1u);
  EXPECT_EQ(box->stats().resent, 3u);
  EXPECT_EQ(box->stats().pending, 2u);
}

TEST(OutboxConfirmation, TheCentersMessageIsReadOrRefusedWithTheReason) {
  auto keys = parse_confirmation(R"({"stored":[{"id":"a.r.1","event":"open","observed_at":"2026-12-03T08:00:00Z"}]})");
  ASSERT_TRUE(keys.has_value());
  EXPECT_EQ(*keys, (std::vector<std::string>{confirmation_key("a.r.1", "open", "2026-12-03T08:00:00Z")}));
  EXPECT_EQ(confirmation_key(R"({"schema":"gw.order/1","id":"a.r.1","event":"open","observed_at":"2026-12-03T08:00:00Z"})"),
            keys->front())
      << "the outbox's key of the event is the confirmation's";
  EXPECT_EQ(confirmation_key(R"({"id":"a.r.1","event":"open","observed_at":"x"})"), "") << "not gw.order/1";
  EXPECT_TRUE(parse_confirmation(R"({"stored":[]})").has_value());
  for (const char* bad : {"", "[]", R"({"stored":{}})", R"({"stored":[{"id":"a","event":"open"}]})",
                          R"({"stored":[{"id":1,"event":"open","observed_at":"x"}]})"}) {
    auto r = parse_confirmation(bad);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(r.error().field, "stored");
    EXPECT_NE(r.error().message.find("not a confirmation"), std::string::npos) << r.error().message;
  }
}

}  // namespace
}  // namespace gridwatch::agent
