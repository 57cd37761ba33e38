#include "gridwatch/rules/engine.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <queue>
#include <unordered_map>

#include <fmt/format.h>

#include "gridwatch/rules/schedule.h"

namespace gridwatch::rules {
namespace {

using json = nlohmann::json;
constexpr int64_t kNever = std::numeric_limits<int64_t>::min();
constexpr int64_t kInf = std::numeric_limits<int64_t>::max();

int64_t ms(Timestamp t) { return t.time_since_epoch().count(); }
Timestamp ts(int64_t v) { return Timestamp{Duration{v}}; }

// 2026-11-23T08:00:00.250Z -> 20261123T080000.250Z
std::string compact_time(int64_t t) {
  std::string out;
  for (char c : format_rfc3339(ts(t)))
    if (c != '-' && c != ':') out += c;
  return out;
}

struct Sample {
  int64_t t;
  double v;
};

struct Track {
  std::string id;
  std::string object;
  int64_t stationary_since = kNever;
  int64_t last = kNever;
};

// Samples of a sliding window (count, rate) or the tracks in a zone.
struct Buffer {
  std::vector<Sample> samples;
  size_t head = 0;
  std::vector<Track> tracks;

  size_t size() const { return samples.size() - head; }
  const Sample& oldest() const { return samples[head]; }
  void expire_until(int64_t t, Duration window) {  // drops samples with s.t + window <= t
    while (head < samples.size() && samples[head].t + window.count() <= t) ++head;
    if (head > 32 && head * 2 > samples.size()) {
      samples.erase(samples.begin(), samples.begin() + static_cast<std::ptrdiff_t>(head));
      head = 0;
    }
  }
};

struct NodeState {
  int64_t since = kNever;  // when the node's value last became true
  int64_t last = kNever;   // no_data: last input
  uint32_t count = 0;      // times: consecutive inputs with the value true
  bool latch = false;      // threshold: hysteresis state
};

struct LastInput {
  int32_t device = -1;
  int32_t type = -1;
  double value = 0;
  int64_t t = kNever;
  json event;  // zone rules: the last event
  std::optional<OrderLocation> location;
};

struct State {
  uint32_t rule = 0;
  uint32_t subject = 0;
  bool open = false;
  int8_t level = -1;  // escalation step reached, -1: none
  Priority priority = Priority::kNormal;
  int64_t created = 0;
  int64_t opened_at = kNever, first_seen = kNever, cooldown_until = kNever, clear_since = kNever;
  int64_t heap_at = kInf;  // earliest timer queued for this state
  std::string episode;
  // Restored open episode of a changed rule: it does not clear before a condition has read a new
  // input (its conditions start afresh, so "no longer holds" means nothing until then).
  bool await_input = false;
  // The state's node states and buffers live in the engine's pools (one allocation for all
  // states, the states of one device side by side): [node_base, node_base + rule's nodes).
  uint32_t node_base = 0;
  uint32_t buffer_base = 0;
  LastInput last;
  // A device with a configured place that the state was made for (the first such member, for
  // group and cell subjects): an episode opened before any input (no data since the start) is
  // placed by it, and for a device subject named by it.
  int32_t home = -1;
};

// One input on its way through the engine.
struct Input {
  int64_t t = 0;
  uint64_t seq = 0;
  int32_t device = -1;
  int32_t type = -1;
  double value = 0;
  const ZoneEvent* event = nullptr;  // zone events only
};

struct Pending {
  int64_t t;
  uint64_t seq;
  int32_t device, type;
  double value;
  bool operator>(const Pending& o) const { return t != o.t ? t > o.t : seq > o.seq; }
};

struct Timer {
  int64_t t;
  uint32_t state;
  bool operator>(const Timer& o) const { return t != o.t ? t > o.t : state > o.state; }
};

struct Route {
  std::vector<uint32_t> states;
  int64_t last_applied = kNever;
  int64_t last_offered = kNever;  // newest timestamp accepted for this device and type
};

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

std::string format_value(double v) {
  if (v == std::floor(v) && std::abs(v) < 1e15) return fmt::format("{}", static_cast<int64_t>(v));
  return fmt::format("{:.6g}", v);
}

}  // namespace

std::string_view to_string(Offer o) {
  switch (o) {
    case Offer::kAccepted: return "accepted";
    case Offer::kLate: return "late";
    case Offer::kDuplicate: return "duplicate";
    case Offer::kFuture: return "future";
    case Offer::kUnknownDevice: return "unknown_device";
    case Offer::kUnused: return "unused";
  }
  return "?";
}

std::string_view to_string(IntentKind k) {
  switch (k) {
    case IntentKind::kOpen: return "open";
    case IntentKind::kUpdate: return "update";
    case IntentKind::kClear: return "clear";
  }
  return "?";
}

struct Engine::Impl {
  RuleSet rules;
  const Catalog& catalog;
  EngineOptions options;
  std::vector<DeviceInfo> devices;
  std::unordered_map<std::string, int32_t> device_index;
  std::vector<std::string> types;
  std::unordered_map<std::string, int32_t> type_index;
  std::vector<std::vector<int32_t>> node_type;  // per rule, per node: type index or -1 (any)
  std::vector<std::vector<int32_t>> rule_types;
  std::vector<std::string> subjects;
  std::unordered_map<std::string, uint32_t> subject_index;
  std::vector<State> states;
  std::vector<NodeState> node_pool;
  std::vector<Buffer> buffer_pool;
  std::unordered_map<uint64_t, uint32_t> state_index;  // (rule, subject) -> state
  // Per device: (type, index into routes); a device sends one or a few types.
  std::vector<std::vector<std::pair<int32_t, uint32_t>>> device_routes;
  std::vector<Route> routes;  // (device, type) -> the states its readings feed
  std::vector<std::pair<int32_t, int32_t>> route_owner;  // route -> (device, type)
  std::unordered_map<std::string, Route> zone_routes;  // "camera:zone" -> states
  std::priority_queue<Pending, std::vector<Pending>, std::greater<>> pending;
  std::unordered_map<uint64_t, ZoneEvent> pending_events;  // seq -> event
  std::priority_queue<Timer, std::vector<Timer>, std::greater<>> timers;
  int64_t watermark = kNever;
  uint64_t seq = 0;
  EngineStats stats;
  std::vector<Intent>* out = nullptr;
  bool consumed_by_leaf = false;  // set by eval() when a leaf used the input

