#include "gridwatch/geo/distance.h"

#include <algorithm>
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

std::array<double, 4> bbox_around(LonLat p, double radius_m) {
  constexpr double kDeg = 180.0 / std::numbers::pi;
  const double angle = radius_m / kEarthRadiusM;  // central angle, radians
  const double dlat = angle * kDeg;
  double min_lat = std::max(-90.0, p.lat - dlat);
  double max_lat = std::min(90.0, p.lat + dlat);
  if (min_lat <= -90.0 || max_lat >= 90.0 || angle >= std::numbers::pi / 2)
    return {-180.0, min_lat, 180.0, max_lat};
  // The widest longitude offset on a small circle is at the latitude where it touches a meridian:
  // sin(dlon) = sin(angle) / cos(lat).
  const double s = std::sin(angle) / std::cos(p.lat / kDeg);
  if (s >= 1.0) return {-180.0, min_lat, 180.0, max_lat};
  const double dlon = std::asin(s) * kDeg;
  if (p.lon - dlon < -180.0 || p.lon + dlon > 180.0) return {-180.0, min_lat, 180.0, max_lat};
  return {p.lon - dlon, min_lat, p.lon + dlon, max_lat};
}

bool is_valid_wgs84(LonLat p) {
  return std::isfinite(p.lon) && std::isfinite(p.lat) && p.lon >= -180 && p.lon <= 180 &&
         p.lat >= -90 && p.lat <= 90;
}

}  // namespace gridwatch::geo
