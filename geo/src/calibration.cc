#include "gridwatch/geo/calibration.h"

#include <opencv2/calib3d.hpp>

#include <cmath>
#include <numbers>

#include <fmt/format.h>

#include "gridwatch/geo/distance.h"

namespace gridwatch::geo {
namespace {

constexpr double kDeg = std::numbers::pi / 180.0;

// Twice the signed area of triangle abc.
double cross(double ax, double ay, double bx, double by, double cx, double cy) {
  return (bx - ax) * (cy - ay) - (by - ay) * (cx - ax);
}

// Whether the points are (nearly) on one line: every triangle is thin compared with the spread.
bool collinear(const std::vector<std::array<double, 2>>& p, size_t* a, size_t* b, size_t* c) {
  double spread = 0;
  for (size_t i = 0; i < p.size(); ++i)
    for (size_t j = i + 1; j < p.size(); ++j)
      spread = std::max(spread, std::hypot(p[i][0] - p[j][0], p[i][1] - p[j][1]));
  if (spread == 0) return true;
  double best = 0;
  for (size_t i = 0; i < p.size(); ++i)
    for (size_t j = i + 1; j < p.size(); ++j)
      for (size_t k = j + 1; k < p.size(); ++k) {
        double area = std::abs(cross(p[i][0], p[i][1], p[j][0], p[j][1], p[k][0], p[k][1]));
        // With exactly four points a homography needs every triple to be a real triangle.
        if (p.size() == 4 && area < 1e-3 * spread * spread) {
          *a = i, *b = j, *c = k;
          return true;
        }
        best = std::max(best, area);
      }
  *a = 0, *b = 1, *c = 2;
  return best < 1e-3 * spread * spread;
}

}  // namespace

std::array<double, 2> to_local_m(LonLat p, LonLat origin) {
  return {(p.lon - origin.lon) * kDeg * kEarthRadiusM * std::cos(origin.lat * kDeg),
          (p.lat - origin.lat) * kDeg * kEarthRadiusM};
}

LonLat from_local_m(double east, double north, LonLat origin) {
  return {.lon = origin.lon + east / (kDeg * kEarthRadiusM * std::cos(origin.lat * kDeg)),
          .lat = origin.lat + north / (kDeg * kEarthRadiusM)};
}

Result<Calibration> calibrate(const std::vector<ControlPoint>& points) {
  auto invalid = [](std::string msg) { return fail(ErrorCode::kInvalidArgument, std::move(msg), "points"); };
  if (points.size() < 4)
    return invalid(fmt::format("a homography needs at least 4 control points, got {}", points.size()));
  Calibration cal;
  for (const auto& p : points) {
    if (!is_valid_wgs84(p.world) || !std::isfinite(p.px) || !std::isfinite(p.py))
      return invalid("control points must have finite pixels and valid WGS-84 positions");
    cal.origin.lon += p.world.lon / static_cast<double>(points.size());
    cal.origin.lat += p.world.lat / static_cast<double>(points.size());
  }
  std::vector<std::array<double, 2>> px, world;
  for (const auto& p : points) {
    px.push_back({p.px, p.py});
    world.push_back(to_local_m(p.world, cal.origin));
  }
  for (size_t i = 0; i < points.size(); ++i)
    for (size_t j = i + 1; j < points.size(); ++j) {
      if (px[i] == px[j])
        return invalid(fmt::format("points {} and {} have the same pixel ({}, {})", i + 1, j + 1,
                                   px[i][0], px[i][1]));
      if (std::hypot(world[i][0] - world[j][0], world[i][1] - world[j][1]) < 0.01)
        return invalid(fmt::format("points {} and {} have the same position", i + 1, j + 1));
    }
  size_t a = 0, b = 0, c = 0;
  if (collinear(px, &a, &b, &c))
    return invalid(fmt::format("points {}, {} and {} are collinear in the image; spread the points "
                               "over the ground plane", a + 1, b + 1, c + 1));
  if (collinear(world, &a, &b, &c))
    return invalid(fmt::format("points {}, {} and {} are collinear on the ground", a + 1, b + 1, c + 1));
  std::vector<cv::Point2d> src, dst;
  for (size_t i = 0; i < points.size(); ++i) {
    src.emplace_back(px[i][0], px[i][1]);
    dst.emplace_back(world[i][0], world[i][1]);
  }
  cv::Mat h;
  try {
    h = cv::findHomography(src, dst, 0);
  } catch (const cv::Exception& e) {
    return invalid(fmt::format("no homography: {}", e.what()));
  }
  if (h.empty() || h.rows != 3 || h.cols != 3) return invalid("no homography fits these points");
  for (int i = 0; i < 9; ++i) cal.h[static_cast<size_t>(i)] = h.at<double>(i / 3, i % 3);
  // Pixels on the ground side of the horizon share the sign of w = h31 x + h32 y + h33.
  cal.ground_sign = cal.h[6] * px[0][0] + cal.h[7] * px[0][1] + cal.h[8] < 0 ? -1 : 1;
  double sum = 0;
  for (size_t i = 0; i < points.size(); ++i) {
    auto mapped = cal.to_wgs84(px[i][0], px[i][1]);
    double e = mapped ? distance_m(*mapped, points[i].world) : 1e9;
    cal.error_m.push_back(e);
    sum += e * e;
  }
  cal.rms_m = std::sqrt(sum / static_cast<double>(points.size()));
  return cal;
}

Result<LonLat> Calibration::to_wgs84(double px, double py) const {
  double w = (h[6] * px + h[7] * py + h[8]) * ground_sign;
  if (!(w > 1e-12))
    return fail(ErrorCode::kInvalidArgument, fmt::format("pixel ({}, {}) is on the horizon", px, py));
  double east = (h[0] * px + h[1] * py + h[2]) * ground_sign / w;
  double north = (h[3] * px + h[4] * py + h[5]) * ground_sign / w;
  if (!std::isfinite(east) || !std::isfinite(north) || std::hypot(east, north) > 50'000)
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("pixel ({}, {}) is at or above the horizon", px, py));
  return from_local_m(east, north, origin);
}

}  // namespace gridwatch::geo
