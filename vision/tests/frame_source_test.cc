#include <gtest/gtest.h>

#include <fstream>

#include "gridwatch/vision/frame_source.h"

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

TEST(VideoFileSource, ReadsTheParkingLotClipToItsEnd) {
  auto src = VideoFileSource::open(std::string(GRIDWATCH_SHARED_DIR) +
                                   "/data/video/parking-lot-car-detection.mp4");
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
