#include "gridwatch/agent/camera_geo.h"

#include "gridwatch/geo/distance.h"

namespace gridwatch::agent {

Result<std::optional<geo::Calibration>> camera_calibration(const vision::CameraConfig& c) {
  if (c.calibration.empty()) return std::optional<geo::Calibration>{};
  std::vector<geo::ControlPoint> points;
  for (const auto& p : c.calibration) points.push_back({.px = p[0], .py = p[1], .world = {.lon = p[2], .lat = p[3]}});
  auto cal = geo::calibrate(points);
  if (!cal) return std::unexpected(cal.error());
  return std::optional<geo::Calibration>{std::move(*cal)};
}

vision::GroundSize ground_size(std::optional<geo::Calibration> calibration) {
  if (!calibration) return {};
  return [cal = std::move(*calibration)](const cv::Rect2f& box) -> std::optional<double> {
    const double y = box.y + box.height;
    auto left = cal.to_wgs84(box.x, y), right = cal.to_wgs84(box.x + box.width, y);
    if (!left || !right) return std::nullopt;
    return geo::distance_m(*left, *right);
  };
}

}  // namespace gridwatch::agent
