// A bounded hand-off of MQTT messages from Paho's callback thread to one worker thread.
//
// try_push() never blocks (Paho's callbacks must not): it refuses a message when the queue is
// full or closed, and the caller decides what a refusal means (count it, keep it as a dead
// letter). pop() blocks until a message arrives, and returns nullopt only once the queue is
// closed and empty, so a worker drains what was accepted before it stops. Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>

#include "gridwatch/platform/mqtt.h"

namespace gridwatch::platform {

class MessageQueue {
 public:
  explicit MessageQueue(size_t capacity) : capacity_(capacity) {}

  // Moves `m` in and returns true, or leaves `m` as it is and returns false (full or closed).
  bool try_push(MqttMessage& m);
  std::optional<MqttMessage> pop();
  // Like pop(), but gives up after `timeout` (a worker that also has timers to run): `message` is
  // empty on timeout and when the queue is closed and drained (then `closed` is true).
  struct Popped {
    std::optional<MqttMessage> message;
    bool closed = false;
  };
  Popped pop_for(std::chrono::milliseconds timeout);
  // Stops accepting messages and wakes the worker. Returns false if it was already closed.
  bool close();
  // Waits up to `timeout` (e.g. a retry back-off); returns true as soon as the queue is closed.
  bool wait_closed_for(std::chrono::milliseconds timeout);
  size_t size() const;
  size_t capacity() const { return capacity_; }

 private:
  const size_t capacity_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<MqttMessage> queue_;
  bool closed_ = false;
};

}  // namespace gridwatch::platform
