// One camera's configuration (YAML; reference in docs/vision.md): its source, the detect size and
// rate, the motion gate, the detectors, the zones and what to keep as evidence.
#pragma once

#include <opencv2/core.hpp>

#include <array>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "gridwatch/domain/error.h"
#include "gridwatch/domain/time.h"
#include "gridwatch/vision/frame_source.h"

namespace gridwatch {
class ConfigNode;
}

namespace gridwatch::vision {

struct MotionConfig {
  int width = 160;          // the gate works on a grey frame this wide
  int threshold = 25;       // grey-level difference that counts as change
  double min_area = 0.0005; // smallest changed region, as a fraction of the frame
  bool operator==(const MotionConfig&) const = default;
};

struct DetectorConfig {
  std::string type;  // dnn | motion | stationary | bin_overflow
  // dnn
  std::filesystem::path model, config, names;  // weights, Darknet .cfg (empty for ONNX), class names
  int input_size = 320;
  double score = 0.4;
  std::map<std::string, double> class_scores;   // per-class minimum scores
  double nms = 0.45;
  std::map<std::string, std::string> classes;   // model class -> our class (unlisted: dropped)
  Duration refresh{std::chrono::seconds{5}};    // full-frame pass even without motion
  bool crop = false;  // between full-frame passes, run on a crop around the moving parts only
  // motion / stationary / bin_overflow
  std::string label = "object";  // class of what it reports
  double min_area = 0.001;       // fraction of the frame
  Duration settle{std::chrono::seconds{3}};     // stationary: how long a change must stay
  Duration learn{std::chrono::seconds{5}};      // bin_overflow: learning the normal state
  double overflow_at = 0.15;     // bin_overflow: changed fraction of the zone that is "over-full"
  // Any detector: drop objects narrower than this on the ground (needs calibration points).
  double min_size_m = 0;
  bool operator==(const DetectorConfig&) const = default;
};

struct ZoneConfig {
  std::string name;
  std::string type;                  // no_parking, fire_lane, bin_station, sidewalk, ...
  std::vector<cv::Point2f> polygon;  // detect-frame pixels, or 0-1 fractions when `relative`
  bool relative = false;
  std::vector<std::string> classes;  // empty: any
  Duration dwell{std::chrono::seconds{60}};  // stationary this long in the zone: event
  bool operator==(const ZoneConfig&) const = default;
};

struct EvidenceConfig {
  std::filesystem::path dir;  // empty: no evidence files
  Duration clip_before{std::chrono::seconds{10}};
  Duration clip_after{std::chrono::seconds{10}};
  bool blur_faces = false;
  bool blur_plates = false;
  std::filesystem::path cascades = "/usr/share/opencv4/haarcascades";
  int jpeg_quality = 85;
  // The clip's format, the first that this machine's OpenCV + FFmpeg can write, in this order:
  // "mp4" (H.264: plays in every browser, phones included), then "webm" (VP8), then "mjpeg"
  // (Motion-JPEG AVI: always available, but browsers do not play it inline).
  std::string clip_format = "mp4";
  bool operator==(const EvidenceConfig&) const = default;
};

struct CameraConfig {
  std::string id;
  std::string source;        // file path, rtsp:// / http:// URL, or /dev/videoN
  // How the agent plays the source (`gridwatch vision replay` ignores these and runs a file as
  // fast as it can):
  bool loop = false;      // a file: start again at its end (a recording standing in for a camera)
  bool realtime = true;   // a file: frames at the file's own rate, as a camera would send them
  int queue = 4;          // frames waiting for analysis at most; when full the oldest is dropped
  CaptureOptions capture;  // a stream's transport and timeouts (transport, open_timeout, stall_after)
  cv::Size detect{0, 0};     // 0: the source's size
  double fps = 5;            // detect rate
  MotionConfig motion;
  std::vector<DetectorConfig> detectors;
  std::vector<ZoneConfig> zones;
  EvidenceConfig evidence;
  // Tracker
  Duration max_age{std::chrono::seconds{2}};             // a moving track unseen this long ends
  Duration stationary_max_age{std::chrono::seconds{30}}; // a stationary one
  double stationary_iou = 0.6;  // box overlap with where it stopped that still counts as still
  // Calibration points for geo/: pixel x, y and lon, lat
  std::vector<std::array<double, 4>> calibration;
  bool operator==(const CameraConfig&) const = default;
};

[[nodiscard]] Result<CameraConfig> load_camera_config(const std::filesystem::path& path);
[[nodiscard]] Result<CameraConfig> parse_camera_config(std::string_view yaml, std::string source);
CameraConfig read_camera_config(const ConfigNode& node);

}  // namespace gridwatch::vision
