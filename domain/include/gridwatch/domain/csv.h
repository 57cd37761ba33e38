// CSV as exported by spreadsheets and open-data portals: one line's fields, split at commas,
// with "quoted" fields that may hold commas and "" for a quote; a trailing \r is dropped.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace gridwatch {

std::vector<std::string> split_csv_line(std::string_view line);

}  // namespace gridwatch
