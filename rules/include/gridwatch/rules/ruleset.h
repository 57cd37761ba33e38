// The rule language: what a rule watches, when it opens a work order, when the order escalates
// and when it clears. Rules are YAML (reference with examples in docs/rules.md); this header is
// the checked, compiled form that the Engine runs.
//
// A rule has a condition tree (`when`). Leaves are stateful signals over the readings and zone
// events of one subject (a device, a device group, a location cell or a camera zone):
// threshold with hysteresis, no data for T, count in a sliding window, rate of change, zone
// occupancy / stationary objects, and time-of-week schedules; nodes combine with all / any / not,
// and any node can be required to hold `for` a duration or `times` readings in a row. The
// episode is open while the tree holds; it clears when the tree no longer holds (or when an
// explicit `clear` tree does), escalates through `escalate` steps, and may not reopen during
// `cooldown`.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gridwatch/domain/catalog.h"
#include "gridwatch/domain/error.h"
#include "gridwatch/domain/order.h"
#include "gridwatch/domain/time.h"
#include "gridwatch/domain/zone_event.h"

namespace YAML {
class Node;
}

namespace gridwatch {
class ConfigNode;
}

namespace gridwatch::rules {

class Schedule;

enum class NodeKind { kThreshold, kNoData, kCount, kRate, kZone, kSchedule, kAll, kAny, kNot };
std::string_view to_string(NodeKind k);

// Zone event kinds (from vision/): gridwatch::ZoneEventKind, domain/zone_event.h.

// One node of a compiled condition tree. Nodes of a rule live in one vector; children are
// indices into it. Only the fields of the node's kind are meaningful.
struct Node {
  NodeKind kind = NodeKind::kAll;
  std::vector<uint16_t> children;  // all / any: 1+; not: exactly 1
  // Modifiers, applied to the node's own value: true at `times` consecutive inputs, then held
  // for `hold`.
  uint32_t times = 0;
  Duration hold{0};
  // The reading type the leaf consumes; empty: any reading type of the rule.
  std::string type;
  // threshold: rising (above / clear_below) or falling (below / clear_above), with hysteresis.
  bool rising = true;
  double open_at = 0;
  double clear_at = 0;  // == open_at when no clear_* was given: clears as soon as it no longer holds
  // no_data: true when no input for `window`.
  // count: at least `at_least` matching inputs within `window`; a reading matches when within
  //        [min_value, max_value], a zone event when its kind is `event_kind`.
  // rate: change per `per` between the oldest and newest reading within `window`, compared with
  //       open_at (rising: >=, falling: <=).
  Duration window{0};
  uint32_t at_least = 0;
  double min_value = -1e300, max_value = 1e300;
  std::optional<ZoneEventKind> event_kind;
  Duration per{std::chrono::minutes{1}};
  // zone: an object of `objects` (empty: any) present (stationary_for == 0) or stationary for at
  // least `stationary_for`.
  std::vector<std::string> objects;
  Duration stationary_for{0};
  // schedule
  std::shared_ptr<const Schedule> schedule;

  // Index of this node's slot in the per-subject sample buffers (count, rate) or track list
  // (zone); -1 when it has none.
  int32_t buffer = -1;
};

enum class SubjectKind { kDevice, kGroup, kCell, kZone };
std::string_view to_string(SubjectKind k);

// Which inputs a rule sees. Readings: of one of `types`, from a device listed in `devices`, in
// one of `groups` or carrying one of `tags` (no device filter given: every device). Zone
// events: from one of `zones` ("camera:zone", or "camera:*"; empty: every zone).
struct InputSelector {
  std::vector<std::string> types;
  std::vector<std::string> devices;
  std::vector<std::string> groups;
  std::vector<std::string> tags;
  std::vector<std::string> zones;
  bool zone_events = false;  // the rule consumes camera zone events, not readings
};

struct Escalation {
  Priority priority = Priority::kHigh;
  uint16_t when = 0;  // root node index
};

struct Rule {
  std::string id;        // [a-z0-9_]{1,64}; part of episode ids
  std::string category;  // catalog code
  Priority priority = Priority::kNormal;
  SubjectKind subject = SubjectKind::kDevice;
  double cell_m = 0;  // subject: cell
  InputSelector input;
  std::vector<Node> nodes;
  uint16_t when = 0;                    // root of the open condition
  std::optional<uint16_t> clear;        // root of an explicit clear condition
  Duration clear_after{0};              // the clear condition must hold this long
  std::vector<Escalation> escalations;  // in order of increasing urgency
  Duration cooldown{0};                 // no new episode this long after a clear
  std::string description;              // template: {rule} {subject} {device} {type} {value} ...
  std::string source_text_hash;         // changes when the rule's definition changes
  size_t buffers = 0;                   // sample/track buffers per subject
  bool has_timers = false;              // some node can change without input
};

struct RuleSet {
  std::string timezone = "UTC";  // default zone of schedules
  Duration lateness{std::chrono::seconds{5}};
  std::vector<Rule> rules;
};

// Reads a rule file / text. Errors are ErrorCode::kConfig with "FILE:LINE: KEY: reason": unknown
// keys, unknown categories, unknown time zones, impossible conditions (a clear threshold on the
// wrong side of the open threshold, at_least 0, ...), duplicate rule ids.
[[nodiscard]] Result<RuleSet> load_rules(const std::filesystem::path& path, const Catalog& catalog);
[[nodiscard]] Result<RuleSet> parse_rules(std::string_view yaml, std::string source,
                                          const Catalog& catalog);
// Reads a rule set from a node of a larger config file (the agent's `rules:` section). Raises
// ConfigError like the rest of that file.
RuleSet read_rules(const ConfigNode& node, const Catalog& catalog);

}  // namespace gridwatch::rules
