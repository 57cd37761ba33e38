#include "gridwatch/center/events.h"

namespace gridwatch::center {

void EventHub::publish(const std::string& case_id, nlohmann::json data) {
  {
    std::lock_guard lock(mu_);
    if (closed_) return;
    events_.push_back({++seq_, case_id, std::move(data)});
    while (events_.size() > keep_) events_.pop_front();
  }
  cv_.notify_all();
}

std::vector<LiveEvent> EventHub::next(uint64_t after, std::chrono::milliseconds wait) const {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, wait, [&] { return closed_ || seq_ > after; });
  std::vector<LiveEvent> out;
  if (closed_) return out;
  for (const LiveEvent& e : events_)
    if (e.seq > after) out.push_back(e);
  return out;
}

uint64_t EventHub::last() const {
  std::lock_guard lock(mu_);
  return seq_;
}

void EventHub::close() {
  {
    std::lock_guard lock(mu_);
    closed_ = true;
  }
  cv_.notify_all();
}

bool EventHub::closed() const {
  std::lock_guard lock(mu_);
  return closed_;
}

}  // namespace gridwatch::center
