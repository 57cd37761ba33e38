// The dnn detector on a Darknet model the test writes itself: a network small enough to compute
// by hand, loaded the way a user points the detector at one (model, config, names), run on drawn
// frames, its output turned into labelled boxes through the class map, the score thresholds and
// non-maximum suppression.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <opencv2/imgproc.hpp>

#include "gridwatch/vision/detect.h"
#include "gridwatch/vision/pipeline.h"
#include "matchers.h"

namespace gridwatch::vision {
namespace {

using gridwatch::testing::FailsWith;

// The model: a 320x320 RGB input, a 32x32 max pool (a 10x10 grid of cells, each the brightest
// value of every channel in its 32x32 square), a 1x1 linear convolution, and a YOLO layer with
// two anchors (32x32 and 40x40 input pixels) and two classes, "car" and "person".
//
// Per anchor the convolution computes, from a cell's R, G, B in 0..1:
//   x, y, w, h = 0          the box is the anchor, centred on the cell
//   objectness  = 30 R + 30 G - 40 B - 27 (first anchor), - 28 (second anchor)
//   car         = 20 R - 20 G
//   person      = 20 G - 20 R
// so a pure red cell is a car, a pure green one a person, both with objectness sigmoid(3) on
// the first anchor and sigmoid(2) on the second; black, grey (the letterbox padding) and blue
// cells are nothing. OpenCV folds the objectness into the class scores.
constexpr int kAnchors = 2, kClasses = 2, kPerAnchor = 5 + kClasses;
const double kFirstScore = 1.0 / (1.0 + std::exp(-3.0));   // 0.9526
const double kSecondScore = 1.0 / (1.0 + std::exp(-2.0));  // 0.8808

struct TinyModel {
  std::filesystem::path dir, cfg, weights, names;
};

TinyModel write_tiny_model() {
  TinyModel m;
  m.dir = std::filesystem::temp_directory_path() / fmt::format("gw-tiny-yolo-{}", getpid());
  std::filesystem::create_directories(m.dir);
  m.cfg = m.dir / "tiny.cfg";
  m.weights = m.dir / "tiny.weights";
  m.names = m.dir / "tiny.names";
  std::ofstream(m.cfg) << fmt::format(R"([net]
width=320
height=320
channels=3

[maxpool]
size=32
stride=32
padding=0

[convolutional]
size=1
stride=1
pad=0
filters={}
activation=linear

[yolo]
mask=0,1
anchors=32,32, 40,40
classes={}
num={}
)",
                                      kAnchors * kPerAnchor, kClasses, kAnchors);
  // Darknet weights: a header (major 0, minor 2, revision 0, 64-bit count of images seen), then
  // per convolution without batch normalisation its biases, then its weights
  // [filter][channel], all float32.
  std::vector<float> biases(kAnchors * kPerAnchor, 0.0f);
  std::vector<float> weights(kAnchors * kPerAnchor * 3, 0.0f);
  auto w = [&](int filter, int channel) -> float& {
    return weights[static_cast<size_t>(filter * 3 + channel)];
  };
  for (int a = 0; a < kAnchors; ++a) {
    const int obj = a * kPerAnchor + 4, car = obj + 1, person = obj + 2;
    biases[static_cast<size_t>(obj)] = a == 0 ? -27.0f : -28.0f;
    w(obj, 0) = 30.0f;   // R (the blob is RGB)
    w(obj, 1) = 30.0f;   // G
    w(obj, 2) = -40.0f;  // B
    w(car, 0) = 20.0f;
    w(car, 1) = -20.0f;
    w(person, 0) = -20.0f;
    w(person, 1) = 20.0f;
  }
  std::ofstream out(m.weights, std::ios::binary);
  const int32_t header[3] = {0, 2, 0};
  const uint64_t seen = 0;
  out.write(reinterpret_cast<const char*>(header), sizeof header);
  out.write(reinterpret_cast<const char*>(&seen), sizeof seen);
  out.write(reinterpret_cast<const char*>(biases.data()),
            static_cast<std::streamsize>(biases.size() * sizeof(float)));
  out.write(reinterpret_cast<const char*>(weights.data()),
            static_cast<std::streamsize>(weights.size() * sizeof(float)));
  std::ofstream(m.names)
      << "car\r\nperson\r\n";  // as saved on Windows: the \r is not part of the name
  return m;
}

class DnnDetector : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { model_ = write_tiny_model(); }
  static void TearDownTestSuite() { std::filesystem::remove_all(model_.dir); }

