// Evidence of a camera's events: the snapshot and the clip, and the privacy filter.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>

#include <fmt/format.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/videoio.hpp>

#include "pipeline_fixtures.h"

namespace gridwatch::vision {
namespace {

using namespace fixtures;

// ---- evidence ----------------------------------------------------------------------------------------

TEST(Evidence, StationaryEventWritesASnapshotAndAClip) {
  auto dir = std::filesystem::temp_directory_path() / fmt::format("gw-evidence-{}", getpid());
  std::filesystem::remove_all(dir);
  const cv::Mat bg = background(5);
  FakeSource src(
      [&](int i) {
        cv::Mat img = bg.clone();
        if (i >= 20) textured_box(img, {150, 120, 60, 40}, {30, 30, 200}, 7);
        return img;
      },
      200, 10);
  auto events = replay(src, camera(fmt::format(R"(camera: {{id: cam-ev}}
detect: {{fps: 10}}
detectors: [{{type: stationary, settle: 2s}}]
zones:
  - {{name: z, polygon: [[100, 80], [260, 80], [260, 190], [100, 190]], dwell: 5s}}
evidence: {{dir: {}, clip_before: 3s, clip_after: 2s}}
)",
                                                   dir.string())));
  auto st = of(events, "z", ZoneEventKind::kStationary);
  ASSERT_EQ(st.size(), 1u);
  cv::Mat shot = cv::imread(st[0].snapshot);
  ASSERT_FALSE(shot.empty()) << st[0].snapshot;
  EXPECT_EQ(shot.size(), cv::Size(320, 240));
  cv::VideoCapture clip(st[0].clip);
  ASSERT_TRUE(clip.isOpened()) << st[0].clip;
  int frames = 0;
  for (cv::Mat f; clip.read(f);) ++frames;
  EXPECT_NEAR(frames, 51, 2);  // 3 s before + 2 s after at 10 fps
  std::filesystem::remove_all(dir);
}

TEST(Evidence, PrivacyFilterBlursAPlateAndNamesMissingCascades) {
  auto missing = PrivacyFilter::load("/nonexistent", true, false);
  ASSERT_FALSE(missing.has_value());
  EXPECT_NE(missing.error().message.find("/nonexistent/haarcascade_frontalface_default.xml"), std::string::npos);
  cv::Mat img = cv::imread("/usr/share/doc/opencv-doc/examples/data/licenseplate_motion.jpg");
  ASSERT_FALSE(img.empty());
  auto filter = PrivacyFilter::load("/usr/share/opencv4/haarcascades", true, true);
  ASSERT_TRUE(filter.has_value()) << filter.error().message;
  cv::Mat before = img.clone();
  const int n = (*filter)->apply(img);
  EXPECT_GE(n, 1);
  EXPECT_GT(cv::norm(before, img, cv::NORM_L1), 0.0);
}

}  // namespace
}  // namespace gridwatch::vision
