// Distances on the WGS-84 ellipsoid approximated by a sphere of the mean Earth radius.
// Good to about 0.5 % — enough for merge radii and accuracy figures of tens of metres.
// Thread-safe, pure functions.
#pragma once

#include <array>

#include "gridwatch/domain/order.h"

namespace gridwatch::geo {

inline constexpr double kEarthRadiusM = 6'371'008.8;  // IUGG mean radius

// Great-circle (haversine) distance in metres.
double distance_m(LonLat a, LonLat b);

// The smallest lon/lat box (min lon, min lat, max lon, max lat) that holds every point within
// `radius_m` of `p`: the index-friendly first step of a radius search, to be followed by the exact
// distance test. Near a pole, or when the circle crosses the antimeridian, the box spans all
// longitudes.
std::array<double, 4> bbox_around(LonLat p, double radius_m);

// True when lon is in [-180, 180] and lat in [-90, 90], both finite.
bool is_valid_wgs84(LonLat p);

}  // namespace gridwatch::geo
