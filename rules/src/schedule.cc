#include "gridwatch/rules/schedule.h"

#include <optional>

#include <cctz/civil_time.h>
#include <fmt/format.h>

namespace gridwatch::rules {
namespace {

using Seconds = std::chrono::sys_seconds;

int weekday_index(const cctz::civil_day& d) {
  switch (cctz::get_weekday(d)) {
    case cctz::weekday::monday: return 0;
    case cctz::weekday::tuesday: return 1;
    case cctz::weekday::wednesday: return 2;
    case cctz::weekday::thursday: return 3;
    case cctz::weekday::friday: return 4;
    case cctz::weekday::saturday: return 5;
    case cctz::weekday::sunday: return 6;
  }
  return 0;
}

}  // namespace

Result<int> parse_time_of_day(std::string_view text) {
  int h = 0, m = 0;
  if (text.size() != 5 || text[2] != ':') return fail(ErrorCode::kInvalidArgument, "expected HH:MM");
  for (size_t i : {0u, 1u, 3u, 4u})
    if (text[i] < '0' || text[i] > '9') return fail(ErrorCode::kInvalidArgument, "expected HH:MM");
  h = (text[0] - '0') * 10 + (text[1] - '0');
  m = (text[3] - '0') * 10 + (text[4] - '0');
  if (m > 59 || h > 24 || (h == 24 && m != 0))
    return fail(ErrorCode::kInvalidArgument, "expected a time from 00:00 to 24:00");
  return h * 60 + m;
}

Result<std::shared_ptr<const Schedule>> Schedule::create(uint8_t days, int from_minute,
                                                         int to_minute, const std::string& timezone) {
  if ((days & 0x7f) == 0) return fail(ErrorCode::kInvalidArgument, "no days in the schedule", "days");
  if (from_minute < 0 || from_minute > 1440 || to_minute < 0 || to_minute > 1440)
    return fail(ErrorCode::kInvalidArgument, "times of day are 00:00 to 24:00", "from");
  if (from_minute == to_minute || (from_minute == 1440 && to_minute == 0))
    return fail(ErrorCode::kInvalidArgument, "from and to must differ (an empty window)", "to");
  std::shared_ptr<Schedule> s(new Schedule());
  if (!cctz::load_time_zone(timezone, &s->zone_))
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("unknown time zone \"{}\" (an IANA name such as Asia/Shanghai)", timezone),
                "timezone");
  s->days_ = days;
  s->from_ = from_minute;
  s->to_ = to_minute;
  s->zone_name_ = timezone;
  return std::shared_ptr<const Schedule>(std::move(s));
}

bool Schedule::contains(Timestamp t) const {
  const auto secs = std::chrono::time_point_cast<std::chrono::seconds>(t);
  const cctz::civil_second cs = cctz::convert(secs, zone_);
  const cctz::civil_day day(cs);
  const int minute = static_cast<int>(cs.hour()) * 60 + static_cast<int>(cs.minute());
  const int wd = weekday_index(day);
  if (from_ < to_) return day_set(wd) && minute >= from_ && minute < to_;
  // Past midnight: the evening part belongs to today, the morning part to yesterday's window.
  return (day_set(wd) && minute >= from_) || (day_set(wd - 1) && minute < to_);
}

Timestamp Schedule::next_change(Timestamp t) const {
  const bool now_in = contains(t);
  const auto secs = std::chrono::time_point_cast<std::chrono::seconds>(t);
  const cctz::civil_day today(cctz::convert(secs, zone_));
  // Boundaries are at `from` and `to` on some day within the next eight; take the earliest
  // after t where the answer flips (a DST gap maps a boundary to the first instant after it).
  std::optional<Timestamp> best;
  for (int d = -1; d <= 8; ++d) {
    for (int minute : {from_, to_}) {
      const cctz::civil_second cs = cctz::civil_second(today + d) + minute * 60;
      const auto lookup = zone_.lookup(cs);
      Seconds at = lookup.kind == cctz::time_zone::civil_lookup::SKIPPED ? lookup.trans : lookup.pre;
      Timestamp ts = std::chrono::time_point_cast<Duration>(at);
      if (ts <= t || (best && ts >= *best)) continue;
      if (contains(ts) != now_in) best = ts;
    }
  }
  // Every day listed and a window of all day never flips; report a week ahead.
  return best.value_or(t + std::chrono::days{7});
}

}  // namespace gridwatch::rules
