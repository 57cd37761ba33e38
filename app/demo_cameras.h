// The demo's cameras, declared in the agent's configuration like any box's: a street the demo
// draws once into a clip (a car parks in a no-parking zone, a bin station overflows) and Debian's
// vtest.avi (opencv-doc), both looped and played at their own frame rate.
#pragma once

#include <filesystem>
#include <string>

#include "gridwatch/domain/error.h"

namespace gridwatch::app {

// Writes the street clip into `dir` (unless it is there already) and returns the agent's
// `cameras:` list (YAML, indented as a top-level section's items).
[[nodiscard]] Result<std::string> demo_cameras_yaml(const std::filesystem::path& dir);
// The rules that turn the street camera's events into orders (agent YAML, inside `rules:`).
const char* demo_camera_rules_yaml();

}  // namespace gridwatch::app