  static DetectorConfig config(std::map<std::string, std::string> classes) {
    return {.type = "dnn",
            .model = model_.weights,
            .config = model_.cfg,
            .names = model_.names,
            .classes = std::move(classes)};
  }
  static std::vector<Detection> detect(const DetectorConfig& c, const cv::Mat& frame) {
    auto d = make_detector(c);
    EXPECT_TRUE(d.has_value()) << d.error().message;
    if (!d) return {};
    auto found = (*d)->detect(frame, DetectContext{});
    EXPECT_TRUE(found.has_value()) << "the first call always looks";
    return found ? *found : std::vector<Detection>{};
  }

  static TinyModel model_;
};
TinyModel DnnDetector::model_;

// 640x480, black, with a red square and a green one, each 64x64 on the cells of the 320x320
// letterboxed input (half size): red at cell (3, 2), green at cell (7, 5).
const cv::Rect kRed(192, 128, 64, 64), kGreen(448, 320, 64, 64);
cv::Mat street() {
  cv::Mat img(480, 640, CV_8UC3, cv::Scalar(0, 0, 0));
  img(kRed).setTo(cv::Scalar(0, 0, 255));  // BGR
  img(kGreen).setTo(cv::Scalar(0, 255, 0));
  return img;
}

void expect_box(const Detection& d, const cv::Rect2f& want) {
  EXPECT_NEAR(d.box.x, want.x, 0.5) << d.label;
  EXPECT_NEAR(d.box.y, want.y, 0.5) << d.label;
  EXPECT_NEAR(d.box.width, want.width, 0.5) << d.label;
  EXPECT_NEAR(d.box.height, want.height, 0.5) << d.label;
}

// Only the classes of the map come out, under their new names, in frame pixels; the two
// anchors' boxes of one object overlap (IoU 0.64) and non-maximum suppression keeps the better.
TEST_F(DnnDetector, TurnsTheModelOutputIntoLabelledBoxes) {
  auto only_cars = detect(config({{"car", "vehicle"}}), street());
  ASSERT_EQ(only_cars.size(), 1u);
  EXPECT_EQ(only_cars[0].label, "vehicle");
  EXPECT_NEAR(only_cars[0].score, kFirstScore, 1e-4);
  expect_box(only_cars[0], kRed);

  auto both = detect(config({{"car", "vehicle"}, {"person", "person"}}), street());
  ASSERT_EQ(both.size(), 2u);
  std::sort(both.begin(), both.end(),
            [](const Detection& a, const Detection& b) { return a.label < b.label; });
  EXPECT_EQ(both[0].label, "person");
  expect_box(both[0], kGreen);
  EXPECT_EQ(both[1].label, "vehicle");
  expect_box(both[1], kRed);

  // Nothing drawn, nothing found (the grey letterbox padding included).
  EXPECT_TRUE(detect(config({{"car", "vehicle"}, {"person", "person"}}),
                     cv::Mat(480, 640, CV_8UC3, cv::Scalar(0, 0, 0)))
                  .empty());
}

TEST_F(DnnDetector, ScoreThresholdsAndSuppression) {
  // A per-class minimum above what the model gives people drops them, and only them.
  DetectorConfig picky = config({{"car", "vehicle"}, {"person", "person"}});
  picky.class_scores = {{"person", 0.96}};
  auto found = detect(picky, street());
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].label, "vehicle");

  // Suppression only above an IoU of 0.7: both anchors' boxes of the red square stay, centred
  // on it, 64 and 80 pixels wide.
  DetectorConfig loose = config({{"car", "vehicle"}});
  loose.nms = 0.7;
  auto two = detect(loose, street());
  ASSERT_EQ(two.size(), 2u);
  std::sort(two.begin(), two.end(),
            [](const Detection& a, const Detection& b) { return a.score > b.score; });
  expect_box(two[0], kRed);
  expect_box(two[1], cv::Rect2f(184, 120, 80, 80));
  EXPECT_NEAR(two[1].score, kSecondScore, 1e-4);

  // The general minimum drops the weaker one again.
  loose.score = 0.9;
  auto one = detect(loose, street());
  ASSERT_EQ(one.size(), 1u);
  EXPECT_NEAR(one[0].score, kFirstScore, 1e-4);
}

