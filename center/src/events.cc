#include "gridwatch/center/events.h"

#include <algorithm>

#include <fmt/format.h>

namespace gridwatch::center {

void EventHub::publish(const std::string& case_id, const nlohmann::json& data) {
  std::function<void()> listener;
  {
    std::lock_guard lock(mu_);
    if (closed_) return;
    ++seq_;
    events_.push_back({seq_, case_id,
                       fmt::format("id: {}\nevent: case\ndata: {}\n\n", seq_,
                                   data.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace))});
    while (events_.size() > keep_) events_.pop_front();
    listener = listener_;
  }
  if (listener) listener();
}

void EventHub::on_publish(std::function<void()> listener) {
  std::lock_guard lock(mu_);
  listener_ = std::move(listener);
}

namespace {
// The first kept event after `after` (events are numbered without gaps).
template <typename Deque>
auto first_after(const Deque& events, uint64_t after) {
  return std::upper_bound(events.begin(), events.end(), after,
                          [](uint64_t a, const LiveEvent& e) { return a < e.seq; });
}
}  // namespace

std::vector<LiveEvent> EventHub::since(uint64_t after) const {
  std::lock_guard lock(mu_);
  return {first_after(events_, after), events_.end()};
}

std::string EventHub::text_since(uint64_t& after) const {
  std::lock_guard lock(mu_);
  std::string out;
  for (auto it = first_after(events_, after); it != events_.end(); ++it) {
    out += it->text;
    after = it->seq;
  }
  return out;
}

uint64_t EventHub::last() const {
  std::lock_guard lock(mu_);
  return seq_;
}

void EventHub::close() {
  std::function<void()> listener;
  {
    std::lock_guard lock(mu_);
    closed_ = true;
    listener = listener_;
  }
  if (listener) listener();
}

bool EventHub::closed() const {
  std::lock_guard lock(mu_);
  return closed_;
}

}  // namespace gridwatch::center
