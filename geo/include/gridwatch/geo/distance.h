// Distances on the WGS-84 ellipsoid approximated by a sphere of the mean Earth radius.
// Good to about 0.5 % — enough for merge radii and accuracy figures of tens of metres.
// Thread-safe, pure functions.
#pragma once

#include "gridwatch/domain/order.h"

namespace gridwatch::geo {

inline constexpr double kEarthRadiusM = 6'371'008.8;  // IUGG mean radius

// Great-circle (haversine) distance in metres.
double distance_m(LonLat a, LonLat b);

// True when lon is in [-180, 180] and lat in [-90, 90], both finite.
bool is_valid_wgs84(LonLat p);

}  // namespace gridwatch::geo
