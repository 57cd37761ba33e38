// Running rules over recorded readings as fast as possible: last month's data through a new rule
// before it is deployed. Input is CSV with a header naming the columns ts, device_id, type and
// value (any order, other columns ignored); ts is ISO-8601 / RFC 3339 ("2023-04-12T19:27:48Z",
// "2023-04-12 19:27:48.494000+00:00"). The clock follows the data: now is the newest timestamp
// read so far, so rows out of order by up to the rule set's lateness are evaluated in order.
// Bad rows are reported with their line number and skipped.
#pragma once

#include <functional>
#include <istream>
#include <string>

#include <nlohmann/json.hpp>

#include "gridwatch/domain/error.h"
#include "gridwatch/rules/engine.h"

namespace gridwatch::rules {

struct ReplayStats {
  size_t rows = 0;       // data rows read
  size_t bad_rows = 0;   // skipped with a message
  size_t intents = 0;
  EngineStats engine;
};

// Feeds the CSV through `engine` (which should accept unknown devices). Fails only when the
// header is unusable; bad rows go to `on_bad(line_number, message)`.
[[nodiscard]] Result<ReplayStats> replay_csv(std::istream& csv, Engine& engine,
                                             const std::function<void(const Intent&)>& on_intent,
                                             const std::function<void(size_t, const std::string&)>& on_bad);

// One intent as the JSON line `gridwatch rules replay` writes: ts, event, id, rule, subject,
// category, priority, first_seen, device, description.
nlohmann::json intent_json(const Intent& intent);

// ISO-8601 timestamps as found in exported data: RFC 3339, or with a space for the T and more
// than millisecond digits (truncated to milliseconds).
[[nodiscard]] Result<Timestamp> parse_iso8601(std::string_view text);

}  // namespace gridwatch::rules
