// Text checks shared by every intake (MQTT orders, Open311 forms, CSV imports): what PostgreSQL
// and XML will accept, and lengths in the units users count.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace gridwatch {

// Well-formed UTF-8: no overlong forms, surrogates or values above U+10FFFF.
bool is_valid_utf8(std::string_view s);
// Code points of valid UTF-8 (what a "4,000 characters" limit counts).
size_t utf8_length(std::string_view s);
// True when `s` holds a C0 control character other than tab, LF and CR (NUL included): text that
// PostgreSQL (NUL) or XML 1.0 (the others) cannot carry.
bool has_control_chars(std::string_view s);
// `s` without the spaces, tabs and carriage returns around it (a CSV field, a line of a file).
std::string_view trim_blanks(std::string_view s);
// `s`, all of it, as a finite number (no spaces, no NaN or infinity); nullopt otherwise.
std::optional<double> parse_finite(std::string_view s);
// `s`, all of it, as a whole number from `lo` to `hi`; nullopt otherwise.
std::optional<int> parse_int_in(std::string_view s, int lo, int hi);
// `s` for an error message: cut to at most `max_bytes` on a character boundary, and "(not UTF-8)"
// when it is not valid UTF-8.
std::string printable(std::string_view s, size_t max_bytes = 60);
// Text for XML or HTML: & < > " ' escaped, C0 controls other than tab, LF and CR dropped.
std::string xml_escape(std::string_view s);

}  // namespace gridwatch
