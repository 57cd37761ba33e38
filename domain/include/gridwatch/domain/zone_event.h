// What a camera says of a tracked object in one of its zones: it entered, has stood still for a
// while, or left. vision/ produces these kinds and rules/ consumes them: one vocabulary for both.
#pragma once

#include <optional>
#include <string_view>

namespace gridwatch {

enum class ZoneEventKind { kEntered, kStationary, kLeft };
std::string_view to_string(ZoneEventKind k);  // "entered", "stationary", "left"
std::optional<ZoneEventKind> parse_zone_event_kind(std::string_view s);

}  // namespace gridwatch
