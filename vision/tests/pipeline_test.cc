#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include <deque>
#include <map>
#include <random>
#include <set>

#include <fmt/format.h>

#include "gridwatch/vision/pipeline.h"
#include "gridwatch/vision/scene.h"
#include "pipeline_fixtures.h"
#include "test_data.h"

namespace gridwatch::vision {
namespace {

using namespace fixtures;

// ---- real footage --------------------------------------------------------------------------------

// vtest.avi: the white van at the top right stands for the whole clip while people cross. A
// no_parking zone around it (vehicles, 30 s) yields exactly one stationary event at 30 s of clip
// time; a walkway zone for vehicles yields none. Needs the Yolo-Fastest model of the real data.
class VtestVanRealData : public ::testing::TestWithParam<bool> {};

TEST_P(VtestVanRealData, IsOneStationaryEventAtThirtySeconds) {
  GW_NEED_DATA(weights, "models/yolo-fastest-1.1-xl.weights");
  GW_NEED_DATA(cfg, "models/yolo-fastest-1.1-xl.cfg");
  GW_NEED_DATA(names, "models/coco.names");
  const std::string models = std::filesystem::path(weights).parent_path().string() + "/";
  auto src = VideoFileSource::open(kVtest);
  ASSERT_TRUE(src.has_value()) << src.error().message;
  auto events = replay(**src, camera(fmt::format(R"(camera: {{id: cam-vtest}}
detect: {{fps: 5}}
detectors:
  - type: dnn
    model: {0}yolo-fastest-1.1-xl.weights
    config: {0}yolo-fastest-1.1-xl.cfg
    names: {0}coco.names
    classes: {{car: vehicle, truck: vehicle, bus: vehicle, person: person}}
    score: 0.3
    class_scores: {{person: 0.6}}  # an orange cone at the top left passes for a person at 0.54
    crop: {1}
zones:
  - name: van_bay
    type: no_parking
    polygon: [[630, 30], [730, 30], [730, 115], [630, 115]]
    classes: [vehicle]
    dwell: 30s
  - name: walkway
    type: no_parking
    polygon: [[0, 180], [768, 180], [768, 330], [0, 330]]
    classes: [vehicle]
    dwell: 5s
  - name: walkway_people
    type: sidewalk
    polygon: [[0, 180], [768, 180], [768, 330], [0, 330]]
    classes: [person]
    dwell: 60s
)",
                                                 models, GetParam())));
  auto stationary = of(events, "van_bay", ZoneEventKind::kStationary);
  ASSERT_EQ(stationary.size(), 1u);
  EXPECT_NEAR(stationary[0].media_ms / 1000.0, 30.0, 1.0);
  EXPECT_EQ(stationary[0].label, "vehicle");
  EXPECT_GE(stationary[0].dwell_s, 29.0);
  // Full frames see the van as one object from the first frame to the last. Crops now and then
  // see a part of it (a bumper) for a few seconds: an extra track that enters and leaves but
  // never becomes a stationary event.
  if (!GetParam()) {
    EXPECT_EQ(of(events, "van_bay", ZoneEventKind::kEntered).size(), 1u);
  }
  EXPECT_TRUE(of(events, "walkway", ZoneEventKind::kEntered).empty());
  EXPECT_TRUE(of(events, "walkway", ZoneEventKind::kStationary).empty());
  // People do cross it: the person zone sees them (and none stands still for a minute).
  EXPECT_GE(of(events, "walkway_people", ZoneEventKind::kEntered).size(), 3u);
  EXPECT_TRUE(of(events, "walkway_people", ZoneEventKind::kStationary).empty());
}

// Full frames, and crops around what moves between full passes.
INSTANTIATE_TEST_SUITE_P(Dnn, VtestVanRealData, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& p) { return p.param ? "Crops" : "FullFrames"; });

