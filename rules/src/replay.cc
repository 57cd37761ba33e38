#include "gridwatch/rules/replay.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "gridwatch/domain/csv.h"
#include "gridwatch/domain/text.h"

namespace gridwatch::rules {

Result<Timestamp> parse_iso8601(std::string_view text) {
  std::string s(text);
  if (s.size() > 10 && s[10] == ' ') s[10] = 'T';
  // Keep at most three fraction digits.
  if (size_t dot = s.find('.', 19); dot != std::string::npos && dot == 19) {
    size_t end = dot + 1;
    while (end < s.size() && s[end] >= '0' && s[end] <= '9') ++end;
    if (end - dot - 1 > 3) s.erase(dot + 4, end - dot - 4);
  }
  return parse_rfc3339(s);
}

nlohmann::json intent_json(const Intent& i) {
  return {{"ts", format_rfc3339(i.at)},
          {"event", to_string(i.kind)},
          {"id", i.id},
          {"rule", i.rule},
          {"subject", i.subject},
          {"category", i.category},
          {"priority", to_string(i.priority)},
          {"first_seen", format_rfc3339(i.first_seen)},
          {"device", i.device},
          {"description", i.description}};
}

Result<ReplayStats> replay_csv(std::istream& csv, Engine& engine,
                               const std::function<void(const Intent&)>& on_intent,
                               const std::function<void(size_t, const std::string&)>& on_bad) {
  ReplayStats stats;
  std::string line;
  size_t number = 0;
  if (!std::getline(csv, line)) return fail(ErrorCode::kParse, "readings: empty input, expected a header line");
  ++number;
  if (line.size() >= 3 && line.compare(0, 3, "\xEF\xBB\xBF") == 0) line.erase(0, 3);  // BOM
  const auto header = split_csv_line(line);
  auto column = [&](std::string_view name) -> int {
    auto it = std::find(header.begin(), header.end(), name);
    return it == header.end() ? -1 : static_cast<int>(it - header.begin());
  };
  const int c_ts = column("ts"), c_dev = column("device_id"), c_type = column("type"), c_val = column("value");
  if (c_ts < 0 || c_dev < 0 || c_type < 0 || c_val < 0)
    return fail(ErrorCode::kParse,
                fmt::format("readings: line 1: the header must name ts, device_id, type and value (got \"{}\")", line));
  const size_t needed = static_cast<size_t>(std::max({c_ts, c_dev, c_type, c_val})) + 1;
  std::optional<Timestamp> now;
  auto emit = [&](std::vector<Intent> intents) {
    for (const Intent& i : intents) {
      ++stats.intents;
      on_intent(i);
    }
  };
  while (std::getline(csv, line)) {
    ++number;
    if (line.empty() || line == "\r") continue;
    ++stats.rows;
    auto bad = [&](const std::string& why) {
      ++stats.bad_rows;
      on_bad(number, why);
    };
    const auto f = split_csv_line(line);
    if (f.size() < needed) {
      bad(fmt::format("{} fields, expected at least {}", f.size(), needed));
      continue;
    }
    auto t = parse_iso8601(f[static_cast<size_t>(c_ts)]);
    if (!t) {
      bad(fmt::format("ts: {}", t.error().message));
      continue;
    }
    Reading r{.device_id = f[static_cast<size_t>(c_dev)], .ts = *t, .type = f[static_cast<size_t>(c_type)]};
    if (!is_valid_id(r.device_id)) {
      bad(fmt::format("device_id \"{}\" is not 1-128 characters of A-Z a-z 0-9 . _ : -", r.device_id));
      continue;
    }
    const std::string& v = f[static_cast<size_t>(c_val)];
    const auto value = parse_finite(v);
    if (!value) {
      bad(fmt::format("value \"{}\" is not a number", v));
      continue;
    }
    r.value = *value;
    if (!now) {
      now = r.ts;
      engine.start(r.ts);
    }
    now = std::max(*now, r.ts);
    Offer o = engine.offer(r, *now);
    if (o == Offer::kLate) bad(fmt::format("ts {} is later than the lateness allows behind {}",
                                           format_rfc3339(r.ts), format_rfc3339(*now)));
    emit(engine.advance(*now));
  }
  if (now) emit(engine.advance_to(*now));
  stats.engine = engine.stats();
  return stats;
}

}  // namespace gridwatch::rules
