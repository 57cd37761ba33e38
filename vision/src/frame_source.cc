#include "gridwatch/vision/frame_source.h"

#include <opencv2/videoio.hpp>

#include <cstdlib>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <vector>

#include <fmt/format.h>

namespace gridwatch::vision {

namespace {

// OpenCV's FFmpeg backend takes RTSP's transport only from the environment
// (OPENCV_FFMPEG_CAPTURE_OPTIONS, read while a capture opens; unset means TCP). For an RTSP
// camera on UDP, or when the operator set the variable, the transport is added to it for the time
// of one opening and the variable put back after. Such an opening holds the lock alone; every
// other FFmpeg opening (files included: OpenCV reads the variable for them too) holds it shared,
// so openings over TCP run side by side and none reads the variable while it changes. (Other
// libraries reading the environment meanwhile are not covered: a UDP camera's opening is the one
// moment it changes.)
class FfmpegEnvironment {
 public:
  FfmpegEnvironment(const std::string& source, const std::string& transport) : change_(changes(source, transport)) {
    if (!change_) {
      shared_ = std::shared_lock(mu());
      return;
    }
    exclusive_ = std::unique_lock(mu());
    if (const char* had = std::getenv(kVar)) before_ = had;
    const std::string value = (before_ ? *before_ + "|" : std::string()) + "rtsp_transport;" + transport;
    setenv(kVar, value.c_str(), 1);
  }
  ~FfmpegEnvironment() {
    if (!change_) return;
    if (before_) setenv(kVar, before_->c_str(), 1);
    else unsetenv(kVar);
  }
  FfmpegEnvironment(const FfmpegEnvironment&) = delete;
  FfmpegEnvironment& operator=(const FfmpegEnvironment&) = delete;

