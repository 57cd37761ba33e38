#include "gridwatch/center/rate_limit.h"

#include <gtest/gtest.h>

#include <fmt/format.h>

namespace gridwatch::center {
namespace {

using namespace std::chrono_literals;
using Clock = RateLimiter::Clock;

TEST(RateLimiter, ABurstPassesThenTheRateAndTheWaitIsSaid) {
  RateLimiter limiter({.rate = 2, .burst = 5});
  const Clock::time_point t0{};
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(limiter.take("10.0.0.1", t0).has_value()) << i;
  auto wait = limiter.take("10.0.0.1", t0);
  ASSERT_TRUE(wait.has_value());
  EXPECT_EQ(wait->count(), 500);  // one token back at 2 a second
  // Another key has its own bucket.
  EXPECT_FALSE(limiter.take("10.0.0.2", t0).has_value());
  // Half a second later one more passes, and only one.
  EXPECT_FALSE(limiter.take("10.0.0.1", t0 + 500ms).has_value());
  EXPECT_TRUE(limiter.take("10.0.0.1", t0 + 500ms).has_value());
  // Idle for long, the bucket holds its burst and no more.
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(limiter.take("10.0.0.1", t0 + 1h).has_value()) << i;
  EXPECT_TRUE(limiter.take("10.0.0.1", t0 + 1h).has_value());
}

TEST(RateLimiter, ARateOfZeroLimitsNothing) {
  RateLimiter limiter({.rate = 0, .burst = 0});
  for (int i = 0; i < 1000; ++i) EXPECT_FALSE(limiter.take("k", Clock::time_point{}).has_value());
  EXPECT_EQ(limiter.keys(), 0u);
}

TEST(RateLimiter, AFloodFromManyAddressesKeepsAtMostMaxKeysAndTheLatestStayLimited) {
  RateLimiter limiter({.rate = 1, .burst = 3}, /*max_keys=*/100);
  const Clock::time_point t0{};
  for (int i = 0; i < 10'000; ++i) {
    // Each address sends its burst and one more, which is refused.
    const std::string key = fmt::format("10.1.{}.{}", i / 256, i % 256);
    const auto at = t0 + std::chrono::milliseconds(i);
    for (int k = 0; k < 3; ++k) ASSERT_FALSE(limiter.take(key, at).has_value()) << key;
    ASSERT_TRUE(limiter.take(key, at).has_value()) << key;
    ASSERT_LE(limiter.keys(), 100u);
  }
  // The last addresses are still remembered (and still limited): at least the newer half of the
  // last 100 survives each halving. The first are forgotten (a fresh burst).
  for (int i = 9'960; i < 10'000; ++i)
    EXPECT_TRUE(limiter.take(fmt::format("10.1.{}.{}", i / 256, i % 256), t0 + 9'999ms).has_value()) << i;
  EXPECT_FALSE(limiter.take("10.1.0.0", t0 + 9'999ms).has_value());
}

// An IPv6 client is limited by its /64 (one subscriber's network): addresses spread over it
// share one bucket, another /64 has its own; IPv4, also IPv4-mapped, by the address.
TEST(RateLimiter, AnIpv6ClientIsLimitedByItsSlash64) {
  EXPECT_EQ(address_bucket("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
  EXPECT_EQ(address_bucket("2001:0db8:0001:0002:ffff:ffff:ffff:ffff"), "2001:db8:1:2::/64");
  EXPECT_EQ(address_bucket("2001:db8:1:3::1"), "2001:db8:1:3::/64");
  EXPECT_EQ(address_bucket("::1"), "0:0:0:0::/64");
  EXPECT_EQ(address_bucket("::ffff:192.0.2.7"), "192.0.2.7");
  EXPECT_EQ(address_bucket("192.0.2.7"), "192.0.2.7");
  EXPECT_EQ(address_bucket("not:an address"), "not:an address");

  RateLimiter limiter({.rate = 1, .burst = 3});
  const Clock::time_point t0{};
  for (int i = 0; i < 3; ++i)
    ASSERT_FALSE(limiter.take(address_bucket(fmt::format("2001:db8:1:2::{:x}", i + 1)), t0).has_value());
  EXPECT_TRUE(limiter.take(address_bucket("2001:db8:1:2:ffff::9"), t0).has_value()) << "the same /64: limited";
  EXPECT_FALSE(limiter.take(address_bucket("2001:db8:1:3::1"), t0).has_value()) << "another /64: its own burst";
}

}  // namespace
}  // namespace gridwatch::center
