#include "gridwatch/platform/message_queue.h"

namespace gridwatch::platform {

bool MessageQueue::try_push(MqttMessage& m) {
  {
    std::lock_guard lock(mu_);
    if (closed_ || queue_.size() >= capacity_) return false;
    queue_.push_back(std::move(m));
  }
  cv_.notify_all();
  return true;
}

std::optional<MqttMessage> MessageQueue::pop() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [this] { return closed_ || !queue_.empty(); });
  if (queue_.empty()) return std::nullopt;
  MqttMessage m = std::move(queue_.front());
  queue_.pop_front();
  return m;
}

MessageQueue::Popped MessageQueue::pop_for(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, timeout, [this] { return closed_ || !queue_.empty(); });
  if (queue_.empty()) return {.message = std::nullopt, .closed = closed_};
  Popped p{.message = std::move(queue_.front())};
  queue_.pop_front();
  return p;
}

bool MessageQueue::close() {
  {
    std::lock_guard lock(mu_);
    if (closed_) return false;
    closed_ = true;
  }
  cv_.notify_all();
  return true;
}

bool MessageQueue::wait_closed_for(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [this] { return closed_; });
}

size_t MessageQueue::size() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

}  // namespace gridwatch::platform
