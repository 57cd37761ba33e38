// Threshold rules with hysteresis: one work order per real problem.
//
// A ThresholdRule watches readings of one type. Rising rules (open_at > clear_at) open an
// episode when a reading reaches open_at and clear it when a reading falls to clear_at or below;
// falling rules (open_at < clear_at, e.g. a low battery) work the other way round. Values between
// the two thresholds change nothing, so a level that wobbles around one threshold does not flap.
//
// The engine keeps one state per (rule, device). Readings older than or as old as the last one
// seen for that pair are ignored (re-delivered or out of order), so re-sending a reading never
// opens a second episode. Each episode has a stable id built from the rule, the device and the
// time of the reading that opened it. Not thread-safe: feed it from one thread.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "gridwatch/domain/catalog.h"
#include "gridwatch/domain/order.h"

namespace gridwatch::rules {

struct ThresholdRule {
  std::string name;          // rule name, [a-z0-9_]+; part of episode ids
  std::string reading_type;  // readings of this type are evaluated
  std::string category;      // catalog code of the order it opens
  double open_at = 0;
  double clear_at = 0;
  std::optional<Priority> priority;  // default: the category's

  bool rising() const { return open_at > clear_at; }
};

// Checks names, distinct thresholds and that the category exists.
Status validate(const ThresholdRule& rule, const Catalog& catalog);

enum class IntentKind { kOpen, kClear };

struct Intent {
  IntentKind kind = IntentKind::kOpen;
  const ThresholdRule* rule = nullptr;  // points into the engine; valid while it lives
  std::string episode_id;               // "{rule}.{device}.{YYYYMMDDThhmmssZ}"
  Timestamp first_seen{};               // the reading that opened the episode
  Reading reading;                      // the reading that caused this intent
};

class ThresholdEngine {
 public:
  explicit ThresholdEngine(std::vector<ThresholdRule> rules);

  // Evaluates every rule of the reading's type; returns the transitions it causes (usually none).
  std::vector<Intent> on_reading(const Reading& reading);
  // Number of episodes currently open.
  size_t open_episodes() const;
  const std::vector<ThresholdRule>& rules() const { return rules_; }

 private:
  struct State {
    std::optional<Timestamp> last_ts;
    bool active = false;
    std::string episode_id;
    Timestamp first_seen{};
  };
  std::vector<ThresholdRule> rules_;
  std::map<std::pair<size_t, std::string>, State> states_;  // (rule index, device) -> state
};

}  // namespace gridwatch::rules
