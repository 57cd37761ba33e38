#include "gridwatch/domain/zone_event.h"

namespace gridwatch {

std::string_view to_string(ZoneEventKind k) {
  switch (k) {
    case ZoneEventKind::kEntered: return "entered";
    case ZoneEventKind::kStationary: return "stationary";
    case ZoneEventKind::kLeft: return "left";
  }
  return "?";
}

std::optional<ZoneEventKind> parse_zone_event_kind(std::string_view s) {
  for (ZoneEventKind k : {ZoneEventKind::kEntered, ZoneEventKind::kStationary, ZoneEventKind::kLeft})
    if (to_string(k) == s) return k;
  return std::nullopt;
}

}  // namespace gridwatch
