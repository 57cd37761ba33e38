// gridwatch geo assign: batch point-in-area assignment for people and scripts.
#include <iostream>
#include <string>

#include <fmt/format.h>

#include "commands.h"
#include "gridwatch/domain/text.h"
#include "gridwatch/geo/areas.h"

namespace gridwatch::app {
int run_geo_assign(const GeoAssignOptions& options) {
  auto crs = geo::parse_crs(options.crs);
  if (!crs) {
    fmt::print(stderr, "error: --crs must be wgs84, gcj02 or bd09\n");
    return kExitUsage;
  }
  std::vector<std::string> warnings;
  auto layer = geo::load_layer(options.areas,
                               {.id_property = options.id_property, .crs = *crs}, &warnings);
  for (const auto& w : warnings) fmt::print(stderr, "warning: {}\n", w);
  if (!layer) {
    fmt::print(stderr, "error: {}\n", layer.error().message);
    return kExitUsage;
  }
  auto index = geo::AreaIndex::build({std::move(*layer)});
  if (!index) {
    fmt::print(stderr, "error: {}\n", index.error().message);
    return kExitUsage;
  }
  std::ios::sync_with_stdio(false);
  std::string line, out;
  size_t line_no = 0, bad = 0, assigned = 0, outside = 0;
  while (std::getline(std::cin, line)) {
    ++line_no;
    std::string_view text = trim_blanks(line);
    if (text.empty()) continue;
    auto comma = text.find(',');
    std::string_view a = comma == std::string_view::npos ? text : text.substr(0, comma);
    std::string_view b = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    if (line_no == 1 && trim_blanks(a) == "lon" && trim_blanks(b) == "lat") {
      out += "lon,lat,area_id\n";
      continue;
    }
    const auto lon_v = parse_finite(trim_blanks(a)), lat_v = parse_finite(trim_blanks(b));
    const double lon = lon_v.value_or(0), lat = lat_v.value_or(0);
    std::string why;
    if (comma == std::string_view::npos || b.find(',') != std::string_view::npos)
      why = "expected two fields: lon,lat";
    else if (!lon_v)
      why = fmt::format("lon \"{}\" is not a number", trim_blanks(a));
    else if (!lat_v)
      why = fmt::format("lat \"{}\" is not a number", trim_blanks(b));
    else if (lon < -180 || lon > 180)
      why = fmt::format("lon {} is out of range [-180, 180]", lon);
    else if (lat < -90 || lat > 90)
      why = fmt::format("lat {} is out of range [-90, 90]", lat);
    if (!why.empty()) {
      ++bad;
      fmt::print(stderr, "line {}: {}; skipped\n", line_no, why);
      continue;
    }
    const geo::Area* area = (*index)->locate(LonLat{.lon = lon, .lat = lat});
    area ? ++assigned : ++outside;
    out += fmt::format("{},{},{}\n", trim_blanks(a), trim_blanks(b), area ? area->code : "");
    if (out.size() > (1 << 16)) {
      std::cout << out;
      out.clear();
    }
  }
  std::cout << out << std::flush;
  fmt::print(stderr, "{} points: {} in an area, {} outside, {} bad lines skipped\n",
             assigned + outside, assigned, outside, bad);
  return kExitOk;
}

}  // namespace gridwatch::app
