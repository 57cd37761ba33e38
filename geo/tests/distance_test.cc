#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

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

// Every point within the radius (by distance_m) lies in bbox_around; the box is tight, i.e. its
// edges are reached by points at the radius.
TEST(Distance, BboxAroundHoldsTheCircle) {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  for (LonLat centre : {LonLat{.lon = 116.4, .lat = 39.9}, LonLat{.lon = -73.95, .lat = 40.7},
                        LonLat{.lon = 10, .lat = -70}, LonLat{.lon = 0, .lat = 0}}) {
    for (double radius : {50.0, 500.0, 20'000.0}) {
      auto box = bbox_around(centre, radius);
      double widest = 0, tallest = 0;
      for (int i = 0; i < 20'000; ++i) {
        // Sample a square twice the size of the box; keep the points inside the circle.
        LonLat p{.lon = centre.lon + (unit(rng) * 2 - 1) * 2 * (box[2] - centre.lon),
                 .lat = centre.lat + (unit(rng) * 2 - 1) * 2 * (box[3] - centre.lat)};
        if (distance_m(centre, p) > radius) continue;
        EXPECT_GE(p.lon, box[0]);
        EXPECT_LE(p.lon, box[2]);
        EXPECT_GE(p.lat, box[1]);
        EXPECT_LE(p.lat, box[3]);
        widest = std::max(widest, std::abs(p.lon - centre.lon) / (box[2] - centre.lon));
        tallest = std::max(tallest, std::abs(p.lat - centre.lat) / (box[3] - centre.lat));
      }
      EXPECT_GT(widest, 0.95) << "box too wide for radius " << radius;
      EXPECT_GT(tallest, 0.95) << "box too tall for radius " << radius;
    }
  }
}

TEST(Distance, BboxAroundPolesAndAntimeridian) {
  auto polar = bbox_around({.lon = 30, .lat = 89.99}, 5'000);
  EXPECT_EQ(polar[0], -180.0);
  EXPECT_EQ(polar[2], 180.0);
  EXPECT_EQ(polar[3], 90.0);
  auto wrap = bbox_around({.lon = 179.999, .lat = 0}, 1'000);
  EXPECT_EQ(wrap[0], -180.0);
  EXPECT_EQ(wrap[2], 180.0);
}

}  // namespace
}  // namespace gridwatch::geo
