// The agent's durable outbox (store and forward): every outgoing order event is written to disk
// (and fsync'd) before it is published, and forgotten only once the center has stored it: the
// center confirms what it stored on {prefix}/agents/{id}/stored (confirm()), by each event's
// order id, event and observed_at. The broker's QoS 1 PUBACK only frees a place in the window
// of events in flight: a broker that acknowledged and then crashed (Mosquitto keeps QoS 1
// messages for an absent subscriber in memory between autosaves) or a center that received and
// died before storing loses nothing, because what stays unconfirmed is published again after
// `confirm_timeout`. A power cut or kill -9 at any moment loses no event that was added; an
// event published twice is ignored by the center (events are idempotent by order id, event and
// observed_at) and confirmed again. Events that are not orders (no such three fields), or an
// outbox opened with `confirm = false`, are forgotten at the PUBACK.
//
// On disk: one append-only log of records, each framed as
//   "GW" | type (A add, K acknowledged, D dropped, S highest number) | u32 body length | u32 CRC-32
//   | body
// (little endian). A torn tail (a crash in the middle of a write) is cut off when the log is
// opened, a whole record that fails its checksum is skipped; both are counted and logged. When most of the log is acknowledged it is rewritten with only the
// pending events (a new file, fsync'd, renamed over the old one).
//
// The outbox holds at most max_bytes of pending payloads: beyond that the oldest events of the
// lowest priority are dropped first (a D record), counted and logged — never silently.
// Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "gridwatch/domain/error.h"
#include "gridwatch/platform/mqtt.h"

namespace gridwatch::agent {

// Where the log lives; a test substitutes one that fails (a full disk).
class OutboxLog {
 public:
  virtual ~OutboxLog() = default;
  // Appends `bytes` at the end; with `sync`, returns once they are on stable storage. All or
  // nothing: on an error no part of `bytes` stays in the log.
  [[nodiscard]] virtual Status append(std::string_view bytes, bool sync) = 0;
  [[nodiscard]] virtual Result<std::string> read_all() = 0;
  // Replaces the whole log with `bytes`, atomically (the old content or the new, never a mix).
  [[nodiscard]] virtual Status replace(std::string_view bytes) = 0;
};

// The log in FILE (created when missing), written with write(2) and fdatasync(2).
[[nodiscard]] Result<std::unique_ptr<OutboxLog>> open_outbox_file(const std::filesystem::path& file);

struct OutboxOptions {
  uint64_t max_bytes = 256ull << 20;  // pending payload bytes kept at most
  bool sync = true;                   // fsync every added event (off: tests of other things only)
  bool confirm = true;                // keep order events until the center confirms them stored
};

// What the center's confirmation names an order event by: "event id observed_at", the three
// fields as the payload has them; "" for a payload that is not an order event.
std::string confirmation_key(std::string_view payload);
std::string confirmation_key(std::string_view id, std::string_view event, std::string_view observed_at);
// The keys of a confirmation the center sent on {prefix}/agents/{id}/stored:
// {"stored": [{"id": ..., "event": ..., "observed_at": ...}, ...]}; kInvalidArgument otherwise.
Result<std::vector<std::string>> parse_confirmation(std::string_view payload);

struct OutboxEntry {
  uint64_t seq = 0;  // increasing, never reused
  int priority = 2;  // 0 urgent, 1 high, 2 normal, 3 low
  std::string topic;
  std::string payload;
  std::string key;  // confirmation_key(payload) when it waits for the center's confirmation
  // When the broker acknowledged it (and the center has not confirmed it yet), and how many
  // times it was published again for want of a confirmation; not on disk.
  std::optional<std::chrono::steady_clock::time_point> acked_at;
  int resends = 0;
};

struct OutboxStats {
  size_t pending = 0;           // events added and neither acknowledged nor dropped
  uint64_t pending_bytes = 0;   // their payload bytes
  uint64_t added = 0;           // since open
  uint64_t acknowledged = 0;    // since open: acknowledged by the broker (PUBACK)
  uint64_t confirmed = 0;       // since open: confirmed stored by the center
  size_t unconfirmed = 0;       // acknowledged by the broker, not yet confirmed by the center
  uint64_t resent = 0;          // since open: published again, unconfirmed after confirm_timeout
  uint64_t dropped = 0;         // since open: pushed out by max_bytes
  uint64_t recovered = 0;       // pending events found in the log at open
  uint64_t corrupt_bytes = 0;   // cut off the log's tail at open
  uint64_t log_bytes = 0;       // the log's size now
};

class Outbox {
 public:
  // Reads the log and keeps what is pending. A corrupt tail is cut off (the log is rewritten
  // without it) and counted in stats().corrupt_bytes.
  [[nodiscard]] static Result<std::unique_ptr<Outbox>> open(std::unique_ptr<OutboxLog> log, OutboxOptions options);

