// Live case events for the wall map and phones (server-sent events at /api/v1/events).
//
// The center publishes one event per change of a case (a new case, a report that joined it, an
// edge update or clear, a lifecycle step, a summons, an overdue mark); EventHub numbers them and
// keeps the latest `keep`, so a client that reconnects with Last-Event-ID gets what it missed
// (or, when it was away too long, only what is still kept). Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace gridwatch::center {

struct LiveEvent {
  uint64_t seq = 0;
  std::string case_id;
  nlohmann::json data;  // {"type": ..., "case_id": ..., ...}
};

class EventHub {
 public:
  explicit EventHub(size_t keep = 4096) : keep_(keep) {}
  void publish(const std::string& case_id, nlohmann::json data);
  // The events after `after` still kept, waiting up to `wait` for the first; empty on timeout
  // and once closed.
  std::vector<LiveEvent> next(uint64_t after, std::chrono::milliseconds wait) const;
  uint64_t last() const;
  // Wakes every waiting reader for good (the center is stopping).
  void close();
  bool closed() const;

 private:
  const size_t keep_;
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::deque<LiveEvent> events_;
  uint64_t seq_ = 0;
  bool closed_ = false;
};

}  // namespace gridwatch::center
