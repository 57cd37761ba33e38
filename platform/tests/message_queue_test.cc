#include <gtest/gtest.h>

#include <thread>

#include "gridwatch/platform/message_queue.h"

namespace gridwatch::platform {
namespace {

TEST(MessageQueue, RefusesWhenFullAndKeepsTheRefusedMessage) {
  MessageQueue q(2);
  MqttMessage a{"t", "a"}, b{"t", "b"}, c{"t", "c"};
  EXPECT_TRUE(q.try_push(a));
  EXPECT_TRUE(q.try_push(b));
  EXPECT_FALSE(q.try_push(c));
  EXPECT_EQ(c.payload, "c") << "a refused message is left to the caller";
  EXPECT_EQ(q.size(), 2u);
  EXPECT_EQ(q.pop()->payload, "a");
  EXPECT_TRUE(q.try_push(c));
}

TEST(MessageQueue, CloseDrainsThenEnds) {
  MessageQueue q(10);
  MqttMessage a{"t", "a"}, late{"t", "late"};
  ASSERT_TRUE(q.try_push(a));
  EXPECT_TRUE(q.close());
  EXPECT_FALSE(q.close());
  EXPECT_FALSE(q.try_push(late));
  EXPECT_EQ(q.pop()->payload, "a");
  EXPECT_FALSE(q.pop().has_value());
  EXPECT_TRUE(q.wait_closed_for(std::chrono::milliseconds{0}));
}

TEST(MessageQueue, WakesABlockedWorker) {
  MessageQueue q(10);
  std::optional<MqttMessage> got;
  std::thread worker([&] { got = q.pop(); });
  MqttMessage a{"t", "a"};
  ASSERT_TRUE(q.try_push(a));
  worker.join();
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->payload, "a");
  EXPECT_FALSE(q.wait_closed_for(std::chrono::milliseconds{10}));
}

}  // namespace
}  // namespace gridwatch::platform
