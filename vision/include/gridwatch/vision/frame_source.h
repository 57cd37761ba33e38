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

// How a stream is opened (a camera's `camera:` keys; files ignore them).
struct CaptureOptions {
  // RTSP's transport: "tcp" (RTP interleaved in the RTSP connection: one port, through NAT and
  // firewalls, no loss) or "udp" (RTP on its own ports: less delay, loses packets on a bad link).
  std::string transport = "tcp";
  std::chrono::milliseconds open_timeout{10'000};  // connecting and the first answers
  // No frame for this long: the stream has stalled (a camera that hangs without closing the
  // connection); the read fails and the stream is reopened.
  std::chrono::milliseconds stall_after{10'000};
  bool operator==(const CaptureOptions&) const = default;
};

// A video file, RTSP/HTTP URL or V4L2 device decoded with OpenCV's FFmpeg backend (devices through
// V4L2). Files end; streams and devices are `live` (an end is a stall). A live stream's frame
// times are its own timestamps from its first frame, or the arrival since it was opened when it
// has none.
Result<std::unique_ptr<FrameSource>> open_capture(const std::string& source, const CaptureOptions& options = {});
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

// A camera's source that comes back (the agent's capture thread reads its cameras through it).
// On an error or the end of a live stream it reopens the camera through `open`, waiting 0.5 s,
// 1 s, 2 s, ... up to 30 s between attempts, and reports every change of state. A stream that
// stayed up `stable_after` counts as working: it is reopened at once and its next trouble starts
// from the first back-off; one that gave nothing, or failed sooner, keeps backing off (a camera
// that accepts and drops connections is not reopened in a tight loop). A file ends (kEnded,
// then nullopt) unless it loops: then it starts again at once, no reconnect counted. Timestamps
// stay monotonic across reopenings: a file's next pass continues one frame after the last frame
// seen; a live stream's frames keep the time that passed while it was away (an outage of 20 s is
// 20 s to the tracker, whose objects age as they would had it been watching).
// The clock and the waiting are injectable, so tests need not wait.
enum class SourceState {
  kConnected,     // the stream gives frames (said at its first frame)
  kStalled,       // the stream failed or ended; it is reopened
  kReconnecting,  // opening failed; waiting to try again
  kEnded,         // a file that does not loop has ended
};
std::string_view to_string(SourceState s);

class ReconnectingSource final : public FrameSource {
 public:
  using Opener = std::function<Result<std::unique_ptr<FrameSource>>()>;
  using Clock = std::chrono::steady_clock;
  struct Options {
    std::chrono::milliseconds first_backoff{500};
    std::chrono::milliseconds max_backoff{30'000};
    std::chrono::milliseconds stable_after{10'000};
    int max_attempts = 0;  // 0: forever; else next() fails after this many failed attempts in a row
    bool file = false;     // the source is a file: its end is the end, unless `loop`
    bool loop = false;     // a file that ends starts again from the top
    double frame_ms = 1;   // the step between streams when the source does not say its frame rate
    // Waits `d`; false when a stop cut the wait short (next() then gives nullopt). Default:
    // std::this_thread::sleep_for.
    std::function<bool(std::chrono::milliseconds)> sleep;
    std::function<Clock::time_point()> now;  // default: Clock::now
    std::function<void(SourceState, const std::string& why)> on_state;
    std::function<bool()> stop;  // true: give up (shutdown); next() gives nullopt
  };
  ReconnectingSource(Opener open, Options options);

  // The next frame; nullopt once a file has ended or a stop came; an error only after
  // max_attempts failed attempts in a row (the last one's).
  Result<std::optional<Frame>> next() override;
  double fps() const override { return current_ ? current_->fps() : 0; }
  cv::Size size() const override { return current_ ? current_->size() : cv::Size(); }
  int reconnects() const { return reconnects_; }

 private:
  // Waits the back-off and doubles it; false when a stop cut it short.
  bool back_off();

  Opener open_;
  Options options_;
  std::unique_ptr<FrameSource> current_;
  std::chrono::milliseconds backoff_;
  int failures_ = 0;
  bool had_frames_ = false, ended_ = false;
  Clock::time_point up_since_{};
  std::optional<Clock::time_point> origin_;  // a live source: when its first stream opened
  double offset_ms_ = 0, last_ms_ = -1;
  int64_t index_ = 0;
  int reconnects_ = 0;
};

}  // namespace gridwatch::vision