 private:
  static constexpr const char* kVar = "OPENCV_FFMPEG_CAPTURE_OPTIONS";
  static std::shared_mutex& mu() {
    static std::shared_mutex m;
    return m;
  }
  // Whether this opening changes the variable. operator_set() comes first, always: its one read
  // of the variable happens before any opening may change it.
  static bool changes(const std::string& source, const std::string& transport) {
    const bool set = operator_set();
    const bool rtsp = source.rfind("rtsp://", 0) == 0 || source.rfind("rtsps://", 0) == 0;
    return rtsp && (transport != "tcp" || set);
  }
  // Whether the operator set the variable: read once, before any opening changes it.
  static bool operator_set() {
    static const bool set = std::getenv(kVar) != nullptr;
    return set;
  }
  bool change_;
  std::shared_lock<std::shared_mutex> shared_;
  std::unique_lock<std::shared_mutex> exclusive_;
  std::optional<std::string> before_;
};

}  // namespace

Result<std::unique_ptr<VideoFileSource>> VideoFileSource::open(const std::filesystem::path& path) {
  if (!std::filesystem::exists(path))
    return fail(ErrorCode::kNotFound, fmt::format("video {}: no such file", path.string()), "video");
  std::unique_ptr<VideoFileSource> s(new VideoFileSource());
  s->path_ = path;
  try {
    FfmpegEnvironment environment(path.string(), "tcp");
    s->capture_ = std::make_unique<cv::VideoCapture>(path.string(), cv::CAP_FFMPEG);
  } catch (const cv::Exception& e) {
    return fail(ErrorCode::kUnavailable, fmt::format("video {}: {}", path.string(), e.what()), "video");
  }
  if (!s->capture_->isOpened())
    return fail(ErrorCode::kUnavailable,
                fmt::format("video {}: cannot be decoded (not a video, or an unsupported codec)",
                            path.string()),
                "video");
  s->fps_ = s->capture_->get(cv::CAP_PROP_FPS);
  s->size_ = {static_cast<int>(s->capture_->get(cv::CAP_PROP_FRAME_WIDTH)),
              static_cast<int>(s->capture_->get(cv::CAP_PROP_FRAME_HEIGHT))};
  return s;
}

VideoFileSource::~VideoFileSource() = default;

Result<std::optional<Frame>> VideoFileSource::next() {
  Frame f;
  try {
    if (!capture_->read(f.image) || f.image.empty()) return std::optional<Frame>{};
  } catch (const cv::Exception& e) {
    return fail(ErrorCode::kUnavailable, fmt::format("video {}: {}", path_.string(), e.what()));
  }
  f.index = index_++;
  double ms = capture_->get(cv::CAP_PROP_POS_MSEC);
  if (!(ms > last_ms_) && fps_ > 0) ms = static_cast<double>(f.index) * 1000.0 / fps_;
  f.media_ms = std::max(ms, last_ms_);
  last_ms_ = f.media_ms;
  return std::optional<Frame>{std::move(f)};
}

bool is_live(const std::string& source) {
  return source.rfind("rtsp://", 0) == 0 || source.rfind("rtsps://", 0) == 0 || source.rfind("http://", 0) == 0 ||
         source.rfind("https://", 0) == 0 || source.rfind("/dev/video", 0) == 0;
}

namespace {

// A stream or device: like a file, but opened by URL / device path.
class CaptureSource final : public FrameSource {
 public:
  static Result<std::unique_ptr<FrameSource>> open(const std::string& source, const CaptureOptions& o) {
    auto s = std::unique_ptr<CaptureSource>(new CaptureSource());
    s->name_ = source;
    try {
      if (source.rfind("/dev/video", 0) == 0) {
        s->capture_ = std::make_unique<cv::VideoCapture>(source, cv::CAP_V4L2);
      } else {
        const std::vector<int> params{cv::CAP_PROP_OPEN_TIMEOUT_MSEC, static_cast<int>(o.open_timeout.count()),
                                      cv::CAP_PROP_READ_TIMEOUT_MSEC, static_cast<int>(o.stall_after.count())};
        FfmpegEnvironment environment(source, o.transport);
        s->capture_ = std::make_unique<cv::VideoCapture>(source, cv::CAP_FFMPEG, params);
      }
    } catch (const cv::Exception& e) {
      return fail(ErrorCode::kUnavailable, fmt::format("camera {}: {}", source, e.what()), "source");
    }
    if (!s->capture_->isOpened())
      return fail(ErrorCode::kUnavailable, fmt::format("camera {}: cannot be opened", source), "source");
    s->fps_ = s->capture_->get(cv::CAP_PROP_FPS);
    if (!(s->fps_ > 0 && s->fps_ < 200)) s->fps_ = 25;
    s->size_ = {static_cast<int>(s->capture_->get(cv::CAP_PROP_FRAME_WIDTH)),
                static_cast<int>(s->capture_->get(cv::CAP_PROP_FRAME_HEIGHT))};
    s->start_ = std::chrono::steady_clock::now();
    return std::unique_ptr<FrameSource>(std::move(s));
  }
  Result<std::optional<Frame>> next() override {
    Frame f;
    try {
      if (!capture_->read(f.image) || f.image.empty())
        return fail(ErrorCode::kUnavailable, fmt::format("camera {}: no frame (stalled or closed)", name_));
    } catch (const cv::Exception& e) {
      return fail(ErrorCode::kUnavailable, fmt::format("camera {}: {}", name_, e.what()));
    }
    f.index = index_++;
    // The stream's own timestamps (from its first frame) when it has them: arrival times bunch
    // up — FFmpeg reads the first seconds of an RTSP stream while it opens and hands them out at
    // once. A source without timestamps (they stay 0 or stop advancing) is timed by arrival.
    // Either way the time never goes back.
    const double pts = capture_->get(cv::CAP_PROP_POS_MSEC);
    const double arrival =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start_).count();
    if (!first_pts_ && pts > 0) {
      first_pts_ = pts;
      first_pts_at_ = arrival;
    }
    const double ms = first_pts_ && pts > last_pts_ ? pts - *first_pts_ + first_pts_at_ : arrival;
    last_pts_ = std::max(last_pts_, pts);
    f.media_ms = std::max(ms, last_ms_ + 0.001);
    last_ms_ = f.media_ms;
    return std::optional<Frame>{std::move(f)};
  }
  double fps() const override { return fps_; }
  cv::Size size() const override { return size_; }

