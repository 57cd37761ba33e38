#include <gtest/gtest.h>

#include "gridwatch/vision/config.h"
#include "gridwatch/vision/detect.h"
#include "matchers.h"

namespace gridwatch::vision {
namespace {

using gridwatch::testing::FailsWith;

TEST(CameraConfig, ReadsAFullCamera) {
  auto c = parse_camera_config(R"(camera: {id: cam-0107, source: "rtsp://10.0.0.7/stream1"}
detect: {width: 1280, height: 720, fps: 5}
motion: {threshold: 30}
detectors:
  - type: dnn
    model: models/yolo.weights
    config: models/yolo.cfg
    names: models/coco.names
    classes: {car: vehicle, truck: vehicle}
    class_scores: {vehicle: 0.5}
  - {type: stationary, settle: 5s}
zones:
  - name: fire_lane
    type: fire_lane
    polygon: [[0.1, 0.5], [0.9, 0.5], [0.9, 1], [0.1, 1]]
    relative: true
    classes: [vehicle]
    dwell: 2m
evidence: {dir: /var/lib/gridwatch/evidence, blur_faces: true, blur_plates: true}
calibration:
  - {px: 100, py: 700, lon: 116.40, lat: 39.91}
)",
                               "/etc/gridwatch/cam.yaml");
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->id, "cam-0107");
  EXPECT_EQ(c->detect, cv::Size(1280, 720));
  ASSERT_EQ(c->detectors.size(), 2u);
  EXPECT_EQ(c->detectors[0].model, "/etc/gridwatch/models/yolo.weights");
  EXPECT_EQ(c->detectors[0].classes.at("truck"), "vehicle");
  EXPECT_EQ(c->detectors[0].class_scores.at("vehicle"), 0.5);
  EXPECT_EQ(c->detectors[1].settle, std::chrono::seconds{5});
  ASSERT_EQ(c->zones.size(), 1u);
  EXPECT_TRUE(c->zones[0].relative);
  EXPECT_EQ(c->zones[0].dwell, std::chrono::minutes{2});
  EXPECT_TRUE(c->evidence.blur_plates);
  ASSERT_EQ(c->calibration.size(), 1u);
}

TEST(CameraConfig, ErrorsNameFileLineAndKey) {
  const std::string head = "camera: {id: c}\n";
  struct Case {
    std::string body, field, message;
  };
  for (const Case& k : std::vector<Case>{
           {"detectors: [{type: yolo9000}]\n", "detectors[0].type", "cam.yaml:2: detectors[0].type: \"yolo9000\" is not one of"},
           {"detectors: [{type: stationary, colour: red}]\n", "detectors[0].colour", "unknown key"},
           {"detectors: [{type: dnn, model: m, names: n}]\n", "detectors[0].classes", "say which model classes to keep"},
           {"detectors: [{type: dnn, model: m, names: n, classes: {car: vehicle}, input_size: 300}]\n",
            "detectors[0].input_size", "multiple of 32"},
           {"detectors: [{type: stationary}]\nzones: [{name: z, polygon: [[0, 0], [1, 1]]}]\n", "zones[0].polygon",
            "at least 3 points"},
           {"detectors: [{type: stationary}]\nzones: [{name: z, relative: true, polygon: [[0, 0], [2, 0], [1, 1]]}]\n",
            "zones[0].polygon[1]", "relative coordinates are 0-1"},
           {"detectors: [{type: stationary}]\nzones: [{name: z, polygon: [[0, 0], [9, 0], [1, 1]]}, {name: z, polygon: [[0, 0], [9, 0], [1, 1]]}]\n",
            "zones[1].name", "duplicate zone \"z\""},
           {"detectors: []\n", "detectors", "at least one detector"},
           {"detect: {width: 640}\ndetectors: [{type: motion}]\n", "detect.height", "give both width and height"},
           {"detectors: [{type: stationary, min_size_m: 2}]\n", "detectors[0].min_size_m",
            "a size in metres needs calibration points"},
       }) {
    EXPECT_THAT(parse_camera_config(head + k.body, "cam.yaml"), FailsWith(ErrorCode::kConfig, k.field, k.message))
        << k.body;
  }
}

