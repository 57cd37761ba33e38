// A street the project draws itself: a camera picture with a known story, for the demo, tests and
// benchmarks (no recorded footage needed, nothing to download).
//
// 640x360 at 10 fps (scaled to `size` when another is asked for), a 120 s story on repeat:
//    8 s  a red car drives in from the left and parks in the no-parking zone (yellow markings)
//   20 s  bags start piling up beside the bins at the right; the pile grows until 40 s
//   80 s  the car drives away
//  100 s  the bins are emptied and the pavement swept
// People walk along the far pavement all the time. Pixel boxes below are in 640x360 units.
#pragma once

#include <opencv2/core.hpp>

#include <filesystem>

#include "gridwatch/domain/error.h"
#include "gridwatch/domain/order.h"
#include "gridwatch/vision/frame_source.h"

namespace gridwatch::vision {

class StreetScene final : public FrameSource {
 public:
  static constexpr double kFps = 10;
  static constexpr double kPeriod = 120;  // seconds
  // Where things are (640x360 pixels): the no-parking markings, the parked car, the bin station.
  static constexpr int kNoParking[4] = {70, 225, 270, 77};  // x, y, w, h
  static constexpr int kCarParkedX = 130, kCarY = 236, kCarW = 150, kCarH = 58;
  static constexpr int kBins[4] = {460, 285, 160, 70};

  // The scene's ground: rows 60 (the far kerb) to 360 of the picture lie flat on a stretch of
  // Wangfujing Street 0.00047° (about 40 m) wide and 0.00017° (about 19 m) deep, mapped linearly.
  // ground() is where a picture point (640x360 pixels) lies; calibration_yaml() gives the four
  // corners as a camera's `calibration:` points (a YAML flow sequence, any indentation).
  static LonLat ground(double px, double py);
  static std::string calibration_yaml();

  explicit StreetScene(cv::Size size = {640, 360});
  Result<std::optional<Frame>> next() override;
  double fps() const override { return kFps; }
  cv::Size size() const override { return size_; }

 private:
  cv::Mat background_;
  cv::Size size_;
  int64_t index_ = 0;
};

// Writes `frames` frames of `source` to `path` (Motion-JPEG in AVI: every OpenCV build writes it).
// Fails with kUnavailable when the file cannot be written, naming it.
[[nodiscard]] Status write_video(FrameSource& source, const std::filesystem::path& path, int64_t frames,
                                 int jpeg_quality = 80);

}  // namespace gridwatch::vision
