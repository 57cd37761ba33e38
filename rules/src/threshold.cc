#include "gridwatch/rules/threshold.h"

#include <fmt/format.h>

namespace gridwatch::rules {
namespace {

std::string compact_time(Timestamp ts) {
  // 2026-11-23T08:00:00Z -> 20261123T080000Z (milliseconds kept when present: ...T080000.250Z)
  std::string s = format_rfc3339(ts);
  std::string out;
  for (char c : s)
    if (c != '-' && c != ':') out += c;
  return out;
}

}  // namespace

Status validate(const ThresholdRule& rule, const Catalog& catalog) {
  bool name_ok = !rule.name.empty() && rule.name.size() <= 64;
  for (char c : rule.name) name_ok = name_ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_');
  if (!name_ok) return fail(ErrorCode::kInvalidArgument, "rule name must be 1-64 characters of a-z 0-9 _", "rule");
  if (!catalog.find(rule.category))
    return fail(ErrorCode::kInvalidArgument, fmt::format("unknown category \"{}\"", rule.category),
                "category");
  if (rule.open_at == rule.clear_at)
    return fail(ErrorCode::kInvalidArgument,
                "open_at and clear_at must differ (the gap between them stops flapping)", "clear_at");
  return {};
}

ThresholdEngine::ThresholdEngine(std::vector<ThresholdRule> rules) : rules_(std::move(rules)) {}

std::vector<Intent> ThresholdEngine::on_reading(const Reading& reading) {
  std::vector<Intent> out;
  for (size_t i = 0; i < rules_.size(); ++i) {
    const ThresholdRule& rule = rules_[i];
    if (rule.reading_type != reading.type) continue;
    State& st = states_[{i, reading.device_id}];
    if (st.last_ts && reading.ts <= *st.last_ts) continue;  // duplicate or out of order
    st.last_ts = reading.ts;
    bool opens = rule.rising() ? reading.value >= rule.open_at : reading.value <= rule.open_at;
    bool clears = rule.rising() ? reading.value <= rule.clear_at : reading.value >= rule.clear_at;
    if (!st.active && opens) {
      st.active = true;
      st.first_seen = reading.ts;
      st.episode_id = fmt::format("{}.{}.{}", rule.name, reading.device_id, compact_time(reading.ts));
      out.push_back({IntentKind::kOpen, &rule, st.episode_id, st.first_seen, reading});
    } else if (st.active && clears) {
      st.active = false;
      out.push_back({IntentKind::kClear, &rule, st.episode_id, st.first_seen, reading});
    }
  }
  return out;
}

size_t ThresholdEngine::open_episodes() const {
  size_t n = 0;
  for (const auto& [key, st] : states_) n += st.active;
  return n;
}

}  // namespace gridwatch::rules
