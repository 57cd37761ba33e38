// What the pipeline finds in a frame: detections from detectors chosen by name, objects tracked
// across frames, and the zones they stand in.
#pragma once

#include <opencv2/core.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gridwatch/domain/error.h"
#include "gridwatch/domain/time.h"
#include "gridwatch/vision/config.h"

namespace gridwatch::vision {

struct Detection {
  cv::Rect2f box;  // detect-frame pixels
  std::string label;
  float score = 0;
  // When the detector knows the object has been there for a while already (the stationary
  // detector settles before it reports): the time it came to rest.
  std::optional<double> since_ms;
  std::optional<double> fill;  // bin_overflow: the changed fraction of the bin zone
  int detector = 0;            // set by the pipeline: which detector found it
};

// The changed regions of a frame, from a downscaled grey difference against a running average.
struct Motion {
  std::vector<cv::Rect> regions;  // detect-frame pixels
  double fraction = 0;            // of the frame that changed
  bool any() const { return !regions.empty(); }
};

class MotionGate {
 public:
  explicit MotionGate(MotionConfig config) : config_(config) {}
  // `bgr` may be a downscaled copy of the detect frame, `prescale` its scale (regions come back in
  // detect-frame pixels).
  Motion update(const cv::Mat& bgr, double prescale = 1.0);

 private:
  MotionConfig config_;
  cv::Mat average_;  // CV_32F
  double scale_ = 1;
};

struct DetectContext {
  double media_ms = 0;
  // The detect frame downscaled once for everyone (at most 320 pixels wide) and its scale.
  const cv::Mat* small = nullptr;
  double small_scale = 1.0;
  const Motion* motion = nullptr;
  const std::vector<ZoneConfig>* zones = nullptr;  // in detect-frame pixels
  double fps = 5;
};

class Detector {
 public:
  virtual ~Detector() = default;
  // nullopt: the detector did not look at this frame (no motion, not due), so the tracker must
  // not count its objects as missing.
  virtual std::optional<std::vector<Detection>> detect(const cv::Mat& bgr, const DetectContext& ctx) = 0;
  virtual std::string_view type() const = 0;
  // Where the last detect() looked, when not the whole frame (a crop): objects elsewhere were
  // not looked for.
  virtual std::optional<cv::Rect> last_area() const { return std::nullopt; }
};

// The registry (detectors.cc): the detector of `config.type`. Fails for an unknown type or a
// model that does not load (naming the file).
[[nodiscard]] Result<std::unique_ptr<Detector>> make_detector(const DetectorConfig& config);
// The types make_detector() knows: dnn, motion, stationary, bin_overflow.
const std::vector<std::string_view>& detector_types();

}  // namespace gridwatch::vision
