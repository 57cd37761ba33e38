// Frame sources: where a camera pipeline gets its pictures.
//
// FrameSource is the small interface every camera input implements (a file, later RTSP/HTTP
// streams and V4L2 devices, and fakes that stall or corrupt frames in tests). next() returns the
// next frame, std::nullopt at the end of a finite source, or an Error (kUnavailable) when the
// source failed. Timestamps are the position in the media (milliseconds from its start) and never
// decrease. A FrameSource is used by one thread.
#pragma once

#include <opencv2/core.hpp>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>

#include "gridwatch/domain/error.h"

namespace cv {
class VideoCapture;
}

namespace gridwatch::vision {

struct Frame {
  cv::Mat image;         // BGR, 8 bits a channel
  int64_t index = 0;     // 0-based frame number in the source
  double media_ms = 0;   // position in the media
};

class FrameSource {
 public:
  virtual ~FrameSource() = default;
  [[nodiscard]] virtual Result<std::optional<Frame>> next() = 0;
  virtual double fps() const = 0;
  virtual cv::Size size() const = 0;
};

// A video file decoded with OpenCV's FFmpeg backend.
class VideoFileSource final : public FrameSource {
 public:
  // Fails with kNotFound when the file does not exist, kUnavailable when it cannot be decoded.
  [[nodiscard]] static Result<std::unique_ptr<VideoFileSource>> open(const std::filesystem::path& path);
  ~VideoFileSource() override;

  Result<std::optional<Frame>> next() override;
  double fps() const override { return fps_; }
  cv::Size size() const override { return size_; }

 private:
  VideoFileSource() = default;
  std::unique_ptr<cv::VideoCapture> capture_;
  std::filesystem::path path_;
  double fps_ = 0;
  cv::Size size_;
  int64_t index_ = 0;
  double last_ms_ = 0;
};

}  // namespace gridwatch::vision
