// The rule engine: one state machine per (rule, subject), fed with readings and camera zone
// events, driven by an injected clock, producing order intents only on transitions.
//
// Time. Every input carries its own timestamp, and rules are evaluated at that time, not at the
// time it arrived. Inputs wait in a buffer until the watermark (the clock's now minus the rule
// set's `lateness`) reaches them, and are then applied in timestamp order, so readings up to
// `lateness` late or out of order are evaluated exactly as if they had arrived in order. An input
// before the watermark is too late: it is refused (Offer::kLate) and changes nothing; one stamped
// exactly at it (several devices reporting on the same instant with `lateness: 0s`) is on time. A
// reading repeated with the same device, type and timestamp is a duplicate (Offer::kDuplicate).
// Timers (durations, no data, sliding windows, schedules, cooldowns) fire at their own time as
// the watermark passes it, with or without new inputs; at equal times inputs go first.
//
// Episodes. An episode opens once (id "{rule}.{subject}.{YYYYMMDDThhmmss.mmmZ}" of the instant it
// opened, so a re-sent input or a restart never makes a second one), may be updated when it
// escalates, and clears once. State survives restarts through snapshot() / restore() (see
// StateFile for the files).
//
// Not thread-safe: call it from one thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "gridwatch/domain/order.h"
#include "gridwatch/rules/ruleset.h"

namespace gridwatch::rules {

struct DeviceInfo {
  std::string id;
  std::vector<std::string> types;  // reading types it sends; empty: any
  std::string group;
  std::vector<std::string> tags;
  std::optional<OrderLocation> location;
  std::string description;
};

// A camera zone event (from vision/): object `track` of class `object` entered the zone, has
// been stationary for `stationary` (as of ts), or left.
struct ZoneEvent {
  std::string camera;
  std::string zone;
  ZoneEventKind kind = ZoneEventKind::kEntered;
  std::string object;  // "car", "person", ...
  std::string track;
  Timestamp ts{};
  Duration stationary{0};
  std::optional<OrderLocation> location;
  nlohmann::json evidence;  // snapshot / clip references, kept with the intent
};

enum class Offer { kAccepted, kLate, kDuplicate, kFuture, kUnknownDevice, kUnused };
std::string_view to_string(Offer o);

enum class IntentKind { kOpen, kUpdate, kClear };
std::string_view to_string(IntentKind k);

struct Intent {
  IntentKind kind = IntentKind::kOpen;
  std::string id;  // episode id
  std::string rule;
  std::string category;
  std::string subject;
  Timestamp at{};          // when the transition happened (input or timer time)
  Timestamp first_seen{};  // when the condition started to hold
  Priority priority = Priority::kNormal;
  std::string description;
  std::string device;  // the device of the last input ("" for zone rules)
  std::optional<OrderLocation> location;
  nlohmann::json evidence;
};

struct EngineOptions {
  // Readings from devices not in the registry: refused (kUnknownDevice), or registered on the
  // fly without group, tags or location (replay of recorded data).
  bool accept_unknown_devices = false;
  // Inputs stamped more than this after the clock's now are refused (kFuture).
  Duration max_future{std::chrono::minutes{1}};
};

struct EngineStats {
  uint64_t accepted = 0, late = 0, duplicates = 0, future = 0, unknown_device = 0, unused = 0;
  uint64_t applied = 0, evaluations = 0, timers = 0;
  uint64_t opened = 0, updated = 0, cleared = 0;
  size_t states = 0, open_episodes = 0, pending = 0;
};

class Engine {
 public:
  Engine(RuleSet rules, std::vector<DeviceInfo> devices, const Catalog& catalog,
         EngineOptions options = {});
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Starts the clock: subjects of rules with no_data conditions that are known now (registered
  // devices) count their silence from `now`. Call once, before the first offer.
  void start(Timestamp now);

  Offer offer(const Reading& reading, Timestamp now);
  Offer offer(const ZoneEvent& event, Timestamp now);
  // Applies buffered inputs and due timers up to now - lateness, in time order.
  std::vector<Intent> advance(Timestamp now);
  // Applies everything up to `watermark` (replay: the last input's time).
  std::vector<Intent> advance_to(Timestamp watermark);

  Timestamp watermark() const;
  const RuleSet& rules() const;
  EngineStats stats() const;

  // The whole state (rule states, buffered inputs, watermark) as JSON, and back. restore()
  // replaces the state; states of rules whose definition changed keep their open episode but
  // start their conditions afresh; states of removed rules are dropped (logged by the caller
  // through the returned warnings).
  nlohmann::json snapshot() const;
  [[nodiscard]] Result<std::vector<std::string>> restore(const nlohmann::json& snapshot);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gridwatch::rules