  Impl(RuleSet r, std::vector<DeviceInfo> devs, const Catalog& cat, EngineOptions o)
      : rules(std::move(r)), catalog(cat), options(o) {
    for (DeviceInfo& d : devs) add_device(std::move(d));
    for (const Rule& rule : rules.rules) {
      std::vector<int32_t> nt, rt;
      for (const Node& n : rule.nodes) nt.push_back(n.type.empty() ? -1 : intern_type(n.type));
      for (const std::string& t : rule.input.types) rt.push_back(intern_type(t));
      node_type.push_back(std::move(nt));
      rule_types.push_back(std::move(rt));
    }
  }

  int32_t add_device(DeviceInfo d) {
    auto [it, added] = device_index.emplace(d.id, static_cast<int32_t>(devices.size()));
    if (added) devices.push_back(std::move(d));
    return it->second;
  }
  int32_t intern_type(const std::string& t) {
    auto [it, added] = type_index.emplace(t, static_cast<int32_t>(types.size()));
    if (added) types.push_back(t);
    return it->second;
  }
  uint32_t intern_subject(const std::string& s) {
    auto [it, added] = subject_index.emplace(s, static_cast<uint32_t>(subjects.size()));
    if (added) subjects.push_back(s);
    return it->second;
  }

  uint32_t state_for(uint32_t rule, const std::string& subject, int64_t created) {
    uint32_t sub = intern_subject(subject);
    uint64_t key = static_cast<uint64_t>(rule) << 32 | sub;
    auto [it, added] = state_index.emplace(key, static_cast<uint32_t>(states.size()));
    if (added) {
      const Rule& r = rules.rules[rule];
      State st;
      st.rule = rule;
      st.subject = sub;
      st.priority = r.priority;
      st.created = created;
      st.node_base = static_cast<uint32_t>(node_pool.size());
      st.buffer_base = static_cast<uint32_t>(buffer_pool.size());
      node_pool.resize(node_pool.size() + r.nodes.size());
      buffer_pool.resize(buffer_pool.size() + r.buffers);
      states.push_back(std::move(st));
    }
    return it->second;
  }

  bool device_selected(const Rule& r, const DeviceInfo& d) const {
    const InputSelector& s = r.input;
    if (s.devices.empty() && s.groups.empty() && s.tags.empty()) return true;
    if (contains(s.devices, d.id)) return true;
    if (!d.group.empty() && contains(s.groups, d.group)) return true;
    for (const std::string& t : d.tags)
      if (contains(s.tags, t)) return true;
    return false;
  }

  // The subject of `d` under `r`; empty when the device has none (no group, no location).
  static std::string subject_of(const Rule& r, const DeviceInfo& d) {
    switch (r.subject) {
      case SubjectKind::kDevice: return d.id;
      case SubjectKind::kGroup: return d.group;
      case SubjectKind::kCell: {
        if (!d.location) return {};
        constexpr double kMetresPerDegree = 111'195.0;
        const LonLat p = d.location->position;
        const auto row = static_cast<int64_t>(std::floor(p.lat * kMetresPerDegree / r.cell_m));
        const double mid_lat = (static_cast<double>(row) + 0.5) * r.cell_m / kMetresPerDegree;
        const auto col = static_cast<int64_t>(std::floor(
            p.lon * kMetresPerDegree * std::cos(mid_lat * M_PI / 180.0) / r.cell_m));
        return fmt::format("cell_{}_{}", row, col);
      }
      case SubjectKind::kZone: return {};
    }
    return {};
  }

  Route& route(int32_t device, int32_t type, int64_t now) {
    if (device_routes.size() < devices.size()) device_routes.resize(devices.size());
    auto& mine = device_routes[static_cast<size_t>(device)];
    for (const auto& [ty, idx] : mine)
      if (ty == type) return routes[idx];
    mine.emplace_back(type, static_cast<uint32_t>(routes.size()));
    routes.emplace_back();
    route_owner.emplace_back(device, type);
    Route& made = routes.back();
    const DeviceInfo& d = devices[static_cast<size_t>(device)];
    for (uint32_t ri = 0; ri < rules.rules.size(); ++ri) {
      const Rule& r = rules.rules[ri];
      if (r.input.zone_events || !contains_type(ri, type) || !device_selected(r, d)) continue;
      std::string subject = subject_of(r, d);
      if (subject.empty()) continue;
      const uint32_t si = state_for(ri, subject, now);
      if (states[si].home < 0 && d.location) states[si].home = device;
      made.states.push_back(si);
    }
    return made;
  }

