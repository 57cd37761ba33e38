// What a browser-playable evidence clip costs an edge box: writing the same frames as MP4 (H.264)
// and WebM (VP8) through OpenCV's FFmpeg writer against Motion-JPEG AVI (OpenCV's own writer, the
// fallback), milliseconds per frame and bytes per clip, in the same run. The frames are the first
// N of Debian's vtest.avi (768x576), decoded once beforehand, written at 5 fps as a camera's clip.
//
//   build/bench/clip_bench [FRAMES=100] [ROUNDS=3]
#include <opencv2/core/utility.hpp>
#include <opencv2/videoio.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <unistd.h>

#include "gridwatch/vision/evidence.h"

using namespace gridwatch;

namespace {

const std::string kVtest = "/usr/share/doc/opencv-doc/examples/data/vtest.avi";

struct Written {
  double ms_per_frame = 0;
  uintmax_t bytes = 0;
};

// Writes `frames` with `f`, best of `rounds`.
Written write_clip(const vision::ClipFormat& f, const std::vector<cv::Mat>& frames, int rounds) {
  Written best{.ms_per_frame = 1e300};
  const auto path = std::filesystem::temp_directory_path() / fmt::format("gw-clip-bench-{}{}", getpid(), f.media->extension);
  for (int r = 0; r < rounds; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    {
      cv::VideoWriter w(path.string(), f.api, f.fourcc, 5.0, frames.front().size());
      if (!w.isOpened()) return {};
      for (const cv::Mat& img : frames) w.write(img);
    }
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    best.ms_per_frame = std::min(best.ms_per_frame, ms / static_cast<double>(frames.size()));
    best.bytes = std::filesystem::file_size(path);
  }
  std::filesystem::remove(path);
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 100;
  const int rounds = argc > 2 ? std::atoi(argv[2]) : 3;
  cv::setNumThreads(1);  // a camera's analysis thread writes its clips
  cv::VideoCapture cap(kVtest);
  if (!cap.isOpened()) {
    std::fprintf(stderr, "needs %s (Debian package opencv-doc)\n", kVtest.c_str());
    return 2;
  }
  std::vector<cv::Mat> frames;
  for (cv::Mat img; static_cast<int>(frames.size()) < n && cap.read(img);) frames.push_back(img.clone());
  const auto decode_t0 = std::chrono::steady_clock::now();
  {
    cv::VideoCapture again(kVtest);
    cv::Mat img;
    for (int i = 0; i < n && again.read(img); ++i) {
    }
  }
  const double decode_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - decode_t0).count() / n;
  const Written mjpeg = write_clip(vision::clip_format("mjpeg"), frames, rounds);
  const Written mp4 = write_clip(vision::clip_format("mp4"), frames, rounds);
  const Written webm = write_clip(vision::clip_format("webm"), frames, rounds);
  fmt::print("{} frames of {}x{} at 5 fps, best of {}; decoding the same frames: {:.2f} ms each\n", frames.size(),
             frames.front().cols, frames.front().rows, rounds, decode_ms);
  for (const auto& [name, w] : {std::pair{"mjpeg", mjpeg}, std::pair{"mp4 (h264)", mp4}, std::pair{"webm (vp8)", webm}})
    fmt::print("  {:<11} {:6.2f} ms/frame  {:8} bytes\n", name, w.ms_per_frame, w.bytes);
  fmt::print(
      "RESULT frames={} mjpeg_ms={:.2f} mp4_ms={:.2f} webm_ms={:.2f} ratio_mp4_vs_mjpeg={:.2f} "
      "ratio_webm_vs_mjpeg={:.2f} ratio_mp4_vs_decode={:.2f} mjpeg_bytes={} mp4_bytes={} webm_bytes={} "
      "ratio_mp4_size_vs_mjpeg={:.3f}\n",
      frames.size(), mjpeg.ms_per_frame, mp4.ms_per_frame, webm.ms_per_frame, mp4.ms_per_frame / mjpeg.ms_per_frame,
      webm.ms_per_frame / mjpeg.ms_per_frame, mp4.ms_per_frame / decode_ms, mjpeg.bytes, mp4.bytes, webm.bytes,
      static_cast<double>(mp4.bytes) / static_cast<double>(mjpeg.bytes));
  return 0;
}
