#include <gtest/gtest.h>

#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include <fstream>

#include <fmt/format.h>
#include <unistd.h>

#include "gridwatch/vision/frame_source.h"
#include "test_data.h"

namespace gridwatch::vision {
namespace {

constexpr const char* kVtest = "/usr/share/doc/opencv-doc/examples/data/vtest.avi";

TEST(VideoFileSource, DecodesTheDebianSampleClip) {
  auto src = VideoFileSource::open(kVtest);
  ASSERT_TRUE(src.has_value()) << src.error().message;
  EXPECT_EQ((*src)->size(), cv::Size(768, 576));
  EXPECT_NEAR((*src)->fps(), 10.0, 0.01);
  double last = -1;
  for (int i = 0; i < 30; ++i) {
    auto f = (*src)->next();
    ASSERT_TRUE(f.has_value()) << f.error().message;
    ASSERT_TRUE(f->has_value()) << "ended early at " << i;
    EXPECT_EQ((*f)->index, i);
    EXPECT_EQ((*f)->image.size(), cv::Size(768, 576));
    EXPECT_EQ((*f)->image.type(), CV_8UC3);
    EXPECT_GT((*f)->media_ms, last);
    last = (*f)->media_ms;
  }
  EXPECT_NEAR(last, 29 * 100.0, 1.0);  // 10 fps
}

// vtest.avi to its end: 795 frames at 10 fps, 79.5 s; after the last frame the file keeps
// saying it has ended.
TEST(VideoFileSource, ReadsTheDebianSampleClipToItsEnd) {
  auto src = VideoFileSource::open(kVtest);
  ASSERT_TRUE(src.has_value()) << src.error().message;
  int64_t frames = 0;
  double last = -1;
  for (;;) {
    auto f = (*src)->next();
    ASSERT_TRUE(f.has_value()) << f.error().message;
    if (!*f) break;
    EXPECT_EQ((*f)->index, frames);
    EXPECT_GT((*f)->media_ms, last) << "frame " << frames;
    last = (*f)->media_ms;
    ++frames;
  }
  EXPECT_EQ(frames, 795);
  EXPECT_NEAR(static_cast<double>(frames) / (*src)->fps(), 79.5, 0.01);
  EXPECT_NEAR(last, 794 * 100.0, 1.0);
  for (int i = 0; i < 2; ++i) {
    auto after = (*src)->next();
    ASSERT_TRUE(after.has_value()) << after.error().message;
    EXPECT_FALSE(after->has_value()) << "a finished file keeps saying so";
  }
}

// A clip the test writes (Motion-JPEG in AVI, 15 fps, each frame marked with its number as a
// white bar at x = 4 * number) reads back to its end: every frame once, in order, with its
// number, time and size.
TEST(VideoFileSource, ReadsAClipItWroteFrameForFrame) {
  const auto path =
      std::filesystem::temp_directory_path() / fmt::format("gw-written-{}.avi", getpid());
  constexpr int kFrames = 47;
  {
    cv::VideoWriter writer(path.string(), cv::VideoWriter::fourcc('M', 'J', 'P', 'G'), 15.0,
                           cv::Size(320, 240));
    ASSERT_TRUE(writer.isOpened()) << path;
    for (int i = 0; i < kFrames; ++i) {
      cv::Mat img(240, 320, CV_8UC3, cv::Scalar(40, 40, 40));
      cv::rectangle(img, cv::Rect(4 * i + 2, 60, 4, 120), cv::Scalar(255, 255, 255), cv::FILLED);
      writer.write(img);
    }
  }
  auto src = VideoFileSource::open(path);
  ASSERT_TRUE(src.has_value()) << src.error().message;
  EXPECT_EQ((*src)->size(), cv::Size(320, 240));
  EXPECT_NEAR((*src)->fps(), 15.0, 0.01);
  int frames = 0;
  for (;;) {
    auto f = (*src)->next();
    ASSERT_TRUE(f.has_value()) << f.error().message;
    if (!*f) break;
    ASSERT_LT(frames, kFrames) << "more frames than written";
    EXPECT_EQ((*f)->index, frames);
    EXPECT_NEAR((*f)->media_ms, frames * 1000.0 / 15.0, 1.0);
    ASSERT_EQ((*f)->image.size(), cv::Size(320, 240));
    // The bar: the brightest column of the middle row is this frame's.
    cv::Mat row;
    cv::cvtColor((*f)->image.row(120), row, cv::COLOR_BGR2GRAY);
    cv::Point brightest;
    cv::minMaxLoc(row, nullptr, nullptr, nullptr, &brightest);
    EXPECT_NEAR(brightest.x, 4 * frames + 3.5, 2) << "frame " << frames;
    ++frames;
  }
  EXPECT_EQ(frames, kFrames);
  auto after = (*src)->next();
  ASSERT_TRUE(after.has_value());
  EXPECT_FALSE(after->has_value()) << "a finished file keeps saying so";
  std::filesystem::remove(path);
}

// The same on a real 30 s clip.
TEST(VideoFileSourceRealData, ReadsTheParkingLotClipToItsEnd) {
  GW_NEED_DATA(clip, "video/parking-lot-car-detection.mp4");
  auto src = VideoFileSource::open(clip);
  ASSERT_TRUE(src.has_value()) << src.error().message;
  EXPECT_EQ((*src)->size(), cv::Size(768, 432));
  int64_t frames = 0;
  for (;;) {
    auto f = (*src)->next();
    ASSERT_TRUE(f.has_value()) << f.error().message;
    if (!*f) break;
    ++frames;
  }
  double seconds = static_cast<double>(frames) / (*src)->fps();
  EXPECT_NEAR(seconds, 30.0, 1.5);  // a 30 s clip
  auto after = (*src)->next();
  ASSERT_TRUE(after.has_value());
  EXPECT_FALSE(after->has_value()) << "a finished file keeps saying so";
}

TEST(VideoFileSource, MissingAndUndecodableFiles) {
  auto missing = VideoFileSource::open("/nonexistent/clip.mp4");
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  EXPECT_NE(missing.error().message.find("no such file"), std::string::npos);

  auto path = std::filesystem::temp_directory_path() / "gw-not-a-video.mp4";
  std::ofstream(path) << "this is not a video";
  auto junk = VideoFileSource::open(path);
  ASSERT_FALSE(junk.has_value());
  EXPECT_EQ(junk.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(junk.error().message.find("cannot be decoded"), std::string::npos) << junk.error().message;
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace gridwatch::vision
