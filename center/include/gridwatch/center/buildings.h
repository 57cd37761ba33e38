// The building registry of scan-to-report (一楼一码): every building door carries a QR code with
// its code; the report page looks the code up to fill in the place. A CSV file with the header
// `code,name,address,lon,lat` (WGS-84; UTF-8; more columns are ignored).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gridwatch/domain/error.h"
#include "gridwatch/domain/order.h"

namespace gridwatch::center {

struct Building {
  std::string code;  // what the QR code carries (/report?b=CODE)
  std::string name;
  std::string address;
  LonLat where;
};

// Reads a registry; a row that is not a building (missing field, bad or out-of-range coordinate,
// a code repeated or not a plain name) refuses the whole file, naming its line.
[[nodiscard]] Result<std::vector<Building>> load_buildings(const std::filesystem::path& path);
[[nodiscard]] Result<std::vector<Building>> parse_buildings(std::string_view csv, std::string_view source);

const Building* find_building(const std::vector<Building>& buildings, std::string_view code);

}  // namespace gridwatch::center
