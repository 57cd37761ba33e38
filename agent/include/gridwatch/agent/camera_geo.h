// Where the agent joins a camera's pixels to the ground: the calibration points of its config
// through geo/ (vision/ and geo/ do not know each other).
#pragma once

#include <optional>

#include "gridwatch/geo/calibration.h"
#include "gridwatch/vision/config.h"
#include "gridwatch/vision/pipeline.h"

namespace gridwatch::agent {

// The camera's ground calibration, or nullopt without (enough) calibration points.
[[nodiscard]] Result<std::optional<geo::Calibration>> camera_calibration(const vision::CameraConfig& c);

// Width on the ground of a box's bottom edge, in metres (for detectors' min_size_m).
vision::GroundSize ground_size(std::optional<geo::Calibration> calibration);

}  // namespace gridwatch::agent
