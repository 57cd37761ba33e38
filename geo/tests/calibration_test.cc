#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "gridwatch/geo/calibration.h"
#include "gridwatch/geo/distance.h"

namespace gridwatch::geo {
namespace {

// A pinhole camera 8 m up a pole, 20 m south of the local origin, looking north and 30° down;
// 1280x720 pixels, focal length 800 px. Ground points (east, north) in metres.
struct Camera {
  double tilt = 30 * 3.14159265358979 / 180;
  double cx = 0, cy = -20, cz = 8, f = 800, u0 = 640, v0 = 360;
  std::array<double, 2> project(double e, double n) const {
    double dx = e - cx, dy = n - cy, dz = 0 - cz;
    double c = std::cos(tilt), s = std::sin(tilt);
    double xc = dx;                   // right = east
    double yc = -s * dy - c * dz;     // down
    double zc = c * dy - s * dz;      // forward
    return {f * xc / zc + u0, f * yc / zc + v0};
  }
};

const LonLat kOrigin{.lon = 116.40, .lat = 39.91};

std::vector<ControlPoint> points_of(const Camera& cam, const std::vector<std::array<double, 2>>& ground) {
  std::vector<ControlPoint> out;
  for (auto [e, n] : ground) {
    auto px = cam.project(e, n);
    out.push_back({px[0], px[1], from_local_m(e, n, kOrigin)});
  }
  return out;
}

TEST(Calibration, RecoversGroundPositionsOfASyntheticCamera) {
  Camera cam;
  auto cal = calibrate(points_of(cam, {{-8, 0}, {8, 0}, {-10, 25}, {10, 25}, {0, 12}, {4, 6}}));
  ASSERT_TRUE(cal.has_value()) << cal.error().message;
  EXPECT_LT(cal->rms_m, 0.01);
  ASSERT_EQ(cal->error_m.size(), 6u);
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> east(-10, 10), north(0, 30);
  double worst = 0;
  for (int i = 0; i < 1000; ++i) {
    double e = east(rng), n = north(rng);
    auto px = cam.project(e, n);
    auto p = cal->to_wgs84(px[0], px[1]);
    ASSERT_TRUE(p.has_value());
    worst = std::max(worst, distance_m(*p, from_local_m(e, n, kOrigin)));
  }
  EXPECT_LT(worst, 0.5) << "metres";
}

TEST(Calibration, NoisyPointsShowInTheResiduals) {
  Camera cam;
  auto pts = points_of(cam, {{-8, 0}, {8, 0}, {-10, 25}, {10, 25}, {0, 12}, {4, 6}});
  pts[4].world = from_local_m(3, 12, kOrigin);  // a point measured 3 m off
  auto cal = calibrate(pts);
  ASSERT_TRUE(cal.has_value());
  EXPECT_GT(cal->rms_m, 0.3);
  size_t worst = static_cast<size_t>(std::max_element(cal->error_m.begin(), cal->error_m.end()) - cal->error_m.begin());
  EXPECT_EQ(worst, 4u) << "the bad point has the largest error";
}

TEST(Calibration, DegenerateInputIsRefused) {
  Camera cam;
  auto three = points_of(cam, {{-8, 0}, {8, 0}, {0, 12}});
  auto r = calibrate(three);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(r.error().message.find("at least 4 control points, got 3"), std::string::npos);

  auto line = points_of(cam, {{0, 0}, {0, 5}, {0, 10}, {0, 20}});
  r = calibrate(line);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("collinear"), std::string::npos) << r.error().message;

  auto dup = points_of(cam, {{-8, 0}, {8, 0}, {-10, 25}, {10, 25}});
  dup[3] = dup[1];
  r = calibrate(dup);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("points 2 and 4 have the same pixel"), std::string::npos) << r.error().message;

  auto same_place = points_of(cam, {{-8, 0}, {8, 0}, {-10, 25}, {10, 25}});
  same_place[2].world = same_place[0].world;
  r = calibrate(same_place);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("points 1 and 3 have the same position"), std::string::npos) << r.error().message;

  auto three_in_line = points_of(cam, {{-8, 0}, {0, 0}, {8, 0}, {0, 20}});
  r = calibrate(three_in_line);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("points 1, 2 and 3 are collinear"), std::string::npos) << r.error().message;
}

TEST(Calibration, PixelsAboveTheHorizonHaveNoGroundPosition) {
  Camera cam;
  auto cal = calibrate(points_of(cam, {{-8, 0}, {8, 0}, {-10, 25}, {10, 25}, {0, 12}}));
  ASSERT_TRUE(cal.has_value());
  // The horizon of a camera tilted 30° down is f*tan(30°) = 462 px above the centre row.
  auto sky = cal->to_wgs84(640, 360 - 470);
  ASSERT_FALSE(sky.has_value());
  EXPECT_NE(sky.error().message.find("horizon"), std::string::npos);
}

}  // namespace
}  // namespace gridwatch::geo
