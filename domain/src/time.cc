#include "gridwatch/domain/time.h"

#include <charconv>
#include <cstdint>

#include <fmt/format.h>

namespace gridwatch {
namespace {

// Reads exactly n digits at text[pos..pos+n) into out.
bool digits(std::string_view text, size_t pos, size_t n, int& out) {
  if (pos + n > text.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    char c = text[i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  out = v;
  return true;
}

}  // namespace

Result<Timestamp> parse_rfc3339(std::string_view text) {
  using namespace std::chrono;
  auto bad = [&](std::string_view why) {
    return fail(ErrorCode::kParse, fmt::format("not an RFC 3339 timestamp ({}): \"{}\"", why,
                                               text.substr(0, 64)));
  };
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  if (!digits(text, 0, 4, y) || text.size() < 19 || text[4] != '-' || !digits(text, 5, 2, mo) ||
      text[7] != '-' || !digits(text, 8, 2, d))
    return bad("date must be YYYY-MM-DD");
  if (text[10] != 'T' && text[10] != 't' && text[10] != ' ') return bad("missing 'T'");
  if (!digits(text, 11, 2, h) || text[13] != ':' || !digits(text, 14, 2, mi) || text[16] != ':' ||
      !digits(text, 17, 2, s))
    return bad("time must be hh:mm:ss");
  year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) return bad("no such date");
  if (h > 23 || mi > 59 || s > 60) return bad("time out of range");
  size_t pos = 19;
  int64_t millis = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    size_t start = pos;
    int64_t scale = 100;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      millis += (text[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start) return bad("empty fraction");
  }
  if (pos >= text.size()) return bad("missing zone ('Z' or +hh:mm)");
  int offset_min = 0;
  char z = text[pos];
  if (z == 'Z' || z == 'z') {
    ++pos;
  } else if (z == '+' || z == '-') {
    int oh = 0, om = 0;
    if (!digits(text, pos + 1, 2, oh) || pos + 3 >= text.size() || text[pos + 3] != ':' ||
        !digits(text, pos + 4, 2, om) || oh > 23 || om > 59)
      return bad("zone offset must be +hh:mm");
    offset_min = (oh * 60 + om) * (z == '-' ? -1 : 1);
    pos += 6;
  } else {
    return bad("missing zone ('Z' or +hh:mm)");
  }
  if (pos != text.size()) return bad("trailing characters");
  auto tp = sys_days{ymd} + hours{h} + minutes{mi} + seconds{s} + milliseconds{millis} -
            minutes{offset_min};
  return time_point_cast<milliseconds>(tp);
}

std::string format_rfc3339(Timestamp ts) {
  using namespace std::chrono;
  auto day_point = floor<days>(ts);
  year_month_day ymd{day_point};
  hh_mm_ss hms{ts - day_point};
  auto ms = hms.subseconds().count();
  if (ms == 0)
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", static_cast<int>(ymd.year()),
                       static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                       hms.hours().count(), hms.minutes().count(), hms.seconds().count());
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                     hms.hours().count(), hms.minutes().count(), hms.seconds().count(), ms);
}

Result<Duration> parse_duration(std::string_view text) {
  int64_t n = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  std::string_view unit(ptr, static_cast<size_t>(text.data() + text.size() - ptr));
  if (ec != std::errc{} || ptr == text.data() || n < 0)
    return fail(ErrorCode::kParse,
                fmt::format("not a duration: \"{}\" (write e.g. 500ms, 45s, 30m, 2h, 7d)", text));
  using namespace std::chrono;
  if (unit == "ms") return Duration{n};
  if (unit == "s") return duration_cast<Duration>(seconds{n});
  if (unit == "m") return duration_cast<Duration>(minutes{n});
  if (unit == "h") return duration_cast<Duration>(hours{n});
  if (unit == "d") return duration_cast<Duration>(days{n});
  return fail(ErrorCode::kParse,
              fmt::format("not a duration: \"{}\" (unit must be ms, s, m, h or d)", text));
}

std::string format_duration(Duration d) {
  auto ms = d.count();
  if (ms != 0 && ms % 86'400'000 == 0) return fmt::format("{}d", ms / 86'400'000);
  if (ms != 0 && ms % 3'600'000 == 0) return fmt::format("{}h", ms / 3'600'000);
  if (ms != 0 && ms % 60'000 == 0) return fmt::format("{}m", ms / 60'000);
  if (ms % 1000 == 0) return fmt::format("{}s", ms / 1000);
  return fmt::format("{}ms", ms);
}

Timestamp now_utc() {
  return std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
}

}  // namespace gridwatch
