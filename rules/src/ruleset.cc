#include "gridwatch/rules/ruleset.h"

#include <algorithm>
#include <functional>
#include <set>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "gridwatch/domain/config.h"
#include "gridwatch/rules/schedule.h"

namespace gridwatch::rules {
namespace {

constexpr double kBig = 1e12;
const Duration kMaxDuration = std::chrono::days{366};

bool is_rule_id(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; });
}

uint8_t read_days(const ConfigNode& n) {
  if (!n.has("days")) return 0x7f;
  if (n.yaml()["days"].IsScalar()) {
    std::string d = n.choice("days", {"daily", "weekdays", "weekends"}, "daily");
    return d == "daily" ? 0x7f : d == "weekdays" ? 0x1f : 0x60;
  }
  static const std::vector<std::string> kNames{"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
  uint8_t days = 0;
  for (const std::string& s : n.strings("days")) {
    auto it = std::find(kNames.begin(), kNames.end(), s);
    if (it == kNames.end())
      n.raise("days", fmt::format("unknown day \"{}\" (mon tue wed thu fri sat sun, or daily / "
                                  "weekdays / weekends)", s));
    days = static_cast<uint8_t>(days | (1u << (it - kNames.begin())));
  }
  if (days == 0) n.raise("days", "no days given");
  return days;
}

class RuleReader {
 public:
  RuleReader(const Catalog& catalog, const std::string& default_zone)
      : catalog_(catalog), timezone_(default_zone) {}

  Rule read(const ConfigNode& n) {
    n.allow_only({"id", "category", "priority", "subject", "cell_m", "input", "when", "clear",
                  "clear_after", "escalate", "cooldown", "description"});
    Rule r;
    r.id = n.string("id");
    if (!is_rule_id(r.id)) n.raise("id", "must be 1-64 characters of a-z 0-9 _");
    r.category = n.string("category");
    const Category* cat = catalog_.find(r.category);
    if (!cat) n.raise("category", fmt::format("unknown category \"{}\"", r.category));
    r.priority = n.has("priority")
                     ? *parse_priority(n.choice("priority", {"urgent", "high", "normal", "low"}, "normal"))
                     : cat->default_priority;
    read_input(n, r);
    std::string subject = n.choice("subject", {"device", "group", "cell", "zone"},
                                   r.input.zone_events ? "zone" : "device");
    r.subject = subject == "device" ? SubjectKind::kDevice
                : subject == "group" ? SubjectKind::kGroup
                : subject == "cell"  ? SubjectKind::kCell
                                     : SubjectKind::kZone;
    if ((r.subject == SubjectKind::kZone) != r.input.zone_events)
      n.raise("subject", r.input.zone_events ? "a rule on zone events has subject zone"
                                             : "subject zone needs input zones (camera zone events)");
    if (r.subject == SubjectKind::kCell) {
      r.cell_m = n.number("cell_m", 5, 100'000);
    } else if (n.has("cell_m")) {
      n.raise("cell_m", "applies to subject cell only");
    }
    rule_ = &r;
    r.when = read_node(n.at("when"));
    if (n.has("clear")) r.clear = read_node(n.at("clear"));
    r.clear_after = n.duration("clear_after", Duration{0}, Duration{0}, kMaxDuration);
    for (const ConfigNode& e : n.list("escalate")) {
      e.allow_only({"priority", "when"});
      Escalation esc;
      esc.priority = *parse_priority(e.choice("priority", {"urgent", "high", "normal", "low"}, "high"));
      // More urgent than the rule's own priority and than the previous step (enum: urgent = 0).
      Priority floor = r.escalations.empty() ? r.priority : r.escalations.back().priority;
      if (static_cast<int>(esc.priority) >= static_cast<int>(floor))
        e.raise("priority", fmt::format("escalation to {} is not more urgent than {}",
                                        to_string(esc.priority), to_string(floor)));
      esc.when = read_node(e.at("when"));
      r.escalations.push_back(esc);
    }
    r.cooldown = n.duration("cooldown", Duration{0}, Duration{0}, kMaxDuration);
    r.description = n.string("description", "");
    r.source_text_hash = fmt::format("{:016x}", std::hash<std::string>{}(YAML::Dump(n.yaml())));
    rule_ = nullptr;
    return r;
  }

 private:
  void read_input(const ConfigNode& n, Rule& r) {
    ConfigNode in = n.at("input");
    in.allow_only({"type", "types", "devices", "groups", "tags", "zones"});
    InputSelector& s = r.input;
    if (in.has("zones")) {
      for (const char* k : {"type", "types", "devices", "groups", "tags"})
        if (in.has(k)) in.raise(k, "a rule reads either readings or zone events (zones), not both");
      s.zone_events = true;
      s.zones = in.strings("zones");
      for (const std::string& z : s.zones)
        if (z.find(':') == std::string::npos || z.front() == ':' || z.back() == ':')
          in.raise("zones", fmt::format("zone \"{}\" must be CAMERA:ZONE or CAMERA:*", z));
      return;
    }
    if (in.has("type") == in.has("types")) in.raise("type", "give the reading type (type) or types");
    s.types = in.has("type") ? std::vector<std::string>{in.string("type")} : in.strings("types");
    if (s.types.empty()) in.raise("types", "at least one reading type");
    s.devices = in.strings("devices");
    s.groups = in.strings("groups");
    s.tags = in.strings("tags");
  }

  uint16_t add(Node node, const ConfigNode& at) {
    if (rule_->nodes.size() >= 1000) at.raise("", "condition too large (1000 nodes)");
    rule_->nodes.push_back(std::move(node));
    return static_cast<uint16_t>(rule_->nodes.size() - 1);
  }

  // The reading type a leaf consumes: its own `type`, else the rule's only type.
  std::string leaf_type(const ConfigNode& leaf, bool required) {
    const auto& types = rule_->input.types;
    if (leaf.has("type")) {
      std::string t = leaf.string("type");
      if (std::find(types.begin(), types.end(), t) == types.end())
        leaf.raise("type", fmt::format("\"{}\" is not among the rule's input types", t));
      return t;
    }
    if (types.size() == 1) return types.front();
    if (required) leaf.raise("type", "the rule reads several types: say which one");
    return {};
  }

  void readings_only(const ConfigNode& leaf, std::string_view what) {
    if (rule_->input.zone_events)
      leaf.raise("", fmt::format("{} needs readings, and this rule reads zone events", what));
  }

  uint16_t read_node(const ConfigNode& n) {
    if (!n.yaml().IsMap()) n.raise("", "expected a condition (threshold, no_data, count, rate, zone, schedule, all, any, not)");
    static const std::vector<std::string_view> kKinds{"threshold", "no_data", "count", "rate", "zone",
                                                      "schedule",  "all",     "any",   "not"};
    std::string kind;
    for (auto it = n.yaml().begin(); it != n.yaml().end(); ++it) {
      std::string key = it->first.Scalar();
      if (key == "for" || key == "times") continue;
      if (std::find(kKinds.begin(), kKinds.end(), key) == kKinds.end())
        n.allow_only({"threshold", "no_data", "count", "rate", "zone", "schedule", "all", "any", "not",
                      "for", "times"});
      if (!kind.empty()) n.raise(key, fmt::format("one condition per item: {} and {}; combine them with all / any", kind, key));
      kind = key;
    }
    if (kind.empty()) n.raise("", "a condition needs one of threshold, no_data, count, rate, zone, schedule, all, any, not");
    Node node;
    node.hold = n.duration("for", Duration{0}, Duration{0}, kMaxDuration);
    node.times = static_cast<uint32_t>(n.integer("times", 0, 0, 1'000'000));
    if (kind == "all" || kind == "any") {
      node.kind = kind == "all" ? NodeKind::kAll : NodeKind::kAny;
      auto items = n.list(kind, true);
      if (items.empty()) n.raise(kind, "needs at least one condition");
      for (const ConfigNode& c : items) node.children.push_back(read_node(c));
      return add(std::move(node), n);
    }
    if (kind == "not") {
      node.kind = NodeKind::kNot;
      node.children.push_back(read_node(n.at("not")));
      return add(std::move(node), n);
    }
    ConfigNode leaf = n.at(kind);
    if (kind == "threshold") {
      readings_only(leaf, "threshold");
      leaf.allow_only({"type", "above", "below", "clear_below", "clear_above"});
      node.kind = NodeKind::kThreshold;
      node.type = leaf_type(leaf, true);
      if (leaf.has("above") == leaf.has("below")) leaf.raise("above", "give above (rising) or below (falling)");
      node.rising = leaf.has("above");
      node.open_at = leaf.number(node.rising ? "above" : "below", -kBig, kBig);
      if (leaf.has(node.rising ? "clear_above" : "clear_below"))
        leaf.raise(node.rising ? "clear_above" : "clear_below",
                   node.rising ? "a rising threshold (above) clears with clear_below"
                               : "a falling threshold (below) clears with clear_above");
      const char* clear_key = node.rising ? "clear_below" : "clear_above";
      node.clear_at = leaf.number(clear_key, node.open_at, -kBig, kBig);
      if (node.rising ? node.clear_at > node.open_at : node.clear_at < node.open_at)
        leaf.raise(clear_key, fmt::format("{} {} is on the wrong side of {} {}: the condition would "
                                          "clear while it holds",
                                          clear_key, node.clear_at, node.rising ? "above" : "below",
                                          node.open_at));
    } else if (kind == "no_data") {
      leaf.allow_only({"type", "for"});
      node.kind = NodeKind::kNoData;
      if (!rule_->input.zone_events) node.type = leaf_type(leaf, false);
      node.window = leaf.duration("for", Duration{0}, std::chrono::seconds{1}, kMaxDuration);
      if (!leaf.has("for")) leaf.raise("for", "required key is missing");
    } else if (kind == "count") {
      leaf.allow_only({"type", "at_least", "within", "above", "below", "event"});
      node.kind = NodeKind::kCount;
      node.at_least = static_cast<uint32_t>(leaf.integer("at_least", 0, 1, 1'000'000));
      if (!leaf.has("at_least")) leaf.raise("at_least", "required key is missing");
      node.window = leaf.duration("within", Duration{0}, std::chrono::seconds{1}, kMaxDuration);
      if (!leaf.has("within")) leaf.raise("within", "required key is missing");
      if (rule_->input.zone_events) {
        for (const char* k : {"type", "above", "below"})
          if (leaf.has(k)) leaf.raise(k, "counts of zone events select by event");
        std::string ev = leaf.choice("event", {"entered", "stationary", "left"}, "entered");
        node.event_kind = parse_zone_event_kind(ev);
      } else {
        if (leaf.has("event")) leaf.raise("event", "applies to zone events only");
        node.type = leaf_type(leaf, false);
        node.min_value = leaf.number("above", -1e300, -kBig, kBig);
        node.max_value = leaf.number("below", 1e300, -kBig, kBig);
        if (node.min_value > node.max_value) leaf.raise("below", "below is less than above: nothing can match");
      }
      node.buffer = static_cast<int32_t>(rule_->buffers++);
    } else if (kind == "rate") {
      readings_only(leaf, "rate");
      leaf.allow_only({"type", "above", "below", "per", "over"});
      node.kind = NodeKind::kRate;
      node.type = leaf_type(leaf, true);
      if (leaf.has("above") == leaf.has("below")) leaf.raise("above", "give above (rising) or below (falling)");
      node.rising = leaf.has("above");
      node.open_at = leaf.number(node.rising ? "above" : "below", -kBig, kBig);
      node.clear_at = node.open_at;
      node.per = leaf.duration("per", std::chrono::minutes{1}, std::chrono::seconds{1}, kMaxDuration);
      node.window = leaf.duration("over", Duration{0}, std::chrono::seconds{1}, kMaxDuration);
      if (!leaf.has("over")) leaf.raise("over", "required key is missing");
      node.buffer = static_cast<int32_t>(rule_->buffers++);
    } else if (kind == "zone") {
      if (!rule_->input.zone_events) leaf.raise("", "zone needs input zones (camera zone events)");
      leaf.allow_only({"objects", "stationary", "present", "expire"});
      node.kind = NodeKind::kZone;
      node.objects = leaf.strings("objects");
      if (leaf.has("stationary") == leaf.has("present"))
        leaf.raise("stationary", "give stationary: DURATION or present: true");
      if (leaf.has("present") && !leaf.boolean("present", true))
        leaf.raise("present", "present: false is written not: {zone: {present: true}}");
      node.stationary_for = leaf.duration("stationary", Duration{0}, std::chrono::seconds{1}, kMaxDuration);
      // 0: tracks are forgotten only when the camera says `left` (a parked car may stay for hours).
      node.window = leaf.duration("expire", Duration{0}, std::chrono::seconds{1}, kMaxDuration);
      node.buffer = static_cast<int32_t>(rule_->buffers++);
    } else if (kind == "schedule") {
      leaf.allow_only({"days", "from", "to", "timezone"});
      node.kind = NodeKind::kSchedule;
      auto from = parse_time_of_day(leaf.string("from", "00:00"));
      if (!from) leaf.raise("from", from.error().message);
      auto to = parse_time_of_day(leaf.string("to", "24:00"));
      if (!to) leaf.raise("to", to.error().message);
      auto s = Schedule::create(read_days(leaf), *from, *to, leaf.string("timezone", timezone_));
      if (!s) leaf.raise(s.error().field == "timezone" && !leaf.has("timezone") ? "" : s.error().field,
                         s.error().message);
      node.schedule = *s;
    }
    return add(std::move(node), n);
  }

  const Catalog& catalog_;
  std::string timezone_;
  Rule* rule_ = nullptr;
};

void finish(Rule& r) {
  for (const Node& n : r.nodes)
    if (n.hold.count() > 0 || n.kind == NodeKind::kNoData || n.kind == NodeKind::kCount ||
        n.kind == NodeKind::kRate || n.kind == NodeKind::kZone || n.kind == NodeKind::kSchedule)
      r.has_timers = true;
  if (r.clear_after.count() > 0 || r.cooldown.count() > 0) r.has_timers = true;
}

}  // namespace

std::string_view to_string(NodeKind k) {
  switch (k) {
    case NodeKind::kThreshold: return "threshold";
    case NodeKind::kNoData: return "no_data";
    case NodeKind::kCount: return "count";
    case NodeKind::kRate: return "rate";
    case NodeKind::kZone: return "zone";
    case NodeKind::kSchedule: return "schedule";
    case NodeKind::kAll: return "all";
    case NodeKind::kAny: return "any";
    case NodeKind::kNot: return "not";
  }
  return "?";
}

std::string_view to_string(SubjectKind k) {
  switch (k) {
    case SubjectKind::kDevice: return "device";
    case SubjectKind::kGroup: return "group";
    case SubjectKind::kCell: return "cell";
    case SubjectKind::kZone: return "zone";
  }
  return "?";
}

RuleSet read_rules(const ConfigNode& root, const Catalog& catalog) {
  root.allow_only({"version", "timezone", "lateness", "rules"});
  if (root.integer("version", 1, 1, 1) != 1) root.raise("version", "only version 1 is known");
  RuleSet set;
  set.timezone = root.string("timezone", "UTC");
  if (auto s = Schedule::create(0x7f, 0, 1440, set.timezone); !s) root.raise("timezone", s.error().message);
  set.lateness = root.duration("lateness", set.lateness, Duration{0}, std::chrono::hours{1});
  RuleReader reader(catalog, set.timezone);
  std::set<std::string> ids;
  for (const ConfigNode& n : root.list("rules", true)) {
    Rule r = reader.read(n);
    if (!ids.insert(r.id).second) n.raise("id", fmt::format("duplicate rule id \"{}\"", r.id));
    finish(r);
    set.rules.push_back(std::move(r));
  }
  return set;
}

Result<RuleSet> parse_rules(std::string_view yaml, std::string source, const Catalog& catalog) {
  return read_config_text<RuleSet>(yaml, std::move(source),
                                   [&](const ConfigNode& root) { return read_rules(root, catalog); });
}

Result<RuleSet> load_rules(const std::filesystem::path& path, const Catalog& catalog) {
  auto text = read_text_file(path);
  if (!text) return std::unexpected(text.error());
  return parse_rules(*text, path.string(), catalog);
}

}  // namespace gridwatch::rules