TEST(CameraConfig, AStreamsTransportAndTimeouts) {
  auto c = parse_camera_config(R"(camera: {id: c, source: "rtsp://10.0.0.7:554/main", transport: udp, open_timeout: 5s, stall_after: 4s}
detectors: [{type: motion}]
)", "cam.yaml");
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->capture.transport, "udp");
  EXPECT_EQ(c->capture.open_timeout, std::chrono::seconds{5});
  EXPECT_EQ(c->capture.stall_after, std::chrono::seconds{4});
  auto d = parse_camera_config("camera: {id: c, source: \"rtsp://h/x\"}\ndetectors: [{type: motion}]\n", "cam.yaml");
  ASSERT_TRUE(d.has_value()) << d.error().message;
  EXPECT_EQ(d->capture, CaptureOptions{});  // TCP, 10 s and 10 s
  EXPECT_EQ(d->capture.transport, "tcp");
  struct Case {
    std::string camera, field, message;
  };
  for (const Case& k : std::vector<Case>{
           {"{id: c, source: \"rtsp://h/x\", transport: http}", "camera.transport", "must be tcp or udp"},
           {"{id: c, source: clip.avi, transport: udp}", "camera.transport", "applies to rtsp:// sources"},
           {"{id: c, source: \"http://h/x.mjpg\", transport: tcp}", "camera.transport", "applies to rtsp:// sources"},
           {"{id: c, source: clip.avi, stall_after: 5s}", "camera.stall_after", "applies to network streams"},
           {"{id: c, source: /dev/video0, open_timeout: 5s}", "camera.open_timeout", "not to files or devices"},
           {"{id: c, source: \"rtsp://h/x\", stall_after: 100ms}", "camera.stall_after", ""},
           {"{id: c, source: \"rtsp://h/x\", open_timeout: 1h}", "camera.open_timeout", ""},
       }) {
    EXPECT_THAT(parse_camera_config("camera: " + k.camera + "\ndetectors: [{type: motion}]\n", "cam.yaml"),
                FailsWith(ErrorCode::kConfig, k.field, k.message))
        << k.camera;
  }
}

TEST(Detectors, TheRegistryIsTheOneListOfTypes) {
  EXPECT_EQ(detector_types(), (std::vector<std::string_view>{"dnn", "motion", "stationary", "bin_overflow"}));
  // Every type without a model is built from its configuration, and says its type.
  for (std::string_view type : detector_types()) {
    if (type == "dnn") continue;
    auto d = make_detector(DetectorConfig{.type = std::string(type)});
    ASSERT_TRUE(d.has_value()) << type << ": " << d.error().message;
    EXPECT_EQ((*d)->type(), type);
  }
  // The configuration names the same list.
  const std::string head = "camera: {id: c}\n";
  EXPECT_THAT(parse_camera_config(head + "detectors: [{type: magic}]\n", "cam.yaml"),
              FailsWith(ErrorCode::kConfig, "detectors[0].type",
                        "\"magic\" is not one of: dnn, motion, stationary, bin_overflow"));
  EXPECT_THAT(parse_camera_config(head + "detectors: [{label: x}]\n", "cam.yaml"),
              FailsWith(ErrorCode::kConfig, "detectors[0].type",
                        "required key is missing (dnn, motion, stationary, bin_overflow)"));
}

TEST(Detectors, UnknownTypeAndMissingModelAreClearErrors) {
  DetectorConfig d{.type = "magic"};
  EXPECT_THAT(make_detector(d), FailsWith(ErrorCode::kInvalidArgument, "type",
                                         "unknown detector type \"magic\" (dnn, motion, stationary, bin_overflow)"));
  DetectorConfig dnn{.type = "dnn", .model = "/nonexistent/yolo.weights", .config = "/nonexistent/yolo.cfg",
                     .names = "/nonexistent/coco.names"};
  EXPECT_THAT(make_detector(dnn), FailsWith(ErrorCode::kNotFound, "model", "/nonexistent/yolo.weights: no such file"));
  DetectorConfig onnx{.type = "dnn", .model = "/models/yolov8n.onnx", .names = "/models/coco.names"};
  EXPECT_THAT(make_detector(onnx), FailsWith(ErrorCode::kInvalidArgument, "config", "ONNX models are not supported yet"));
  // A class the model does not know: DnnDetector.ClassesMustBeInTheNamesFile
  // (dnn_detector_test.cc).
}

}  // namespace
}  // namespace gridwatch::vision
