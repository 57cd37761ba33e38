// The demo's cameras, declared in the agent's configuration like any box's: a street the demo
// draws once into a clip (a car parks in a no-parking zone, a bin station overflows), looped and
// played at its own frame rate, and Debian's vtest.avi (opencv-doc) as a camera sends it: H.264
// over RTSP from `gridwatch rtsp serve` (the file itself when the server cannot start).
#pragma once

#include <filesystem>
#include <string>

#include "gridwatch/domain/error.h"

namespace gridwatch::app {

// Debian's sample clip (opencv-doc).
inline constexpr const char* kDemoVtest = "/usr/share/doc/opencv-doc/examples/data/vtest.avi";

// Writes the street clip into `dir` (unless it is there already) and returns the agent's
// `cameras:` list (YAML, indented as a top-level section's items). `vtest_source`: where the
// vtest camera reads (an RTSP URL serving vtest.avi), empty: the file, looped.
[[nodiscard]] Result<std::string> demo_cameras_yaml(const std::filesystem::path& dir, const std::string& vtest_source);
// The rules that turn the street camera's events into orders (agent YAML, inside `rules:`).
const char* demo_camera_rules_yaml();

}  // namespace gridwatch::app