  bool contains_type(uint32_t rule, int32_t type) const {
    const auto& rt = rule_types[rule];
    return std::find(rt.begin(), rt.end(), type) != rt.end();
  }

  Route& zone_route(const std::string& zone, int64_t now) {
    auto [it, added] = zone_routes.try_emplace(zone);
    if (!added) return it->second;
    const std::string camera = zone.substr(0, zone.find(':'));
    for (uint32_t ri = 0; ri < rules.rules.size(); ++ri) {
      const Rule& r = rules.rules[ri];
      if (!r.input.zone_events) continue;
      bool match = r.input.zones.empty() || contains(r.input.zones, zone) ||
                   contains(r.input.zones, camera + ":*");
      if (match) it->second.states.push_back(state_for(ri, zone, now));
    }
    return it->second;
  }

  // ---- evaluation ------------------------------------------------------------------------------

  bool eval(const Rule& r, uint32_t ri, State& st, uint16_t idx, int64_t t, const Input* in,
            int64_t& next) {
    const Node& n = r.nodes[idx];
    NodeState& ns = node_pool[st.node_base + idx];
    const int32_t want = node_type[ri][idx];
    const bool reading = in && !in->event;
    const bool type_ok = reading && (want < 0 || want == in->type);
    bool consumed = false;
    bool raw = false;
    switch (n.kind) {
      case NodeKind::kThreshold:
        if (type_ok) {
          consumed = true;
          const double v = in->value;
          if (n.rising) {
            if (v >= n.open_at) ns.latch = true;
            else if (n.clear_at == n.open_at ? v < n.open_at : v <= n.clear_at) ns.latch = false;
          } else {
            if (v <= n.open_at) ns.latch = true;
            else if (n.clear_at == n.open_at ? v > n.open_at : v >= n.clear_at) ns.latch = false;
          }
        }
        raw = ns.latch;
        break;
      case NodeKind::kNoData: {
        if (in && (in->event || want < 0 || want == in->type)) {
          consumed = true;
          ns.last = t;
        }
        const int64_t base = ns.last == kNever ? st.created : ns.last;
        raw = t - base >= n.window.count();
        if (!raw) next = std::min(next, base + n.window.count());
        break;
      }
      case NodeKind::kCount: {
        Buffer& b = buffer_pool[st.buffer_base + static_cast<uint32_t>(n.buffer)];
        bool match = in && (in->event ? n.event_kind && *n.event_kind == in->event->kind
                                      : type_ok && in->value >= n.min_value && in->value <= n.max_value);
        if (match) {
          consumed = true;
          b.samples.push_back({t, 1.0});
        }
        b.expire_until(t, n.window);
        raw = b.size() >= n.at_least;
        if (b.size() > 0) next = std::min(next, b.oldest().t + n.window.count());
        break;
      }
      case NodeKind::kRate: {
        // Measured at each reading over the readings within the window; without readings the
        // last measure stands until the window has passed since the newest one.
        if (type_ok) {
          consumed = true;
          Buffer& b = buffer_pool[st.buffer_base + static_cast<uint32_t>(n.buffer)];
          b.samples.push_back({t, in->value});
          b.expire_until(t, n.window);
          ns.latch = false;
          ns.last = t;
          const Sample& first = b.oldest();
          const Sample& newest = b.samples.back();
          if (b.size() >= 2 && newest.t > first.t) {
            const double slope = (newest.v - first.v) / static_cast<double>(newest.t - first.t) *
                                 static_cast<double>(n.per.count());
            ns.latch = n.rising ? slope >= n.open_at : slope <= n.open_at;
          }
        }
        raw = ns.latch && t - ns.last < n.window.count();
        if (raw) next = std::min(next, ns.last + n.window.count());
        break;
      }
      case NodeKind::kZone: {
        Buffer& b = buffer_pool[st.buffer_base + static_cast<uint32_t>(n.buffer)];
        if (in && in->event && (n.objects.empty() || contains(n.objects, in->event->object))) {
          consumed = true;
          const ZoneEvent& e = *in->event;
          auto it = std::find_if(b.tracks.begin(), b.tracks.end(),
                                 [&](const Track& tr) { return tr.id == e.track; });
          if (e.kind == ZoneEventKind::kLeft) {
            if (it != b.tracks.end()) b.tracks.erase(it);
          } else {
            if (it == b.tracks.end()) {
              b.tracks.push_back({.id = e.track, .object = e.object});
              it = b.tracks.end() - 1;
            }
            it->last = t;
            if (e.kind == ZoneEventKind::kStationary) {
              const int64_t since = t - e.stationary.count();
              if (it->stationary_since == kNever || since < it->stationary_since) it->stationary_since = since;
            }
          }
        }
        const bool expires = n.window.count() > 0;
        if (expires) std::erase_if(b.tracks, [&](const Track& tr) { return t - tr.last >= n.window.count(); });
        for (const Track& tr : b.tracks) {
          if (expires) next = std::min(next, tr.last + n.window.count());
          if (n.stationary_for.count() == 0) {
            raw = true;
          } else if (tr.stationary_since != kNever) {
            const int64_t due = tr.stationary_since + n.stationary_for.count();
            if (t >= due) raw = true;
            else next = std::min(next, due);
          }
        }
        break;
      }
      case NodeKind::kSchedule:
        raw = n.schedule->contains(ts(t));
        next = std::min(next, ms(n.schedule->next_change(ts(t))));
        break;
      case NodeKind::kAll:
      case NodeKind::kAny: {
        consumed = in != nullptr;
        bool all = true, any = false;
        for (uint16_t c : n.children) {  // every child, so that each keeps its own state
          bool v = eval(r, ri, st, c, t, in, next);
          all = all && v;
          any = any || v;
        }
        raw = n.kind == NodeKind::kAll ? all : any;
        break;
      }
      case NodeKind::kNot:
        consumed = in != nullptr;
        raw = !eval(r, ri, st, n.children.front(), t, in, next);
        break;
    }
    if (consumed && n.children.empty()) consumed_by_leaf = true;
    if (n.times > 0) {
      if (consumed) ns.count = raw ? ns.count + 1 : 0;
      else if (!raw) ns.count = 0;
      raw = raw && ns.count >= n.times;
    }
    if (!raw) {
      ns.since = kNever;
      return false;
    }
    if (ns.since == kNever) ns.since = t;
    if (n.hold.count() > 0 && t - ns.since < n.hold.count()) {
      next = std::min(next, ns.since + n.hold.count());
      return false;
    }
    return true;
  }

