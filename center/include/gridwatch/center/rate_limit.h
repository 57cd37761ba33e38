// Token buckets per key (a client's address, an API key, a token's name): each key may send
// `burst` requests at once and `rate` a second after that. take() answers whether one more may
// pass now and, when not, how long until it may (for Retry-After).
//
// The buckets are bounded: past `max_keys` keys, the buckets that have refilled (they hold
// nothing a new bucket would not) are forgotten; if that is not enough, the oldest-touched half
// is, so that a flood from many addresses costs memory for at most `max_keys` of them.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <string>

namespace gridwatch::center {

struct RateLimit {
  double rate = 1;     // requests a second, sustained
  double burst = 10;   // requests at once
  bool enabled() const { return rate > 0; }
};

// The bucket of a client's address: an IPv4 address itself (also written IPv4-mapped,
// ::ffff:a.b.c.d), an IPv6 address its /64 — one subscriber's network, which an attacker holds
// whole and could otherwise spread a flood over — written "2001:db8:1:2::/64". Anything else
// (a name, garbage) is its own key.
std::string address_bucket(const std::string& address);

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  explicit RateLimiter(RateLimit limit, size_t max_keys = 100'000) : limit_(limit), max_keys_(max_keys) {}

  // nullopt: the request may pass (one token taken); else the time until one token is back.
  std::optional<std::chrono::milliseconds> take(const std::string& key, Clock::time_point now = Clock::now());
  size_t keys() const;

 private:
  struct Bucket {
    double tokens = 0;
    Clock::time_point at;  // when `tokens` was last brought up to date: the bucket's last use
  };
  double level(const Bucket& b, Clock::time_point now) const;  // tokens at `now`, `b` unchanged
  void refill(Bucket& b, Clock::time_point now) const;
  void forget(Clock::time_point now);

  RateLimit limit_;
  size_t max_keys_;
  mutable std::mutex mu_;
  std::map<std::string, Bucket> buckets_;
};

}  // namespace gridwatch::center
