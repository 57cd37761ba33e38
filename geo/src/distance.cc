#include "gridwatch/geo/distance.h"

#include <cmath>
#include <numbers>

namespace gridwatch::geo {

double distance_m(LonLat a, LonLat b) {
  constexpr double kRad = std::numbers::pi / 180.0;
  double dlat = (b.lat - a.lat) * kRad;
  double dlon = (b.lon - a.lon) * kRad;
  double h = std::sin(dlat / 2) * std::sin(dlat / 2) +
             std::cos(a.lat * kRad) * std::cos(b.lat * kRad) * std::sin(dlon / 2) * std::sin(dlon / 2);
  return 2 * kEarthRadiusM * std::asin(std::min(1.0, std::sqrt(h)));
}

bool is_valid_wgs84(LonLat p) {
  return std::isfinite(p.lon) && std::isfinite(p.lat) && p.lon >= -180 && p.lon <= 180 &&
         p.lat >= -90 && p.lat <= 90;
}

}  // namespace gridwatch::geo
