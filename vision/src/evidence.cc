#include "gridwatch/vision/evidence.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include <algorithm>
#include <map>
#include <mutex>
#include <set>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <fmt/format.h>

#include "gridwatch/domain/config.h"

namespace gridwatch::vision {

Result<FittedJpeg> fit_jpeg(const std::filesystem::path& file, size_t max_bytes) {
  auto text = read_text_file(file);
  if (!text) return fail(ErrorCode::kNotFound, fmt::format("snapshot {}: cannot be read", file.string()));
  std::vector<unsigned char> bytes(text->begin(), text->end());
  cv::Mat img = cv::imdecode(bytes, cv::IMREAD_COLOR);
  if (img.empty()) return fail(ErrorCode::kParse, fmt::format("snapshot {}: not a JPEG image", file.string()));
  if (bytes.size() <= max_bytes) return FittedJpeg{std::move(bytes), img.cols, img.rows, 0};
  std::vector<unsigned char> out;
  for (;;) {
    for (int q : {70, 55, 40}) {
      cv::imencode(".jpg", img, out, {cv::IMWRITE_JPEG_QUALITY, q});
      if (out.size() <= max_bytes) return FittedJpeg{std::move(out), img.cols, img.rows, q};
    }
    const int w = img.cols * 3 / 4;
    if (w < 160) break;
    cv::resize(img, img, {w, std::max(1, img.rows * 3 / 4)}, 0, 0, cv::INTER_AREA);
  }
  return fail(ErrorCode::kTooLarge, fmt::format("snapshot {}: does not fit in {} bytes even at {}x{}, quality 40",
                                                file.string(), max_bytes, img.cols, img.rows));
}

namespace {

const std::vector<ClipFormat>& clip_formats() {
  static const std::vector<ClipFormat> formats = {
      {clip_media_named("mp4"), cv::CAP_FFMPEG, cv::VideoWriter::fourcc('a', 'v', 'c', '1')},
      {clip_media_named("webm"), cv::CAP_FFMPEG, cv::VideoWriter::fourcc('V', 'P', '8', '0')},
      {clip_media_named("mjpeg"), cv::CAP_OPENCV_MJPEG, cv::VideoWriter::fourcc('M', 'J', 'P', 'G')},
  };
  return formats;
}

// Whether `f` can be written here: a few frames into a temporary file.
bool can_write(const ClipFormat& f) {
  const auto path = std::filesystem::temp_directory_path() /
                    fmt::format("gw-clip-probe-{}{}", ::getpid(), f.media->extension);
  bool ok = false;
  try {
    cv::VideoWriter w(path.string(), f.api, f.fourcc, 5.0, cv::Size(64, 48));
    if (w.isOpened()) {
      for (int i = 0; i < 3; ++i) w.write(cv::Mat(48, 64, CV_8UC3, cv::Scalar(40.0 * i, 80, 160)));
      w.release();
      ok = std::filesystem::file_size(path) > 0;
    }
  } catch (const std::exception& e) {
    spdlog::debug("evidence: {} clips: {}", f.media->format, e.what());
  }
  std::error_code ec;
  std::filesystem::remove(path, ec);
  return ok;
}

}  // namespace

const ClipFormat& clip_format(std::string_view preferred) {
  static std::mutex mu;
  static std::map<std::string_view, bool> works;
  static std::set<std::string, std::less<>> warned;
  std::lock_guard lock(mu);
  const auto& all = clip_formats();
  auto start = std::find_if(all.begin(), all.end(), [&](const ClipFormat& f) { return f.media->format == preferred; });
  if (start == all.end()) start = all.begin();
  for (auto it = start; it != all.end(); ++it) {
    auto known = works.find(it->media->format);
    if (known == works.end()) known = works.emplace(it->media->format, can_write(*it)).first;
    if (!known->second) continue;
    if (it != start && warned.insert(std::string(preferred)).second)
      spdlog::warn("evidence: cannot write {} clips here (no {} encoder in FFmpeg); writing {} instead",
                   start->media->format, start->media->codec, it->media->format);
    return *it;
  }
  return all.back();  // Motion-JPEG: OpenCV's own writer
}

const ClipFormat* clip_format_of(const std::filesystem::path& file) {
  const ClipMedia* media = clip_media_of(file);
  for (const ClipFormat& f : clip_formats())
    if (f.media == media) return &f;
  return nullptr;
}

}  // namespace gridwatch::vision