TEST_F(DnnDetector, ClassesMustBeInTheNamesFile) {
  EXPECT_THAT(make_detector(config({{"unicorn", "vehicle"}})),
              FailsWith(ErrorCode::kInvalidArgument, "classes",
                        "class \"unicorn\" is not in " + model_.names.string()));
  DetectorConfig no_names = config({{"car", "vehicle"}});
  no_names.names = model_.dir / "missing.names";
  EXPECT_THAT(make_detector(no_names),
              FailsWith(ErrorCode::kNotFound, "model", "missing.names: no such file"));
}

// The whole camera pipeline on the tiny model, configured as a user writes it: a red "car"
// arrives at 3 s and stays in a no-parking bay; a green "person" walks along the pavement below
// it, a cell a second. The bay sees one vehicle stand still for its 10 s dwell, once; the
// pavement sees the person and nobody stays there.
TEST_F(DnnDetector, ParkedCarInAPipelineIsOneStationaryEvent) {
  auto config = parse_camera_config(
      fmt::format(R"(camera: {{id: cam-tiny}}
detect: {{fps: 5}}
detectors:
  - type: dnn
    model: {}
    config: {}
    names: {}
    classes: {{car: vehicle, person: person}}
zones:
  - {{name: bay, type: no_parking, polygon: [[160, 100], [290, 100], [290, 220], [160, 220]], classes: [vehicle], dwell: 10s}}
  - {{name: pavement, type: sidewalk, polygon: [[0, 300], [640, 300], [640, 400], [0, 400]], classes: [person], dwell: 60s}}
)",
                  model_.weights.string(), model_.cfg.string(), model_.names.string()),
      "camera.yaml");
  ASSERT_TRUE(config.has_value()) << config.error().message;
  auto pipeline = CameraPipeline::create(std::move(*config));
  ASSERT_TRUE(pipeline.has_value()) << pipeline.error().message;
  std::vector<ZoneEvent> events;
  constexpr double kFps = 5;
  for (int i = 0; i < 125; ++i) {
    const double t = i / kFps;
    cv::Mat img(480, 640, CV_8UC3, cv::Scalar(0, 0, 0));
    if (t >= 3) img(kRed).setTo(cv::Scalar(0, 0, 255));
    if (t >= 5 && t < 15)
      img(cv::Rect(64 * static_cast<int>(t - 5), 320, 64, 64)).setTo(cv::Scalar(0, 255, 0));
    for (auto& e : (*pipeline)->process(Frame{.image = img, .index = i, .media_ms = t * 1000}))
      events.push_back(e);
  }
  for (auto& e : (*pipeline)->finish()) events.push_back(e);
  auto count = [&](const std::string& zone, ZoneEventKind kind) {
    return std::count_if(events.begin(), events.end(),
                         [&](const ZoneEvent& e) { return e.zone == zone && e.kind == kind; });
  };
  std::vector<ZoneEvent> parked;
  for (const ZoneEvent& e : events)
    if (e.zone == "bay" && e.kind == ZoneEventKind::kStationary) parked.push_back(e);
  ASSERT_EQ(parked.size(), 1u);
  EXPECT_EQ(parked[0].label, "vehicle");
  EXPECT_GE(parked[0].media_ms / 1000.0, 13.0);
  EXPECT_LE(parked[0].media_ms / 1000.0, 19.0);
  EXPECT_EQ(count("bay", ZoneEventKind::kEntered), 1);
  EXPECT_GE(count("pavement", ZoneEventKind::kEntered), 1);
  EXPECT_EQ(count("pavement", ZoneEventKind::kStationary), 0);
}

}  // namespace
}  // namespace gridwatch::vision