  // Stores an event durably; returns its sequence number. kTooLarge when the payload alone
  // exceeds max_bytes; kIo when the disk refuses (the event is not stored: the caller keeps
  // it or reports it). Makes room first by dropping the oldest events of the lowest priority.
  [[nodiscard]] Result<uint64_t> add(std::string_view topic, std::string_view payload, int priority);
  // Stores several events with one fdatasync (the rule engine's transitions of one moment);
  // returns the sequence number of each. All or none: on an error none of them is pending.
  struct Event {
    std::string topic;
    std::string payload;
    int priority = 2;
  };
  [[nodiscard]] Result<std::vector<uint64_t>> add_all(const std::vector<Event>& events);
  // The broker has event `seq` (unknown or dropped sequence numbers are ignored): an event that
  // waits for the center's confirmation is kept, marked acknowledged at `now`; another is
  // forgotten.
  void acknowledge(uint64_t seq, std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now());
  // The center stored the events of these confirmation keys: they are forgotten. Returns how
  // many were pending (a key confirmed twice, or unknown, counts nothing).
  size_t confirm(const std::vector<std::string>& keys);
  // Up to `max` pending events with a sequence number above `after`, oldest first.
  std::vector<OutboxEntry> pending_after(uint64_t after, size_t max) const;
  // Up to `max` events the center has not confirmed `timeout` after the broker acknowledged
  // them, oldest first: to be published again. The wait doubles with each copy of an event (at
  // most 32 × `timeout`), so that a center down for hours is not flooded with copies when it
  // returns. They count as not acknowledged until the broker acknowledges them again.
  std::vector<OutboxEntry> take_unconfirmed(std::chrono::steady_clock::time_point now, std::chrono::milliseconds timeout,
                                            size_t max);
  OutboxStats stats() const;
  // Rewrites the log with only the pending events when acknowledged ones fill most of it.
  [[nodiscard]] Status compact_if_worthwhile();

 private:
  Outbox(std::unique_ptr<OutboxLog> log, OutboxOptions options) : log_(std::move(log)), options_(options) {}
  Status make_room(uint64_t bytes);
  Status rewrite_locked();

  std::unique_ptr<OutboxLog> log_;
  OutboxOptions options_;
  mutable std::mutex mu_;
  void forget_locked(std::map<uint64_t, OutboxEntry>::iterator it);

  std::map<uint64_t, OutboxEntry> pending_;  // by seq
  std::map<std::string, uint64_t> by_key_;   // confirmation key -> seq, of those that wait for one
  uint64_t next_seq_ = 1;
  OutboxStats stats_;
};

// Publishes an outbox's events at QoS 1 in order, at most `window` unacknowledged at once and
// `rate` a second (a backlog after an outage drains at that rate while new events queue behind
// it), and tells the outbox of each PUBACK. An event the center has not confirmed
// `confirm_timeout` after its PUBACK is published again. After a lost connection it starts again
// from the oldest pending event: the broker may get an event twice, never lose one.
class OutboxSender {
 public:
  OutboxSender(Outbox& outbox, platform::MqttClient& mqtt, size_t window, double rate,
               std::chrono::milliseconds confirm_timeout = std::chrono::seconds{30})
      : outbox_(outbox),
        mqtt_(mqtt),
        window_(std::max<size_t>(1, window)),
        rate_(rate),
        confirm_timeout_(confirm_timeout) {}
  ~OutboxSender() { stop(); }
  void start() { thread_ = std::thread([this] { run(); }); }
  // Waits up to 2 s for events in flight; what is not acknowledged stays in the outbox.
  void stop() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }
  // An event was added.
  void wake() {
    {
      std::lock_guard lock(mu_);
      woken_ = true;
    }
    cv_.notify_one();
  }
  uint64_t acknowledged() const { return acknowledged_.load(); }

 private:
  void run();

  Outbox& outbox_;
  platform::MqttClient& mqtt_;
  size_t window_;
  double rate_;
  std::chrono::milliseconds confirm_timeout_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool woken_ = false;
  std::atomic<uint64_t> acknowledged_{0};
  std::thread thread_;
};

}  // namespace gridwatch::agent