  // Records the input a state's intents cite as evidence: the last one a condition used.
  void remember(State& st, int64_t t, const Input* in) {
    {
      st.last.t = t;
      if (in->event) {
        st.last.event = {{"camera", in->event->camera}, {"zone", in->event->zone},
                         {"kind", to_string(in->event->kind)}, {"object", in->event->object},
                         {"track", in->event->track}, {"ts", format_rfc3339(in->event->ts)}};
        if (in->event->stationary.count() > 0)
          st.last.event["stationary_s"] = static_cast<double>(in->event->stationary.count()) / 1000.0;
        if (!in->event->evidence.is_null()) st.last.event["evidence"] = in->event->evidence;
        st.last.location = in->event->location;
      } else {
        st.last.device = in->device;
        st.last.type = in->type;
        st.last.value = in->value;
        st.last.location.reset();  // the device's, looked up when an intent is made
      }
    }
  }

  void evaluate(uint32_t si, int64_t t, const Input* in) {
    ++stats.evaluations;
    State& st = states[si];
    const uint32_t ri = st.rule;
    const Rule& r = rules.rules[ri];
    consumed_by_leaf = false;
    int64_t next = kInf;
    const bool holds = eval(r, ri, st, r.when, t, in, next);
    const bool clear_holds = r.clear ? eval(r, ri, st, *r.clear, t, in, next) : !holds;
    int best = -1;
    for (size_t k = 0; k < r.escalations.size(); ++k)
      if (eval(r, ri, st, r.escalations[k].when, t, in, next)) best = static_cast<int>(k);
    if (in && consumed_by_leaf) remember(st, t, in);
    bool may_clear = clear_holds;
    if (st.await_input) {
      if (in && consumed_by_leaf) st.await_input = false;
      else may_clear = false;
    }
    if (!st.open) {
      st.clear_since = kNever;
      if (holds) {
        if (st.cooldown_until == kNever || t >= st.cooldown_until) {
          st.open = true;
          st.opened_at = t;
          const int64_t since = node_pool[st.node_base + r.when].since;
          st.first_seen = since == kNever ? t : since;
          st.episode = fmt::format("{}.{}.{}", r.id, subjects[st.subject], compact_time(t));
          st.level = static_cast<int8_t>(best);
          st.priority = best >= 0 ? r.escalations[static_cast<size_t>(best)].priority : r.priority;
          emit(st, IntentKind::kOpen, t, in == nullptr);
        } else {
          next = std::min(next, st.cooldown_until);
        }
      }
    } else {
      if (may_clear) {
        if (st.clear_since == kNever) st.clear_since = t;
        if (t - st.clear_since >= r.clear_after.count()) {
          emit(st, IntentKind::kClear, t, in == nullptr);
          st.open = false;
          st.level = -1;
          st.priority = r.priority;
          st.cooldown_until = r.cooldown.count() > 0 ? t + r.cooldown.count() : kNever;
          st.clear_since = kNever;
          st.episode.clear();
          if (r.cooldown.count() > 0) next = std::min(next, st.cooldown_until);
        } else {
          next = std::min(next, st.clear_since + r.clear_after.count());
        }
      } else {
        st.clear_since = kNever;
      }
      if (st.open && best > st.level) {
        st.level = static_cast<int8_t>(best);
        st.priority = r.escalations[static_cast<size_t>(best)].priority;
        emit(st, IntentKind::kUpdate, t, in == nullptr);
      }
    }
    if (next != kInf && next < st.heap_at) {
      st.heap_at = next;
      timers.push({next, si});
    }
  }

