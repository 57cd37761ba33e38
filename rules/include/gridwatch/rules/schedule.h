// Weekly time windows in a named time zone ("Monday to Friday 07:00-09:00 Asia/Shanghai"),
// evaluated with the IANA tz database (libcctz over /usr/share/zoneinfo), so daylight-saving
// zones work too. A window whose end is before its start runs past midnight into the next day.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <cctz/time_zone.h>

#include "gridwatch/domain/error.h"
#include "gridwatch/domain/time.h"

namespace gridwatch::rules {

class Schedule {
 public:
  // `days`: bit 0 = Monday ... bit 6 = Sunday (the day the window starts). Minutes of the day,
  // 0-1440; from != to.
  [[nodiscard]] static Result<std::shared_ptr<const Schedule>> create(uint8_t days, int from_minute,
                                                                      int to_minute,
                                                                      const std::string& timezone);
  bool contains(Timestamp t) const;
  // The first instant after `t` at which contains() changes.
  Timestamp next_change(Timestamp t) const;
  const std::string& timezone() const { return zone_name_; }

 private:
  Schedule() = default;
  bool day_set(int weekday) const { return (days_ >> ((weekday % 7 + 7) % 7)) & 1; }
  uint8_t days_ = 0;
  int from_ = 0, to_ = 0;
  std::string zone_name_;
  cctz::time_zone zone_;
};

// "07:30" -> 450; "24:00" -> 1440.
Result<int> parse_time_of_day(std::string_view text);

}  // namespace gridwatch::rules
