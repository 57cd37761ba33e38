// Evidence clips in a format browsers play: MP4 (H.264) through OpenCV's FFmpeg writer, WebM
// (VP8) next, Motion-JPEG AVI as the fallback that is always there.
#include <gtest/gtest.h>

#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include <filesystem>

#include <fmt/format.h>

#include "gridwatch/vision/evidence.h"

namespace gridwatch::vision {
namespace {

// Writes `n` frames of a moving dot with `f`'s writer and reads them back.
int write_and_count(const ClipFormat& f, int n) {
  const auto path = std::filesystem::temp_directory_path() /
                    fmt::format("gw-clip-test-{}{}", getpid(), f.media->extension);
  {
    cv::VideoWriter w(path.string(), f.api, f.fourcc, 5.0, cv::Size(320, 240));
    EXPECT_TRUE(w.isOpened()) << f.media->format;
    for (int i = 0; i < n; ++i) {
      cv::Mat img(240, 320, CV_8UC3, cv::Scalar(60, 90, 120));
      cv::circle(img, {20 + 10 * i, 120}, 12, cv::Scalar(0, 0, 255), -1);
      w.write(img);
    }
  }
  cv::VideoCapture r(path.string());
  int frames = 0;
  for (cv::Mat img; r.read(img); ++frames) EXPECT_EQ(img.size(), cv::Size(320, 240));
  std::filesystem::remove(path);
  return frames;
}

// Debian 12's OpenCV writes H.264 through FFmpeg (libx264) and VP8 (libvpx): the default is a
// clip every browser plays inline.
TEST(ClipFormat, TheDefaultIsH264InMp4AndEveryFormatReadsBack) {
  const ClipFormat& mp4 = clip_format("mp4");
  EXPECT_EQ(mp4.media->format, "mp4") << "FFmpeg without an H.264 encoder here";
  EXPECT_EQ(mp4.media->codec, "h264");
  EXPECT_EQ(mp4.media->mime, "video/mp4");
  EXPECT_TRUE(mp4.media->plays_in_browsers);
  EXPECT_EQ(write_and_count(mp4, 20), 20);
  const ClipFormat& webm = clip_format("webm");
  EXPECT_EQ(webm.media->codec, "vp8");
  EXPECT_EQ(write_and_count(webm, 20), 20);
  const ClipFormat& mjpeg = clip_format("mjpeg");
  EXPECT_EQ(mjpeg.media->extension, ".avi");
  EXPECT_FALSE(mjpeg.media->plays_in_browsers);
  EXPECT_EQ(write_and_count(mjpeg, 20), 20);
}

TEST(ClipFormat, AFileIsKnownByItsExtension) {
  EXPECT_EQ(clip_format_of("/evidence/cam-1-3-zone-7-12000.mp4"), &clip_format("mp4"));
  EXPECT_EQ(clip_format_of("cam.webm")->media->mime, "video/webm");
  EXPECT_EQ(clip_format_of("cam.avi")->media->codec, "mjpeg");
  EXPECT_EQ(clip_format_of("cam.jpg"), nullptr);
  EXPECT_EQ(clip_format_of("cam"), nullptr);
  // An unknown preference starts at the most playable.
  EXPECT_EQ(&clip_format("gif"), &clip_format("mp4"));
}

}  // namespace
}  // namespace gridwatch::vision
