// Area files: GeoJSON, and echarts 4's compressed maps ("UTF8Encoding": true), as an operator or
// a download gives them.
#include "fuzz_target.h"

#include "gridwatch/geo/areas.h"

GW_FUZZ_TARGET(areas) {
  using namespace gridwatch;
  std::vector<std::string> warnings;
  (void)geo::parse_layer(fuzz::text(data, size), {.level_name = "district"}, &warnings);
  (void)geo::parse_layer(fuzz::text(data, size), {.level_name = "street", .id_property = "code"}, &warnings);
  return 0;
}
