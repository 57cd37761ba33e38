// Time points and durations used across gridwatch.
//
// Timestamps are UTC with millisecond resolution. The wire form is RFC 3339 ("2026-11-23T08:00:00Z",
// optional fraction, "Z" or a numeric offset); output always uses "Z". Durations in config files are
// written as a number and a unit: "500ms", "45s", "30m", "2h", "7d". All functions are thread-safe.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "gridwatch/domain/error.h"

namespace gridwatch {

using Timestamp = std::chrono::sys_time<std::chrono::milliseconds>;
using Duration = std::chrono::milliseconds;

// Parses RFC 3339. Fails with kParse naming what is malformed.
Result<Timestamp> parse_rfc3339(std::string_view text);

// Formats as RFC 3339 in UTC; milliseconds are written only when non-zero.
std::string format_rfc3339(Timestamp ts);

// Parses "<number><unit>" with unit one of ms, s, m, h, d. Fails with kParse.
Result<Duration> parse_duration(std::string_view text);

// Formats a duration the way parse_duration reads it, in the largest exact unit.
std::string format_duration(Duration d);

// Wall clock, rounded down to milliseconds.
Timestamp now_utc();

}  // namespace gridwatch
