// Frame sources: where a camera pipeline gets its pictures.
//
// FrameSource is the small interface every camera input implements (a file, later RTSP/HTTP
// streams and V4L2 devices, and fakes that stall or corrupt frames in tests). next() returns the
// next frame, std::nullopt at the end of a finite source, or an Error (kUnavailable) when the
// source failed. Timestamps are the position in the media (milliseconds from its start) and never
// decrease. Each frame's image is its own (a source never writes into a frame it has handed
// out), so the pipeline may keep it. A FrameSource is used by one thread.
#pragma once

#include <opencv2/core.hpp>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <chrono>
#include <functional>
#include <optional>
#include <string>

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

// A video file, RTSP/HTTP URL or V4L2 device decoded with OpenCV's FFmpeg backend (devices through
// V4L2). Files end; streams and devices are `live` (an end is a stall).
Result<std::unique_ptr<FrameSource>> open_capture(const std::string& source);
bool is_live(const std::string& source);

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

// A live source that comes back: on an error or the end of a live stream it reopens the camera
// through `open`, waiting 0.5 s, 1 s, 2 s, ... up to 30 s between attempts, and reports every
// change of state. Timestamps stay monotonic across reconnects (each new stream continues after
// the last frame seen). `sleep` is injectable so tests need not wait.
enum class SourceState { kConnected, kStalled, kReconnecting };
std::string_view to_string(SourceState s);

class ReconnectingSource final : public FrameSource {
 public:
  using Opener = std::function<Result<std::unique_ptr<FrameSource>>()>;
  struct Options {
    std::chrono::milliseconds first_backoff{500};
    std::chrono::milliseconds max_backoff{30'000};
    int max_attempts = 0;  // 0: forever; else next() fails after this many failed reconnects in a row
    std::function<void(std::chrono::milliseconds)> sleep;  // default: std::this_thread::sleep_for
    std::function<void(SourceState, const std::string& why)> on_state;
    std::function<bool()> stop;  // returns true to give up waiting (shutdown)
  };
  ReconnectingSource(Opener open, Options options);

  Result<std::optional<Frame>> next() override;
  double fps() const override { return current_ ? current_->fps() : 0; }
  cv::Size size() const override { return current_ ? current_->size() : cv::Size(); }
  int reconnects() const { return reconnects_; }

 private:
  Opener open_;
  Options options_;
  std::unique_ptr<FrameSource> current_;
  double offset_ms_ = 0, last_ms_ = -1;
  int64_t index_ = 0;
  int reconnects_ = 0;
  bool frames_from_current_ = false;
};

}  // namespace gridwatch::vision