  std::string describe(const State& st, const Rule& r, IntentKind kind) const {
    const Category* cat = catalog.find(r.category);
    std::string where = subjects[st.subject];
    std::string device, type, value;
    if (st.last.device >= 0) {
      const DeviceInfo& d = devices[static_cast<size_t>(st.last.device)];
      device = d.id;
      if (!d.description.empty()) where = fmt::format("{} ({})", d.description, d.id);
      type = types[static_cast<size_t>(st.last.type)];
      value = format_value(st.last.value);
    }
    const std::string_view tmpl = !r.description.empty() ? std::string_view(r.description)
                                  : type.empty() ? std::string_view("{category_zh} {category_en}: {rule} at {where}")
                                                 : std::string_view("{category_zh} {category_en}: {rule} at {where}, {type} {value}");
    auto variable = [&](std::string_view name) -> std::optional<std::string_view> {
      if (name == "rule") return r.id;
      if (name == "subject") return subjects[st.subject];
      if (name == "where") return where;
      if (name == "device") return device;
      if (name == "type") return type;
      if (name == "value") return value;
      if (name == "priority") return to_string(st.priority);
      if (name == "category") return r.category;
      if (name == "category_zh") return cat ? std::string_view(cat->name.zh) : std::string_view();
      if (name == "category_en") return cat ? std::string_view(cat->name.en) : std::string_view();
      return std::nullopt;
    };
    // One pass over the template; unknown {names} stay as written.
    std::string text;
    text.reserve(tmpl.size() + 32);
    for (size_t pos = 0; pos < tmpl.size();) {
      const size_t open = tmpl.find('{', pos);
      const size_t close = open == std::string_view::npos ? open : tmpl.find('}', open);
      if (close == std::string_view::npos) {
        text.append(tmpl.substr(pos));
        break;
      }
      text.append(tmpl.substr(pos, open - pos));
      if (auto v = variable(tmpl.substr(open + 1, close - open - 1))) text.append(*v);
      else text.append(tmpl.substr(open, close - open + 1));
      pos = close + 1;
    }
    if (kind == IntentKind::kClear) return "cleared: " + text;
    if (kind == IntentKind::kUpdate) return fmt::format("escalated to {}: {}", to_string(st.priority), text);
    return text;
  }

  void emit(const State& st, IntentKind kind, int64_t t, bool by_timer) {
    const Rule& r = rules.rules[st.rule];
    Intent i;
    i.kind = kind;
    i.id = st.episode;
    i.rule = r.id;
    i.category = r.category;
    i.subject = subjects[st.subject];
    i.at = ts(t);
    i.first_seen = ts(st.first_seen);
    i.priority = st.priority;
    i.description = describe(st, r, kind);
    i.location = st.last.device >= 0 ? devices[static_cast<size_t>(st.last.device)].location
                                     : st.last.location;
    json evidence = {{"trigger", by_timer ? "timer" : "input"}};
    if (st.last.device < 0 && st.last.event.is_null() && st.home >= 0) {
      // Nothing has come since the start (a device dead from the beginning): its own place.
      const DeviceInfo& home = devices[static_cast<size_t>(st.home)];
      i.location = home.location;
      if (r.subject == SubjectKind::kDevice) i.device = home.id;
      evidence["no_input_since"] = format_rfc3339(ts(st.created));
    }
    if (st.last.device >= 0) {
      i.device = devices[static_cast<size_t>(st.last.device)].id;
      evidence["readings"] = json::array({{{"ts", format_rfc3339(ts(st.last.t))},
                                           {"device_id", i.device},
                                           {"type", types[static_cast<size_t>(st.last.type)]},
                                           {"value", st.last.value}}});
    } else if (!st.last.event.is_null()) {
      evidence["events"] = json::array({st.last.event});
    }
    i.evidence = std::move(evidence);
    if (kind == IntentKind::kOpen) ++stats.opened;
    else if (kind == IntentKind::kUpdate) ++stats.updated;
    else ++stats.cleared;
    out->push_back(std::move(i));
  }

  // ---- inputs and timers ------------------------------------------------------------------------

  void apply(const Pending& p) {
    ++stats.applied;
    Input in{.t = p.t, .seq = p.seq, .device = p.device, .type = p.type, .value = p.value};
    if (p.device < 0) {  // zone event
      auto it = pending_events.find(p.seq);
      if (it == pending_events.end()) return;
      ZoneEvent e = std::move(it->second);
      pending_events.erase(it);
      in.event = &e;
      Route& rt = zone_route(e.camera + ":" + e.zone, p.t);
      for (uint32_t si : rt.states) evaluate(si, p.t, &in);
      return;
    }
    Route& rt = route(p.device, p.type, p.t);
    if (p.t == rt.last_applied) {  // a duplicate that was still waiting when its twin arrived
      ++stats.duplicates;
      --stats.accepted;
      --stats.applied;
      return;
    }
    rt.last_applied = std::max(rt.last_applied, p.t);
    for (uint32_t si : rt.states) evaluate(si, p.t, &in);
  }

  void process(int64_t wm) {
    for (;;) {
      const int64_t t_in = pending.empty() ? kInf : pending.top().t;
      const int64_t t_tm = timers.empty() ? kInf : timers.top().t;
      const int64_t t = std::min(t_in, t_tm);
      if (t == kInf || t > wm) break;
      if (t_in <= t_tm) {
        Pending p = pending.top();
        pending.pop();
        apply(p);
      } else {
        Timer tm = timers.top();
        timers.pop();
        State& st = states[tm.state];
        if (st.heap_at != tm.t) continue;  // superseded by an earlier timer
        st.heap_at = kInf;
        ++stats.timers;
        evaluate(tm.state, tm.t, nullptr);
      }
    }
    watermark = std::max(watermark, wm);
  }

