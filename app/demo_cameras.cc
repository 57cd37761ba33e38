#include "demo_cameras.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "gridwatch/vision/scene.h"

namespace gridwatch::app {
namespace {

// The street camera: looks at the drawn scene (640x360); the calibration maps its picture to a
// stretch of Wangfujing Street about 40 m wide.
constexpr const char* kStreetCamera = R"(  - camera: {{id: street-cam, source: "{clip}", loop: true}}
    detect: {{fps: 5}}
    detectors:
      - {{type: stationary, label: object, min_area: 0.004, settle: 2s, min_size_m: 1.5}}
      - {{type: bin_overflow, learn: 5s, settle: 2s, overflow_at: 0.15}}
    zones:
      - {{name: no_parking, type: no_parking, polygon: [[70, 225], [340, 225], [340, 302], [70, 302]], classes: [object], dwell: 10s}}
      - {{name: bins, type: bin_station, polygon: [[460, 285], [620, 285], [620, 355], [460, 355]], classes: [bin_overflow], dwell: 5s}}
    tracker: {{stationary_max_age: 4s}}
    evidence: {{clip_before: 5s, clip_after: 5s}}
    calibration: {calibration}
)";

constexpr const char* kVtestCamera = R"(  - camera: {{id: vtest-cam, source: "{clip}"{loop}}}
    detect: {{fps: 5}}
    detectors:
      - {{type: motion, label: person, min_area: 0.003}}
    zones:
      - {{name: walkway, type: sidewalk, polygon: [[0, 180], [768, 180], [768, 330], [0, 330]], classes: [person], dwell: 60s}}
)";

}  // namespace

Result<std::string> demo_cameras_yaml(const std::filesystem::path& dir, const std::string& vtest_source) {
  const auto clip = dir / "street-scene.avi";
  if (!std::filesystem::exists(clip)) {
    // One whole story (120 s at 10 fps), written once; the camera loops it.
    vision::StreetScene scene;
    const auto tmp = dir / "street-scene.tmp.avi";
    if (auto st = vision::write_video(scene, tmp, static_cast<int64_t>(vision::StreetScene::kPeriod * vision::StreetScene::kFps), 75);
        !st)
      return std::unexpected(st.error());
    std::filesystem::rename(tmp, clip);
    spdlog::info("demo: street scene written to {}", clip.string());
  }
  std::string yaml = fmt::format(fmt::runtime(kStreetCamera), fmt::arg("clip", clip.string()),
                                 fmt::arg("calibration", vision::StreetScene::calibration_yaml()));
  if (!vtest_source.empty())
    yaml += fmt::format(fmt::runtime(kVtestCamera), fmt::arg("clip", vtest_source), fmt::arg("loop", ""));
  else if (std::filesystem::exists(kDemoVtest))
    yaml += fmt::format(fmt::runtime(kVtestCamera), fmt::arg("clip", kDemoVtest), fmt::arg("loop", ", loop: true"));
  else spdlog::warn("demo: {} is not installed (Debian package opencv-doc): one camera only", kDemoVtest);
  return yaml;
}

const char* demo_camera_rules_yaml() {
  return R"yaml(    - id: illegal_parking
      category: traffic.illegal_parking
      input: {zones: ["street-cam:no_parking"]}
      when: {zone: {stationary: 10s}}
      description: "{where}: a vehicle has stood in the no-parking zone for 10 s (camera)"
    - id: bins_overflowing
      category: sanitation.bin_overflow
      input: {zones: ["street-cam:bins"]}
      when: {zone: {stationary: 5s}}
      description: "{where}: bags and litter around the bins (camera)"
)yaml";
}

}  // namespace gridwatch::app
