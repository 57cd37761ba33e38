// Camera calibration: from pixels to places.
//
// A fixed camera looking at (roughly) flat ground maps the ground plane to the image by a
// homography. calibrate() estimates it from four or more ground control points (a pixel and the
// WGS-84 position of the ground point seen there), in a local metric frame (east/north metres,
// equirectangular around the points' mean; exact enough over the few hundred metres a camera
// sees), and reports how well each point fits. Calibration is a plain value; thread-safe.
#pragma once

#include <array>
#include <string>
#include <vector>

#include "gridwatch/domain/error.h"
#include "gridwatch/domain/order.h"

namespace gridwatch::geo {

struct ControlPoint {
  double px = 0, py = 0;  // pixel (x right, y down)
  LonLat world;           // WGS-84
};

struct Calibration {
  LonLat origin;                // of the local frame
  std::array<double, 9> h{};    // pixel -> (east, north) metres, row-major 3x3
  std::vector<double> error_m;  // per control point: |mapped pixel - its position|
  double rms_m = 0;
  double ground_sign = 1;  // sign of the homogeneous scale on the ground side of the horizon

  // The ground position seen at a pixel (e.g. the bottom centre of a bounding box). Pixels at or
  // above the horizon have no ground position: kInvalidArgument.
  [[nodiscard]] Result<LonLat> to_wgs84(double px, double py) const;
};

// Fails with kInvalidArgument, naming the points, for fewer than 4 points, duplicate pixels or
// positions, or points that are (nearly) collinear in the image or on the ground.
[[nodiscard]] Result<Calibration> calibrate(const std::vector<ControlPoint>& points);

// Local equirectangular frame used above.
std::array<double, 2> to_local_m(LonLat p, LonLat origin);
LonLat from_local_m(double east, double north, LonLat origin);

}  // namespace gridwatch::geo
