#include "gridwatch/agent/outbox.h"

// The outbox's sender: publishes in order within the window and the rate, hands PUBACKs to the
// outbox, and publishes again what the center leaves unconfirmed.

#include <chrono>
#include <deque>

#include <spdlog/spdlog.h>

namespace gridwatch::agent {

void OutboxSender::run() {
  using Clock = std::chrono::steady_clock;
  const size_t window = window_;
  const double rate = rate_;
  std::deque<std::pair<uint64_t, std::unique_ptr<platform::Delivery>>> in_flight;
  std::deque<Clock::time_point> sent_at;  // when each of in_flight was sent
  uint64_t sent_up_to = 0;  // the newest event handed to the broker on this connection
  double tokens = rate;     // token bucket: up to a second's worth at once
  auto refilled = Clock::now();
  auto last_compaction = Clock::now();
  bool stopping = false;
  while (!stopping || !in_flight.empty()) {
    {
      std::lock_guard lock(mu_);
      stopping = stopping_;
    }
    if (!mqtt_.connected()) {
      // Whatever was in flight may or may not have arrived: send again from the oldest pending.
      in_flight.clear();
      sent_at.clear();
      sent_up_to = 0;
      if (stopping) break;
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, std::chrono::milliseconds{200}, [this] { return stopping_; });
      continue;
    }
    // Acknowledgements arrive in order: forget events as the broker confirms them.
    while (!in_flight.empty()) {
      const auto state = in_flight.front().second->wait(stopping ? std::chrono::milliseconds{2000}
                                                                 : std::chrono::milliseconds{0});
      if (state == platform::Delivery::State::kPending) {
        if (stopping) {  // not acknowledged in time: it stays on disk
          in_flight.clear();
          sent_at.clear();
        }
        // An acknowledgement that never comes (a token lost across a reconnect) must not hold
        // the window shut: send again from the oldest pending event.
        if (!in_flight.empty() && Clock::now() - sent_at.front() > std::chrono::seconds{60}) {
          spdlog::warn("outbox: event {} unacknowledged for 60 s; sending again from it", in_flight.front().first);
          in_flight.clear();
          sent_at.clear();
          sent_up_to = 0;
        }
        break;
      }
      if (state == platform::Delivery::State::kFailed) {
        in_flight.clear();
        sent_at.clear();
        sent_up_to = 0;
        break;
      }
      outbox_.acknowledge(in_flight.front().first);
      ++acknowledged_;
      in_flight.pop_front();
      sent_at.pop_front();
    }
    if (stopping) continue;
    const auto now = Clock::now();
    tokens = std::min(std::max(rate, 1.0), tokens + rate * std::chrono::duration<double>(now - refilled).count());
    refilled = now;
    size_t sent = 0;
    if (in_flight.size() < window && tokens >= 1) {
      size_t room = std::min(window - in_flight.size(), static_cast<size_t>(tokens));
      // What the broker took and the center has not confirmed in time goes again first: the
      // broker may have lost it (a crash between autosaves), or the center before storing it.
      for (OutboxEntry& e : outbox_.take_unconfirmed(now, confirm_timeout_, room)) {
        auto d = mqtt_.publish_tracked(e.topic, e.payload);
        if (!d) break;
        spdlog::debug("outbox: event {} unconfirmed; published again (copy {})", e.seq, e.resends);
        in_flight.emplace_back(e.seq, std::move(*d));
        sent_at.push_back(Clock::now());
        tokens -= 1;
        --room;
        ++sent;
      }
      for (OutboxEntry& e : outbox_.pending_after(sent_up_to, room)) {
        auto d = mqtt_.publish_tracked(e.topic, e.payload);
        if (!d) break;
        in_flight.emplace_back(e.seq, std::move(*d));
        sent_at.push_back(Clock::now());
        sent_up_to = e.seq;
        tokens -= 1;
        ++sent;
      }
    }
    if (now - last_compaction > std::chrono::seconds{10}) {
      last_compaction = now;
      if (auto st = outbox_.compact_if_worthwhile(); !st) spdlog::warn("outbox: {}", st.error().message);
    }
    if (sent == 0) {
      // Nothing to send now: wait for an acknowledgement, a new event or the rate.
      if (!in_flight.empty()) {
        (void)in_flight.front().second->wait(std::chrono::milliseconds{20});
      } else {
        std::unique_lock lock(mu_);
        cv_.wait_for(lock, std::chrono::milliseconds{50}, [this] { return stopping_ || woken_; });
        woken_ = false;
      }
    }
  }
}

}  // namespace gridwatch::agent
