#include "gridwatch/center/rate_limit.h"

#include <arpa/inet.h>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace gridwatch::center {

std::string address_bucket(const std::string& address) {
  in6_addr a6{};
  if (address.find(':') == std::string::npos || inet_pton(AF_INET6, address.c_str(), &a6) != 1) return address;
  const uint8_t* b = a6.s6_addr;
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::equal(kMapped, kMapped + 12, b)) return fmt::format("{}.{}.{}.{}", b[12], b[13], b[14], b[15]);
  return fmt::format("{:x}:{:x}:{:x}:{:x}::/64", b[0] << 8 | b[1], b[2] << 8 | b[3], b[4] << 8 | b[5], b[6] << 8 | b[7]);
}

double RateLimiter::level(const Bucket& b, Clock::time_point now) const {
  if (now <= b.at) return b.tokens;
  const double seconds = std::chrono::duration<double>(now - b.at).count();
  return std::min(limit_.burst, b.tokens + seconds * limit_.rate);
}

void RateLimiter::refill(Bucket& b, Clock::time_point now) const {
  b.tokens = level(b, now);
  b.at = std::max(b.at, now);
}

void RateLimiter::forget(Clock::time_point now) {
  // `at` is when a bucket was last touched: read here, not moved (the halving below goes by it).
  for (auto it = buckets_.begin(); it != buckets_.end();)
    it = level(it->second, now) >= limit_.burst ? buckets_.erase(it) : std::next(it);
  if (buckets_.size() < max_keys_) return;
  std::vector<Clock::time_point> touched;
  touched.reserve(buckets_.size());
  for (const auto& [k, b] : buckets_) touched.push_back(b.at);
  auto middle = touched.begin() + static_cast<std::ptrdiff_t>(touched.size() / 2);
  std::nth_element(touched.begin(), middle, touched.end());
  const Clock::time_point cut = *middle;
  for (auto it = buckets_.begin(); it != buckets_.end();) it = it->second.at <= cut ? buckets_.erase(it) : std::next(it);
}

std::optional<std::chrono::milliseconds> RateLimiter::take(const std::string& key, Clock::time_point now) {
  if (!limit_.enabled()) return std::nullopt;
  std::lock_guard lock(mu_);
  auto it = buckets_.find(key);
  if (it == buckets_.end()) {
    if (buckets_.size() >= max_keys_) forget(now);
    it = buckets_.emplace(key, Bucket{limit_.burst, now}).first;
  }
  Bucket& b = it->second;
  refill(b, now);
  if (b.tokens >= 1) {
    b.tokens -= 1;
    return std::nullopt;
  }
  const double wait = (1 - b.tokens) / limit_.rate;
  return std::chrono::milliseconds(static_cast<int64_t>(std::ceil(wait * 1000)));
}

size_t RateLimiter::keys() const {
  std::lock_guard lock(mu_);
  return buckets_.size();
}

}  // namespace gridwatch::center