 private:
  CaptureSource() = default;
  std::unique_ptr<cv::VideoCapture> capture_;
  std::string name_;
  double fps_ = 25;
  cv::Size size_;
  int64_t index_ = 0;
  std::chrono::steady_clock::time_point start_;
  std::optional<double> first_pts_;  // the stream's first timestamp above 0
  double first_pts_at_ = 0;          // its arrival (the frames before it were timed by arrival)
  double last_pts_ = 0, last_ms_ = -1;
};

}  // namespace

Result<std::unique_ptr<FrameSource>> open_capture(const std::string& source, const CaptureOptions& options) {
  if (is_live(source)) return CaptureSource::open(source, options);
  auto f = VideoFileSource::open(source);
  if (!f) return std::unexpected(f.error());
  return std::unique_ptr<FrameSource>(std::move(*f));
}

std::string_view to_string(SourceState s) {
  constexpr std::string_view kNames[] = {"connected", "stalled", "reconnecting", "ended"};  // the enum's order
  return kNames[static_cast<size_t>(s)];
}

ReconnectingSource::ReconnectingSource(Opener open, Options options)
    : open_(std::move(open)), options_(std::move(options)), backoff_(options_.first_backoff) {
  if (!options_.sleep)
    options_.sleep = [](std::chrono::milliseconds d) {
      std::this_thread::sleep_for(d);
      return true;
    };
  if (!options_.now) options_.now = [] { return Clock::now(); };
}

bool ReconnectingSource::back_off() {
  const bool waited = options_.sleep(backoff_);
  backoff_ = std::min(options_.max_backoff, backoff_ * 2);
  return waited;
}

Result<std::optional<Frame>> ReconnectingSource::next() {
  auto say = [&](SourceState s, const std::string& why) {
    if (options_.on_state) options_.on_state(s, why);
  };
  for (;;) {
    if (ended_ || (options_.stop && options_.stop())) return std::optional<Frame>{};
    if (!current_) {
      auto s = open_();
      if (!s) {
        ++failures_;
        if (options_.max_attempts > 0 && failures_ >= options_.max_attempts) return std::unexpected(s.error());
        say(SourceState::kReconnecting, s.error().message);
        if (!back_off()) return std::optional<Frame>{};
        continue;
      }
      current_ = std::move(*s);
      had_frames_ = false;
      const double step = current_->fps() > 0 ? 1000.0 / current_->fps() : options_.frame_ms;
      offset_ms_ = last_ms_ < 0 ? 0 : last_ms_ + step;
      if (!options_.file) {
        const auto now = options_.now();
        if (!origin_) origin_ = now;
        offset_ms_ = std::max(offset_ms_, std::chrono::duration<double, std::milli>(now - *origin_).count());
      }
    }
    auto f = current_->next();
    if (f && *f) {
      if (!had_frames_) {
        had_frames_ = true;
        up_since_ = options_.now();
        failures_ = 0;
        say(SourceState::kConnected, "");
      }
      if (backoff_ != options_.first_backoff && options_.now() - up_since_ >= options_.stable_after)
        backoff_ = options_.first_backoff;
      Frame frame = std::move(**f);
      frame.media_ms = std::max(offset_ms_ + frame.media_ms, last_ms_);
      frame.index = index_++;
      last_ms_ = frame.media_ms;
      return std::optional<Frame>{std::move(frame)};
    }
    const bool at_end = f.has_value();
    current_.reset();
    if (at_end && options_.file && !options_.loop) {
      ended_ = true;
      say(SourceState::kEnded, "");
      return std::optional<Frame>{};
    }
    if (at_end && options_.file && had_frames_) continue;  // a looping file: from the top again
    ++reconnects_;
    say(SourceState::kStalled, at_end ? std::string("end of stream") : f.error().message);
    // A stream that worked for a while is reopened at once; one that gave nothing (a device held
    // by another process, a truncated file), or failed soon after it opened, backs off.
    if (!had_frames_) {
      ++failures_;
      if (options_.max_attempts > 0 && failures_ >= options_.max_attempts)
        return at_end ? fail(ErrorCode::kUnavailable, "camera: the stream opens but gives no frames")
                      : Result<std::optional<Frame>>(std::unexpected(f.error()));
    }
    if (!had_frames_ || options_.now() - up_since_ < options_.stable_after)
      if (!back_off()) return std::optional<Frame>{};
  }
}

}  // namespace gridwatch::vision