  // Subjects known now (registered devices, named zones) of rules with no_data conditions start
  // their no-data clocks at `t` (states that exist already keep theirs).
  void seed_no_data(int64_t t) {
    for (uint32_t ri = 0; ri < rules.rules.size(); ++ri) {
      const Rule& r = rules.rules[ri];
      const bool no_data = std::any_of(r.nodes.begin(), r.nodes.end(),
                                       [](const Node& n) { return n.kind == NodeKind::kNoData; });
      if (!no_data) continue;
      if (r.input.zone_events) {
        for (const std::string& z : r.input.zones)
          if (z.back() != '*') zone_route(z, t);
      } else {
        for (int32_t d = 0; d < static_cast<int32_t>(devices.size()); ++d) {
          const auto& sends = devices[static_cast<size_t>(d)].types;
          for (int32_t type : rule_types[ri])
            if (sends.empty() || contains(sends, types[static_cast<size_t>(type)])) route(d, type, t);
        }
      }
    }
  }

  // Re-evaluates every state with timers at the watermark on the next advance, which queues each
  // one's own next due time (used after start() and restore()).
  void queue_timers_at_watermark() {
    if (watermark == kNever) return;
    for (uint32_t si = 0; si < states.size(); ++si) {
      State& st = states[si];
      if (!rules.rules[st.rule].has_timers) continue;
      st.heap_at = watermark;
      timers.push({watermark, si});
    }
  }

