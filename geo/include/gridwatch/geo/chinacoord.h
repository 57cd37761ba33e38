// Chinese map coordinate systems.
//
// GPS gives WGS-84. Chinese web maps (AMap, Tencent) publish GCJ-02, an obfuscated datum offset
// from WGS-84 by a smooth, position-dependent shift (about 500-600 m in Beijing); Baidu adds a
// second transform on top, BD-09. The forward transforms are the published formulas; the inverses
// have no closed form and are solved by fixed-point iteration to below 1e-9 degrees (~0.1 mm),
// so a round trip is exact to far better than the 0.5 m required. Outside mainland China (a
// rectangle, lon 72.004-137.8347, lat 0.8293-55.8271, as the formulas' users conventionally
// take it) GCJ-02 equals WGS-84.
//
// The three systems have their own types so that a GCJ-02 point cannot be stored as WGS-84 by
// mistake. All functions are pure and thread-safe.
#pragma once

#include <optional>
#include <string_view>

#include "gridwatch/domain/order.h"

namespace gridwatch::geo {

struct Wgs84 {
  double lon = 0;
  double lat = 0;
};
struct Gcj02 {
  double lon = 0;
  double lat = 0;
};
struct Bd09 {
  double lon = 0;
  double lat = 0;
};

bool outside_china(double lon, double lat);

Gcj02 to_gcj02(Wgs84 p);
Wgs84 to_wgs84(Gcj02 p);
Bd09 to_bd09(Gcj02 p);
Gcj02 to_gcj02(Bd09 p);
inline Bd09 to_bd09(Wgs84 p) { return to_bd09(to_gcj02(p)); }
inline Wgs84 to_wgs84(Bd09 p) { return to_wgs84(to_gcj02(p)); }

// The coordinate system an input file declares.
enum class Crs { kWgs84, kGcj02, kBd09 };
std::optional<Crs> parse_crs(std::string_view name);  // "wgs84", "gcj02", "bd09"
std::string_view to_string(Crs crs);

// Converts a point given in `crs` to WGS-84.
LonLat to_wgs84(LonLat p, Crs crs);

}  // namespace gridwatch::geo
