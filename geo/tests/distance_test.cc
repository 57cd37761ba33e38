#include <gtest/gtest.h>

#include <limits>

#include "gridwatch/geo/distance.h"

namespace gridwatch::geo {
namespace {

TEST(Distance, KnownDistances) {
  // Tiananmen (116.3913, 39.9075) to the Temple of Heaven (116.4066, 39.8822): about 3.13 km.
  double d = distance_m({.lon = 116.3913, .lat = 39.9075}, {.lon = 116.4066, .lat = 39.8822});
  EXPECT_NEAR(d, 3130, 30);
  // One degree of latitude is about 111.2 km anywhere.
  EXPECT_NEAR(distance_m({.lon = 0, .lat = 0}, {.lon = 0, .lat = 1}), 111'195, 10);
  EXPECT_EQ(distance_m({.lon = 116.4, .lat = 39.9}, {.lon = 116.4, .lat = 39.9}), 0.0);
  // Across the antimeridian the short way round.
  EXPECT_NEAR(distance_m({.lon = 179.9, .lat = 0}, {.lon = -179.9, .lat = 0}), 22'239, 5);
}

TEST(Distance, Validity) {
  EXPECT_TRUE(is_valid_wgs84({.lon = 116.4, .lat = 39.9}));
  EXPECT_FALSE(is_valid_wgs84({.lon = 181, .lat = 0}));
  EXPECT_FALSE(is_valid_wgs84({.lon = 0, .lat = -90.01}));
  EXPECT_FALSE(is_valid_wgs84({.lon = std::numeric_limits<double>::quiet_NaN(), .lat = 0}));
}

}  // namespace
}  // namespace gridwatch::geo
