// The agent's durable outbox (store and forward): every outgoing order event is written to disk
// (and fsync'd) before it is published, and forgotten only after the broker acknowledged it
// (QoS 1 PUBACK). A power cut or kill -9 at any moment loses no event that was added; an event
// whose acknowledgement was not yet recorded is published again after a restart, which the
// center ignores (events are idempotent by order id, event and observed_at).
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
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
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
};

struct OutboxEntry {
  uint64_t seq = 0;  // increasing, never reused
  int priority = 2;  // 0 urgent, 1 high, 2 normal, 3 low
  std::string topic;
  std::string payload;
};

struct OutboxStats {
  size_t pending = 0;           // events added and neither acknowledged nor dropped
  uint64_t pending_bytes = 0;   // their payload bytes
  uint64_t added = 0;           // since open
  uint64_t acknowledged = 0;    // since open
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
  // The broker has event `seq` (unknown or dropped sequence numbers are ignored).
  void acknowledge(uint64_t seq);
  // Up to `max` pending events with a sequence number above `after`, oldest first.
  std::vector<OutboxEntry> pending_after(uint64_t after, size_t max) const;
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
  std::map<uint64_t, OutboxEntry> pending_;  // by seq
  uint64_t next_seq_ = 1;
  OutboxStats stats_;
};

// Publishes an outbox's events at QoS 1 in order, at most `window` unacknowledged at once and
// `rate` a second (a backlog after an outage drains at that rate while new events queue behind
// it), and forgets each once the broker acknowledged it. After a lost connection it starts again
// from the oldest pending event: the broker may get an event twice, never lose one.
class OutboxSender {
 public:
  OutboxSender(Outbox& outbox, platform::MqttClient& mqtt, size_t window, double rate)
      : outbox_(outbox), mqtt_(mqtt), window_(std::max<size_t>(1, window)), rate_(rate) {}
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
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool woken_ = false;
  std::atomic<uint64_t> acknowledged_{0};
  std::thread thread_;
};

}  // namespace gridwatch::agent
