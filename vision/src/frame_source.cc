#include "gridwatch/vision/frame_source.h"

#include <opencv2/videoio.hpp>

#include <fmt/format.h>

namespace gridwatch::vision {

Result<std::unique_ptr<VideoFileSource>> VideoFileSource::open(const std::filesystem::path& path) {
  if (!std::filesystem::exists(path))
    return fail(ErrorCode::kNotFound, fmt::format("video {}: no such file", path.string()), "video");
  std::unique_ptr<VideoFileSource> s(new VideoFileSource());
  s->path_ = path;
  try {
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

}  // namespace gridwatch::vision
