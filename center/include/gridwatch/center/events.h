// Live case events for the wall map and phones (server-sent events at /api/v1/events).
//
// The center publishes one event per change of a case (a new case, a report that joined it, an
// edge update or clear, a lifecycle step, a summons, an overdue mark); EventHub numbers them and
// keeps the latest `keep`, so a client that reconnects with Last-Event-ID gets what it missed
// (or, when it was away too long, only what is still kept). Each event is written out as its
// server-sent-event text once, when published, however many streams send it. Thread-safe.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace gridwatch::center {

struct LiveEvent {
  uint64_t seq = 0;
  std::string case_id;
  std::string text;  // "id: {seq}\nevent: case\ndata: {json}\n\n"
};

class EventHub {
 public:
  explicit EventHub(size_t keep = 4096) : keep_(keep) {}
  // `data`: {"type": ..., "case_id": ..., ...}.
  void publish(const std::string& case_id, const nlohmann::json& data);
  // Called after every publish, on the publisher's thread (it must not block).
  void on_publish(std::function<void()> listener);
  // The events after `after` still kept, oldest first.
  std::vector<LiveEvent> since(uint64_t after) const;
  // The same written out one after another; `after` becomes the last one's number.
  std::string text_since(uint64_t& after) const;
  uint64_t last() const;
  // No more events (the center is stopping); streams end.
  void close();
  bool closed() const;

 private:
  const size_t keep_;
  mutable std::mutex mu_;
  std::deque<LiveEvent> events_;
  uint64_t seq_ = 0;
  bool closed_ = false;
  std::function<void()> listener_;
};

}  // namespace gridwatch::center