  bool from_future(int64_t t, int64_t now) {
    if (t <= now + options.max_future.count()) return false;
    ++stats.future;
    return true;
  }
  // Behind the watermark. An input stamped exactly at it is on time (several devices reporting
  // on one instant, `lateness: 0s`): it is applied at the next advance, after that instant's
  // timers, the one place where equal times do not put inputs first.
  bool too_late(int64_t t) {
    if (t >= watermark) return false;
    ++stats.late;
    return true;
  }
};

Engine::Engine(RuleSet rules, std::vector<DeviceInfo> devices, const Catalog& catalog,
               EngineOptions options)
    : impl_(std::make_unique<Impl>(std::move(rules), std::move(devices), catalog, options)) {}

Engine::~Engine() = default;

void Engine::start(Timestamp now) {
  Impl& m = *impl_;
  const int64_t t = ms(now);
  // Nothing is processed yet: an input stamped exactly `now - lateness` is still on time.
  m.watermark = t - m.rules.lateness.count() - 1;
  m.seed_no_data(t);
  m.queue_timers_at_watermark();
}

Offer Engine::offer(const Reading& reading, Timestamp now) {
  Impl& m = *impl_;
  auto dev = m.device_index.find(reading.device_id);
  int32_t device = -1;
  if (dev == m.device_index.end()) {
    if (!m.options.accept_unknown_devices) {
      ++m.stats.unknown_device;
      return Offer::kUnknownDevice;
    }
    device = m.add_device({.id = reading.device_id});
  } else {
    device = dev->second;
  }
  auto ty = m.type_index.find(reading.type);
  if (ty == m.type_index.end()) {
    ++m.stats.unused;
    return Offer::kUnused;
  }
  const int64_t t = ms(reading.ts);
  if (m.from_future(t, ms(now))) return Offer::kFuture;
  Route& rt = m.route(device, ty->second, std::max(t, m.watermark));
  if (rt.states.empty()) {
    ++m.stats.unused;
    return Offer::kUnused;
  }
  // Duplicates: the same timestamp as the newest one accepted (an immediate re-delivery) or as
  // the newest applied (a re-send after it was evaluated) are refused as such; a duplicate of an
  // older reading still waiting in the buffer is dropped when it is applied.
  if (t == rt.last_applied || t == rt.last_offered) {
    ++m.stats.duplicates;
    return Offer::kDuplicate;
  }
  if (m.too_late(t)) return Offer::kLate;  // also covers anything older than the last applied
  rt.last_offered = std::max(rt.last_offered, t);
  m.pending.push({t, m.seq++, device, ty->second, reading.value});
  ++m.stats.accepted;
  return Offer::kAccepted;
}

Offer Engine::offer(const ZoneEvent& event, Timestamp now) {
  Impl& m = *impl_;
  const int64_t t = ms(event.ts);
  if (m.from_future(t, ms(now))) return Offer::kFuture;
  if (m.too_late(t)) return Offer::kLate;
  if (m.zone_route(event.camera + ":" + event.zone, t).states.empty()) {
    ++m.stats.unused;
    return Offer::kUnused;
  }
  const uint64_t seq = m.seq++;
  m.pending_events.emplace(seq, event);
  m.pending.push({t, seq, -1, -1, 0});
  ++m.stats.accepted;
  return Offer::kAccepted;
}

std::vector<Intent> Engine::advance(Timestamp now) {
  return advance_to(now - impl_->rules.lateness);
}

std::vector<Intent> Engine::advance_to(Timestamp watermark) {
  std::vector<Intent> out;
  impl_->out = &out;
  impl_->process(ms(watermark));
  impl_->out = nullptr;
  return out;
}

Timestamp Engine::watermark() const { return ts(impl_->watermark); }
const RuleSet& Engine::rules() const { return impl_->rules; }

EngineStats Engine::stats() const {
  EngineStats s = impl_->stats;
  s.states = impl_->states.size();
  s.pending = impl_->pending.size();
  s.open_episodes = static_cast<size_t>(std::count_if(
      impl_->states.begin(), impl_->states.end(), [](const State& st) { return st.open; }));
  return s;
}

// ---- snapshot / restore ---------------------------------------------------------------------------

namespace {

json opt_time(int64_t t) { return t == kNever ? json(nullptr) : json(t); }
int64_t read_time(const json& j) { return j.is_null() ? kNever : j.get<int64_t>(); }

}  // namespace

json Engine::snapshot() const {
  const Impl& m = *impl_;
  json states = json::array();
  for (const State& st : m.states) {
    const Rule& r = m.rules.rules[st.rule];
    json nodes = json::array();
    for (size_t k = 0; k < r.nodes.size(); ++k) {
      const NodeState& ns = m.node_pool[st.node_base + k];
      nodes.push_back({opt_time(ns.since), opt_time(ns.last), ns.count, ns.latch});
    }
    json buffers = json::array();
    for (size_t k = 0; k < r.buffers; ++k) {
      const Buffer& b = m.buffer_pool[st.buffer_base + k];
      json samples = json::array();
      for (size_t i = b.head; i < b.samples.size(); ++i) samples.push_back({b.samples[i].t, b.samples[i].v});
      json tracks = json::array();
      for (const Track& tr : b.tracks)
        tracks.push_back({tr.id, tr.object, opt_time(tr.stationary_since), opt_time(tr.last)});
      buffers.push_back({{"samples", samples}, {"tracks", tracks}});
    }
    json last = {{"t", opt_time(st.last.t)}, {"value", st.last.value}};
    if (st.last.device >= 0) {
      last["device"] = m.devices[static_cast<size_t>(st.last.device)].id;
      last["type"] = m.types[static_cast<size_t>(st.last.type)];
    }
    if (!st.last.event.is_null()) last["event"] = st.last.event;
    if (st.last.location)
      last["location"] = {st.last.location->position.lon, st.last.location->position.lat,
                          st.last.location->accuracy_m ? json(*st.last.location->accuracy_m) : json(nullptr)};
    states.push_back({{"rule", r.id},
                      {"rule_hash", r.source_text_hash},
                      {"subject", m.subjects[st.subject]},
                      {"open", st.open},
                      {"await_input", st.await_input},
                      {"episode", st.episode},
                      {"level", st.level},
                      {"priority", to_string(st.priority)},
                      {"created", st.created},
                      {"opened_at", opt_time(st.opened_at)},
                      {"first_seen", opt_time(st.first_seen)},
                      {"cooldown_until", opt_time(st.cooldown_until)},
                      {"clear_since", opt_time(st.clear_since)},
                      {"nodes", nodes},
                      {"buffers", buffers},
                      {"last", last}});
  }
  json pending = json::array();
  auto copy = m.pending;
  while (!copy.empty()) {
    const Pending p = copy.top();
    copy.pop();
    if (p.device >= 0) {
      pending.push_back({{"t", p.t},
                         {"device", m.devices[static_cast<size_t>(p.device)].id},
                         {"type", m.types[static_cast<size_t>(p.type)]},
                         {"value", p.value}});
    } else if (auto it = m.pending_events.find(p.seq); it != m.pending_events.end()) {
      const ZoneEvent& e = it->second;
      pending.push_back({{"t", p.t},
                         {"camera", e.camera},
                         {"zone", e.zone},
                         {"kind", to_string(e.kind)},
                         {"object", e.object},
                         {"track", e.track},
                         {"stationary_ms", e.stationary.count()},
                         {"evidence", e.evidence}});
      if (e.location)
        pending.back()["location"] = {e.location->position.lon, e.location->position.lat,
                                      e.location->accuracy_m ? json(*e.location->accuracy_m) : json(nullptr)};
    }
  }
  json applied = json::array();
  for (size_t i = 0; i < m.routes.size(); ++i)
    if (m.routes[i].last_applied != kNever)
      applied.push_back({m.devices[static_cast<size_t>(m.route_owner[i].first)].id,
                         m.types[static_cast<size_t>(m.route_owner[i].second)], m.routes[i].last_applied});
  return {{"version", 1}, {"watermark", opt_time(m.watermark)}, {"states", states},
          {"pending", pending}, {"applied", applied}};
}

namespace {

OrderLocation location_of(const json& l) {
  OrderLocation loc;
  loc.position = {.lon = l.at(0).get<double>(), .lat = l.at(1).get<double>()};
  if (!l.at(2).is_null()) loc.accuracy_m = l.at(2).get<double>();
  return loc;
}

}  // namespace

Result<std::vector<std::string>> Engine::restore(const json& snap) {
  std::vector<std::string> warnings;
  // Restored into a fresh engine and swapped in only when all of it could be read: a broken
  // snapshot leaves this engine as it was.
  const Impl& old = *impl_;
  auto fresh = std::make_unique<Impl>(old.rules, old.devices, old.catalog, old.options);
  Impl& m = *fresh;
  try {
    if (!snap.is_object() || !snap.contains("version") || snap.at("version") != 1)
      return fail(ErrorCode::kParse, "rule state: not a version 1 snapshot");
    std::unordered_map<std::string, uint32_t> rule_index;
    for (uint32_t i = 0; i < m.rules.rules.size(); ++i) rule_index.emplace(m.rules.rules[i].id, i);
    m.watermark = read_time(snap.at("watermark"));
    for (const json& js : snap.at("states")) {
      const std::string rule_id = js.at("rule").get<std::string>();
      auto ri = rule_index.find(rule_id);
      const bool open = js.at("open").get<bool>();
      if (ri == rule_index.end()) {
        if (open)
          warnings.push_back(fmt::format("rule \"{}\" is gone: its open episode {} is left as it is",
                                         rule_id, js.at("episode").get<std::string>()));
        continue;
      }
      const Rule& r = m.rules.rules[ri->second];
      const bool changed = js.at("rule_hash").get<std::string>() != r.source_text_hash;
      const uint32_t si = m.state_for(ri->second, js.at("subject").get<std::string>(), m.watermark);
      State& st = m.states[si];
      st.created = changed ? m.watermark : js.at("created").get<int64_t>();
      st.open = open;
      st.await_input = (js.contains("await_input") && js.at("await_input").get<bool>()) || (changed && open);
      st.episode = js.at("episode").get<std::string>();
      st.opened_at = read_time(js.at("opened_at"));
      st.first_seen = read_time(js.at("first_seen"));
      st.cooldown_until = read_time(js.at("cooldown_until"));
      st.clear_since = changed ? kNever : read_time(js.at("clear_since"));
      st.priority = parse_priority(js.at("priority").get<std::string>()).value_or(r.priority);
      st.level = static_cast<int8_t>(std::min<int64_t>(js.at("level").get<int64_t>(),
                                                       static_cast<int64_t>(r.escalations.size()) - 1));
      const json& last = js.at("last");
      st.last.t = read_time(last.at("t"));
      st.last.value = last.at("value").get<double>();
      if (last.contains("device")) {
        st.last.device = m.add_device({.id = last.at("device").get<std::string>()});
        st.last.type = m.intern_type(last.at("type").get<std::string>());
      }
      if (last.contains("event")) st.last.event = last.at("event");
      if (last.contains("location")) st.last.location = location_of(last.at("location"));
      if (changed) {
        warnings.push_back(fmt::format("rule \"{}\" changed: conditions of subject {} start afresh{}", rule_id,
                                       js.at("subject").get<std::string>(),
                                       open ? " (its open episode stays open until a new input decides)" : ""));
        continue;
      }
      const json& nodes = js.at("nodes");
      for (size_t i = 0; i < nodes.size() && i < r.nodes.size(); ++i) {
        NodeState& ns = m.node_pool[st.node_base + i];
        const json& n = nodes.at(i);
        ns.since = read_time(n.at(0));
        ns.last = read_time(n.at(1));
        ns.count = static_cast<uint32_t>(n.at(2).get<int64_t>());
        ns.latch = n.at(3).get<bool>();
      }
      const json& buffers = js.at("buffers");
      for (size_t i = 0; i < buffers.size() && i < r.buffers; ++i) {
        Buffer& b = m.buffer_pool[st.buffer_base + i];
        b = Buffer{};
        for (const json& smp : buffers.at(i).at("samples"))
          b.samples.push_back({smp.at(0).get<int64_t>(), smp.at(1).get<double>()});
        for (const json& tr : buffers.at(i).at("tracks"))
          b.tracks.push_back({.id = tr.at(0).get<std::string>(), .object = tr.at(1).get<std::string>(),
                              .stationary_since = read_time(tr.at(2)), .last = read_time(tr.at(3))});
      }
    }
    for (const json& a : snap.at("applied")) {
      const int32_t device = m.add_device({.id = a.at(0).get<std::string>()});
      auto ty = m.type_index.find(a.at(1).get<std::string>());
      if (ty == m.type_index.end()) continue;
      Route& rt = m.route(device, ty->second, m.watermark);
      rt.last_applied = std::max(rt.last_applied, a.at(2).get<int64_t>());
    }
    for (const json& p : snap.at("pending")) {
      const int64_t t = p.at("t").get<int64_t>();
      if (p.contains("device")) {
        const int32_t device = m.add_device({.id = p.at("device").get<std::string>()});
        auto ty = m.type_index.find(p.at("type").get<std::string>());
        if (ty == m.type_index.end()) continue;
        Route& rt = m.route(device, ty->second, t);
        if (t == rt.last_offered) continue;
        rt.last_offered = std::max(rt.last_offered, t);
        m.pending.push({t, m.seq++, device, ty->second, p.at("value").get<double>()});
      } else {
        ZoneEvent e;
        e.camera = p.at("camera").get<std::string>();
        e.zone = p.at("zone").get<std::string>();
        e.kind = parse_zone_event_kind(p.at("kind").get<std::string>()).value_or(ZoneEventKind::kEntered);
        e.object = p.at("object").get<std::string>();
        e.track = p.at("track").get<std::string>();
        e.ts = ts(t);
        e.stationary = Duration{p.at("stationary_ms").get<int64_t>()};
        e.evidence = p.value("evidence", json());
        if (p.contains("location")) e.location = location_of(p.at("location"));
        const uint64_t seq = m.seq++;
        m.pending_events.emplace(seq, std::move(e));
        m.pending.push({t, seq, -1, -1, 0});
      }
    }
  } catch (const json::exception& e) {
    return fail(ErrorCode::kParse, fmt::format("rule state: {}", e.what()));
  }
  // Known subjects without a saved state count their silence from the snapshot on.
  if (m.watermark != kNever) m.seed_no_data(m.watermark);
  // A duration half elapsed before the snapshot fires at its original time, not later.
  m.queue_timers_at_watermark();
  impl_ = std::move(fresh);
  return warnings;
}

}  // namespace gridwatch::rules
