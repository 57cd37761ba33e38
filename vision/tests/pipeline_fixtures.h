// Helpers of the camera pipeline's tests (pipeline_test.cc, reconnecting_source_test.cc,
// evidence_test.cc): a camera from YAML, a source replayed through a pipeline, frames from memory
// with faults on cue (FakeSource), and the synthetic scenes' background and objects.
#pragma once

#include <gtest/gtest.h>

#include <opencv2/imgproc.hpp>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "gridwatch/vision/pipeline.h"

namespace gridwatch::vision::fixtures {

inline constexpr const char* kVtest = "/usr/share/doc/opencv-doc/examples/data/vtest.avi";

inline CameraConfig camera(const std::string& yaml) {
  auto c = parse_camera_config(yaml, "camera.yaml");
  EXPECT_TRUE(c.has_value()) << c.error().message;
  return c ? std::move(*c) : CameraConfig{};
}

inline std::vector<ZoneEvent> replay(FrameSource& source, CameraConfig config, PipelineStats* stats = nullptr,
                              std::function<void(const CameraPipeline&)> after_frame = {}) {
  auto p = CameraPipeline::create(std::move(config));
  EXPECT_TRUE(p.has_value()) << p.error().message;
  std::vector<ZoneEvent> events;
  if (!p) return events;
  for (;;) {
    auto f = source.next();
    EXPECT_TRUE(f.has_value()) << f.error().message;
    if (!f || !*f) break;
    for (auto& e : (*p)->process(**f)) events.push_back(e);
    if (after_frame) after_frame(**p);
  }
  for (auto& e : (*p)->finish()) events.push_back(e);
  if (stats) *stats = (*p)->stats();
  return events;
}

inline std::vector<ZoneEvent> of(const std::vector<ZoneEvent>& events, const std::string& zone, ZoneEventKind kind) {
  std::vector<ZoneEvent> out;
  for (const auto& e : events)
    if (e.zone == zone && e.kind == kind) out.push_back(e);
  return out;
}

// Frames from memory: a synthetic clip with known ground truth, or faults on cue.
class FakeSource final : public FrameSource {
 public:
  FakeSource(std::function<cv::Mat(int)> draw, int frames, double fps) : draw_(std::move(draw)), frames_(frames), fps_(fps) {}
  Result<std::optional<Frame>> next() override {
    if (i_ >= frames_) return std::optional<Frame>{};
    if (stall_at_ == i_) {
      stall_at_ = -1;
      return fail(ErrorCode::kUnavailable, "fake: stalled");
    }
    Frame f{.image = draw_(i_), .index = i_, .media_ms = i_ * 1000.0 / fps_};
    ++i_;
    return std::optional<Frame>{std::move(f)};
  }
  double fps() const override { return fps_; }
  cv::Size size() const override { return {320, 240}; }
  int stall_at_ = -1;

 private:
  std::function<cv::Mat(int)> draw_;
  int frames_;
  double fps_;
  int i_ = 0;
};

inline cv::Mat background(int seed) {
  cv::Mat bg(240, 320, CV_8UC3);
  cv::RNG rng(static_cast<uint64_t>(seed));
  rng.fill(bg, cv::RNG::UNIFORM, 60, 160);
  cv::GaussianBlur(bg, bg, {0, 0}, 3);
  cv::line(bg, {0, 200}, {320, 200}, {220, 220, 220}, 3);  // a kerb line
  return bg;
}

inline void textured_box(cv::Mat& img, cv::Rect r, cv::Scalar colour, int seed) {
  cv::Mat patch(r.size(), CV_8UC3, colour);
  cv::Mat noise(r.size(), CV_8UC3);
  cv::RNG rng(static_cast<uint64_t>(seed));
  rng.fill(noise, cv::RNG::UNIFORM, 0, 40);
  patch += noise;
  patch.copyTo(img(r));
}

}  // namespace gridwatch::vision::fixtures