// The parking-lot clip (top down): cars drive through one after another, none stays. With the
// model-free motion detector each car is one track that enters and leaves once, and no
// stationary event comes.
TEST(PipelineRealData, ParkingLotCarsPassThroughAsOneTrackEach) {
  GW_NEED_DATA(clip, "video/parking-lot-car-detection.mp4");
  auto src = VideoFileSource::open(clip);
  ASSERT_TRUE(src.has_value()) << src.error().message;
  auto events = replay(**src, camera(R"(camera: {id: cam-lot}
detect: {fps: 12.5}
detectors:
  - {type: motion, label: vehicle, min_area: 0.01}
zones:
  - name: lot
    type: no_parking
    polygon: [[0, 0], [1, 0], [1, 1], [0, 1]]
    relative: true
    classes: [vehicle]
    dwell: 10s
)"));
  EXPECT_TRUE(of(events, "lot", ZoneEventKind::kStationary).empty());
  std::map<int, std::pair<int, int>> per_track;  // entered, left
  std::map<int, double> entered_at, duration;
  for (const auto& e : events) {
    if (e.kind == ZoneEventKind::kEntered) {
      ++per_track[e.object_id].first;
      entered_at[e.object_id] = e.media_ms;
    }
    if (e.kind == ZoneEventKind::kLeft) {
      ++per_track[e.object_id].second;
      duration[e.object_id] = e.media_ms - entered_at[e.object_id];
    }
  }
  // Four cars are plain to see (a white one, a grey and a red one together, a white one), and
  // the clip starts with one leaving at the top: "five or so".
  EXPECT_GE(per_track.size(), 4u);
  EXPECT_LE(per_track.size(), 6u);
  // `left` is stamped at the last sighting, so a duration is what was seen. A blob seen for a
  // moment (an exposure change in a corner, 80 ms) is no car and may happen once; anything
  // longer that is still short is a car's track cut in two.
  int flickers = 0;
  for (const auto& [id, n] : per_track) {
    EXPECT_EQ(n.first, 1) << "track " << id;
    EXPECT_EQ(n.second, 1) << "track " << id;
    if (duration[id] < 500) {
      ++flickers;
      continue;
    }
    EXPECT_GE(duration[id], 1500) << "track " << id << " is a fragment (an id switch)";
  }
  EXPECT_LE(flickers, 1);
}

// ---- synthetic clips -------------------------------------------------------------------------------


// An object arrives at 5 s and stays: one stationary event 10 s later (the zone's dwell), from
// the model-free detector. Flicker, a lighting change at 25 s and a person walking in front of it
// at 30 s bring no second event.
TEST(Pipeline, StationaryDetectorArrivedAndStayedWithFlickerLightAndOccluder) {
  const cv::Mat bg = background(1);
  const double fps = 10;
  std::mt19937 rng(3);
  std::uniform_real_distribution<double> flicker(0.94, 1.06);
  FakeSource src(
      [&](int i) {
        const double t = i / fps;
        cv::Mat img = bg.clone();
        if (t >= 5) textured_box(img, {150, 120, 60, 40}, {30, 30, 200}, 7);  // a dumped sofa
        if (t >= 30 && t < 33) {  // a person crosses in front of it
          const int x = 100 + static_cast<int>((t - 30) * 50);
          textured_box(img, {x, 100, 20, 70}, {200, 150, 40}, 9);
        }
        double gain = flicker(rng) * (t >= 25 ? 1.3 : 1.0);
        img.convertTo(img, -1, gain);
        return img;
      },
      450, fps);
  auto events = replay(src, camera(R"(camera: {id: cam-syn}
detect: {fps: 10}
detectors:
  - {type: stationary, label: object, min_area: 0.005, settle: 3s}
zones:
  - name: pavement
    type: sidewalk
    polygon: [[100, 80], [260, 80], [260, 190], [100, 190]]
    dwell: 10s
)"));
  auto stationary = of(events, "pavement", ZoneEventKind::kStationary);
  ASSERT_EQ(stationary.size(), 1u);
  EXPECT_NEAR(stationary[0].media_ms / 1000.0, 15.0, 1.0);
  EXPECT_EQ(stationary[0].label, "object");
  EXPECT_EQ(of(events, "pavement", ZoneEventKind::kEntered).size(), 1u)
      << "the object kept its track through the light change and the occluder";
}

// min_size_m: with a ground scale of 5 cm a pixel the 60-pixel object is 3 m wide: kept at a
// 2 m minimum, dropped at 4 m; a pipeline that needs the scale and has none is refused.
TEST(Pipeline, MinimumSizeInMetresUsesTheGroundScale) {
  const cv::Mat bg = background(6);
  auto clip = [&] {
    return FakeSource(
        [&](int i) {
          cv::Mat img = bg.clone();
          if (i >= 20) textured_box(img, {150, 120, 60, 40}, {30, 30, 200}, 7);
          return img;
        },
        150, 10);
  };
  auto yaml = [](double min_m) {
    return fmt::format(R"(camera: {{id: c}}
detect: {{fps: 10}}
detectors: [{{type: stationary, settle: 2s, min_size_m: {}}}]
zones: [{{name: z, polygon: [[100, 80], [260, 80], [260, 190], [100, 190]], dwell: 3s}}]
calibration: [{{px: 0, py: 0, lon: 0, lat: 0}}]
)",
                       min_m);
  };
  GroundSize five_cm = [](const cv::Rect2f& b) -> std::optional<double> { return static_cast<double>(b.width) * 0.05; };
  for (double min_m : {2.0, 4.0}) {
    auto p = CameraPipeline::create(camera(yaml(min_m)), five_cm);
    ASSERT_TRUE(p.has_value()) << p.error().message;
    auto src = clip();
    size_t stationary = 0;
    for (;;) {
      auto f = src.next();
      if (!f || !*f) break;
      for (const auto& e : (*p)->process(**f)) stationary += e.kind == ZoneEventKind::kStationary;
    }
    EXPECT_EQ(stationary, min_m < 3 ? 1u : 0u) << "min_size_m " << min_m;
  }
  auto none = CameraPipeline::create(camera(yaml(2)));
  ASSERT_FALSE(none.has_value());
  EXPECT_NE(none.error().message.find("min_size_m needs the camera's calibration"), std::string::npos);
}

// A bin station fills up from 8 s: one overflow event, with a fill estimate that rises.
TEST(Pipeline, BinStationFillingUpIsOneOverflowEventWithRisingFill) {
  const cv::Mat bg = background(2);
  const double fps = 5;
  FakeSource src(
      [&](int i) {
        const double t = i / fps;
        cv::Mat img = bg.clone();
        textured_box(img, {200, 60, 60, 80}, {40, 120, 40}, 11);  // the bins, always there
        if (t >= 8) {  // bags pile up beside them, a bit more every second
          const int h = std::min(80, static_cast<int>((t - 8) * 8));
          textured_box(img, {140, 140 - h, 60, h + 1}, {20, 20, 20}, 13);
        }
        return img;
      },
      150, fps);
  std::vector<double> fills;
  auto events = replay(
      src,
      camera(R"(camera: {id: cam-bins}
detect: {fps: 5}
detectors:
  - {type: bin_overflow, learn: 4s, settle: 1s, overflow_at: 0.1}
zones:
  - name: station
    type: bin_station
    polygon: [[130, 50], [270, 50], [270, 150], [130, 150]]
    classes: [bin_overflow]
    dwell: 5s
)"),
      nullptr, [&](const CameraPipeline& p) {
        for (const Track& t : p.tracks())
          if (t.fill && (fills.empty() || *t.fill != fills.back())) fills.push_back(*t.fill);
      });
  auto overflow = of(events, "station", ZoneEventKind::kStationary);
  ASSERT_EQ(overflow.size(), 1u);
  ASSERT_TRUE(overflow[0].fill.has_value());
  EXPECT_GE(*overflow[0].fill, 0.1);
  ASSERT_GE(fills.size(), 3u);
  EXPECT_GT(fills.back(), fills.front() + 0.1) << "the fill estimate rises as the pile grows";
}

// ---- faults ----------------------------------------------------------------------------------------

TEST(Pipeline, CorruptFramesAreSkippedAndCounted) {
  const cv::Mat bg = background(3);
  FakeSource src(
      [&](int i) {
        if (i % 10 == 3) return cv::Mat();                       // an empty frame
        if (i % 10 == 7) return cv::Mat(240, 320, CV_8UC1, 0.0);  // wrong format
        if (i % 10 == 9) return cv::Mat(100, 100, CV_8UC3, cv::Scalar(1, 2, 3));  // wrong size
        if (i % 10 == 5) return cv::Mat(1, 640, CV_8UC3, cv::Scalar(1, 2, 3));    // a sliver
        return bg.clone();
      },
      100, 10);
  PipelineStats stats;
  auto events = replay(src, camera("camera: {id: c}\ndetectors: [{type: stationary}]\n"), &stats);
  EXPECT_EQ(stats.frames_in, 100);
  EXPECT_EQ(stats.frames_corrupt, 40);
  EXPECT_TRUE(events.empty());
}

// A camera away for 21 s (an outage of its stream) that comes back on the same scene: the parked
// car keeps its track (the outage is shorter than stationary_max_age), nothing is reported twice.
TEST(Pipeline, AParkedCarSeenAgainAfterAnOutageKeepsItsTrack) {
  struct WithOutage final : FrameSource {
    StreetScene scene;
    int i = 0;
    Result<std::optional<Frame>> next() override {
      if (i == 240)  // 24 s: the stream goes; it comes back showing 45 s
        for (; i < 450; ++i) (void)scene.next();
      if (i >= 600) return std::optional<Frame>{};
      auto f = scene.next();
      if (!f || !*f) return f;
      (*f)->media_ms = i * 100.0;
      ++i;
      return f;
    }
    double fps() const override { return 10; }
    cv::Size size() const override { return scene.size(); }
  } src;
  auto events = replay(src, camera(R"(camera: {id: street}
detect: {fps: 5}
detectors: [{type: stationary, label: object, min_area: 0.004, settle: 2s}]
zones: [{name: no_parking, type: no_parking, polygon: [[70, 225], [340, 225], [340, 302], [70, 302]], classes: [object], dwell: 10s}]
tracker: {stationary_max_age: 30s}
)"));
  EXPECT_EQ(of(events, "no_parking", ZoneEventKind::kEntered).size(), 1u);
  EXPECT_EQ(of(events, "no_parking", ZoneEventKind::kStationary).size(), 1u);
  for (const auto& e : of(events, "no_parking", ZoneEventKind::kLeft))
    EXPECT_GE(e.media_ms, 59'000.0) << "left while the car was still there";
}

}  // namespace
}  // namespace gridwatch::vision
