#include <gtest/gtest.h>

#include <random>

#include "gridwatch/geo/chinacoord.h"
#include "gridwatch/geo/distance.h"

namespace gridwatch::geo {
namespace {

// The check values of the issue: Tiananmen.
TEST(ChinaCoord, CheckValues) {
  Gcj02 g = to_gcj02(Wgs84{116.3913, 39.9075});
  EXPECT_NEAR(g.lon, 116.397541, 5e-7);
  EXPECT_NEAR(g.lat, 39.908901, 5e-7);
  Bd09 b = to_bd09(g);
  EXPECT_NEAR(b.lon, 116.403914, 5e-7);
  EXPECT_NEAR(b.lat, 39.915245, 5e-7);
  // The offset in Beijing is about 500-600 m.
  double off = distance_m({.lon = 116.3913, .lat = 39.9075}, {.lon = g.lon, .lat = g.lat});
  EXPECT_GT(off, 450);
  EXPECT_LT(off, 650);
}

TEST(ChinaCoord, OutsideChinaGcjEqualsWgs) {
  Gcj02 nyc = to_gcj02(Wgs84{-73.97, 40.75});
  EXPECT_EQ(nyc.lon, -73.97);
  EXPECT_EQ(nyc.lat, 40.75);
  Wgs84 back = to_wgs84(Gcj02{-73.97, 40.75});
  EXPECT_EQ(back.lon, -73.97);
}

// Round trips stay below 0.5 m (in fact below a millimetre) everywhere in China.
TEST(ChinaCoord, RoundTripsEverywhereInChina) {
  std::mt19937 rng(12345);
  std::uniform_real_distribution<double> lon(73.0, 135.0), lat(18.0, 53.5);
  double worst_gcj = 0, worst_bd = 0;
  for (int i = 0; i < 100000; ++i) {
    Wgs84 w{lon(rng), lat(rng)};
    Wgs84 a = to_wgs84(to_gcj02(w));
    Wgs84 b = to_wgs84(to_bd09(w));
    worst_gcj = std::max(worst_gcj, distance_m({.lon = w.lon, .lat = w.lat}, {.lon = a.lon, .lat = a.lat}));
    worst_bd = std::max(worst_bd, distance_m({.lon = w.lon, .lat = w.lat}, {.lon = b.lon, .lat = b.lat}));
  }
  EXPECT_LT(worst_gcj, 0.001) << "metres";
  EXPECT_LT(worst_bd, 0.001) << "metres";
}

TEST(ChinaCoord, CrsNamesAndGenericConversion) {
  EXPECT_EQ(parse_crs("gcj02"), Crs::kGcj02);
  EXPECT_EQ(parse_crs("GCJ02"), std::nullopt);
  EXPECT_EQ(to_string(Crs::kBd09), "bd09");
  LonLat w = to_wgs84(LonLat{.lon = 116.397541, .lat = 39.908901}, Crs::kGcj02);
  EXPECT_NEAR(w.lon, 116.3913, 1e-6);
  EXPECT_NEAR(w.lat, 39.9075, 1e-6);
  w = to_wgs84(LonLat{.lon = 116.403914, .lat = 39.915245}, Crs::kBd09);
  EXPECT_NEAR(w.lon, 116.3913, 1e-6);
  EXPECT_NEAR(w.lat, 39.9075, 1e-6);
}

}  // namespace
}  // namespace gridwatch::geo
