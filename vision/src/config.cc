#include "gridwatch/vision/config.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <yaml-cpp/yaml.h>

#include "gridwatch/domain/config.h"
#include "gridwatch/domain/order.h"
#include "gridwatch/vision/detect.h"
#include "gridwatch/vision/frame_source.h"

namespace gridwatch::vision {
namespace {

using namespace std::chrono;

DetectorConfig read_detector(const ConfigNode& n) {
  DetectorConfig d;
  const auto& types = detector_types();
  d.type = n.string("type", "");
  if (d.type.empty()) n.raise("type", fmt::format("required key is missing ({})", fmt::join(types, ", ")));
  if (std::find(types.begin(), types.end(), d.type) == types.end())
    n.raise("type", fmt::format("\"{}\" is not one of: {}", d.type, fmt::join(types, ", ")));
  if (d.type == "dnn") {
    n.allow_only({"type", "model", "config", "names", "input_size", "score", "class_scores", "nms",
                  "classes", "refresh", "crop", "min_size_m"});
    d.model = n.path("model");
    if (n.has("config")) d.config = n.path("config");
    d.names = n.path("names");
    d.input_size = static_cast<int>(n.integer("input_size", 320, 32, 2048));
    if (d.input_size % 32 != 0) n.raise("input_size", "must be a multiple of 32");
    d.score = n.number("score", 0.4, 0.0, 1.0);
    d.nms = n.number("nms", 0.45, 0.0, 1.0);
    if (auto cs = n.find("class_scores")) {
      for (auto it = cs->yaml().begin(); it != cs->yaml().end(); ++it) {
        const std::string k = it->first.Scalar();
        d.class_scores[k] = cs->number(k, 0.0, 1.0);
      }
    }
    if (auto cl = n.find("classes")) {
      if (!cl->yaml().IsMap()) n.raise("classes", "expected a mapping model_class: our_class, e.g. {car: vehicle}");
      for (auto it = cl->yaml().begin(); it != cl->yaml().end(); ++it)
        d.classes[it->first.Scalar()] = cl->string(it->first.Scalar());
    }
    if (d.classes.empty()) n.raise("classes", "say which model classes to keep, e.g. {car: vehicle, truck: vehicle}");
    d.refresh = n.duration("refresh", d.refresh, milliseconds{0}, hours{1});
    d.crop = n.boolean("crop", false);
  } else {
    n.allow_only({"type", "label", "min_area", "settle", "learn", "overflow_at", "min_size_m"});
    d.label = n.string("label", d.type == "bin_overflow" ? "bin_overflow" : "object");
    d.min_area = n.number("min_area", d.min_area, 0.0, 1.0);
    d.settle = n.duration("settle", d.settle, milliseconds{100}, hours{1});
    d.learn = n.duration("learn", d.learn, milliseconds{100}, hours{1});
    d.overflow_at = n.number("overflow_at", d.overflow_at, 0.001, 1.0);
    if (d.type != "stationary" && n.has("settle") && d.type != "bin_overflow") n.raise("settle", "applies to stationary and bin_overflow");
  }
  d.min_size_m = n.number("min_size_m", 0, 0, 1000);
  return d;
}

ZoneConfig read_zone(const ConfigNode& n) {
  n.allow_only({"name", "type", "polygon", "relative", "classes", "dwell"});
  ZoneConfig z;
  z.name = n.string("name");
  if (!is_valid_id(z.name, 64)) n.raise("name", "must be 1-64 characters of A-Z a-z 0-9 . _ -");
  if (z.name.find(':') != std::string::npos) n.raise("name", "must not contain ':'");
  z.type = n.string("type", "zone");
  z.relative = n.boolean("relative", false);
  for (const ConfigNode& p : n.list("polygon", true)) {
    if (!p.yaml().IsSequence() || p.yaml().size() != 2) p.raise("", "a point is [x, y]");
    double x = 0, y = 0;
    try {
      x = p.yaml()[0].as<double>();
      y = p.yaml()[1].as<double>();
    } catch (const YAML::Exception&) {
      p.raise("", "a point is two numbers [x, y]");
    }
    if (x < 0 || y < 0 || (z.relative && (x > 1 || y > 1)))
      p.raise("", z.relative ? "relative coordinates are 0-1" : "pixel coordinates are >= 0");
    z.polygon.emplace_back(static_cast<float>(x), static_cast<float>(y));
  }
  if (z.polygon.size() < 3) n.raise("polygon", "a zone needs at least 3 points");
  z.classes = n.strings("classes");
  z.dwell = n.duration("dwell", z.dwell, milliseconds{0}, days{7});
  return z;
}

}  // namespace

CameraConfig read_camera_config(const ConfigNode& root) {
  root.allow_only({"camera", "detect", "motion", "detectors", "zones", "evidence", "tracker", "calibration"});
  CameraConfig c;
  ConfigNode cam = root.at("camera");
  cam.allow_only({"id", "source", "loop", "realtime", "queue", "transport", "open_timeout", "stall_after"});
  c.id = cam.string("id");
  if (!is_valid_id(c.id, 64) || c.id.find(':') != std::string::npos)
    cam.raise("id", "must be 1-64 characters of A-Z a-z 0-9 . _ -");
  if (c.id.find_first_not_of('.') == std::string::npos) cam.raise("id", "must not be only dots (it names a folder)");
  c.source = cam.string("source", "");
  // A file named relative to the configuration file (streams and devices are taken as they are).
  if (!c.source.empty() && !is_live(c.source)) c.source = cam.path("source").string();
  c.loop = cam.boolean("loop", false);
  c.realtime = cam.boolean("realtime", true);
  c.queue = static_cast<int>(cam.integer("queue", 4, 1, 100));
  if (c.loop && is_live(c.source)) cam.raise("loop", "applies to files, not to streams or devices");
  c.capture.transport = cam.string("transport", "tcp");
  if (c.capture.transport != "tcp" && c.capture.transport != "udp") cam.raise("transport", "must be tcp or udp");
  if (cam.has("transport") && c.source.rfind("rtsp://", 0) != 0 && c.source.rfind("rtsps://", 0) != 0)
    cam.raise("transport", "applies to rtsp:// sources");
  c.capture.open_timeout = std::chrono::duration_cast<milliseconds>(
      cam.duration("open_timeout", c.capture.open_timeout, seconds{1}, minutes{2}));
  c.capture.stall_after = std::chrono::duration_cast<milliseconds>(
      cam.duration("stall_after", c.capture.stall_after, seconds{1}, minutes{10}));
  for (const char* key : {"open_timeout", "stall_after"})
    if (cam.has(key) && (!is_live(c.source) || c.source.rfind("/dev/video", 0) == 0))
      cam.raise(key, "applies to network streams (rtsp://, http://), not to files or devices");
  if (auto d = root.find("detect")) {
    d->allow_only({"width", "height", "fps"});
    c.detect.width = static_cast<int>(d->integer("width", 0, 0, 7680));
    c.detect.height = static_cast<int>(d->integer("height", 0, 0, 4320));
    if ((c.detect.width == 0) != (c.detect.height == 0)) d->raise("height", "give both width and height, or neither");
    c.fps = d->number("fps", 5, 0.1, 60);
  }
  if (auto m = root.find("motion")) {
    m->allow_only({"width", "threshold", "min_area"});
    c.motion.width = static_cast<int>(m->integer("width", c.motion.width, 32, 1920));
    c.motion.threshold = static_cast<int>(m->integer("threshold", c.motion.threshold, 1, 255));
    c.motion.min_area = m->number("min_area", c.motion.min_area, 0.0, 1.0);
  }
  for (const ConfigNode& n : root.list("detectors", true)) c.detectors.push_back(read_detector(n));
  if (c.detectors.empty()) root.raise("detectors", "at least one detector");
  std::set<std::string> names;
  for (const ConfigNode& n : root.list("zones")) {
    ZoneConfig z = read_zone(n);
    if (!names.insert(z.name).second) n.raise("name", fmt::format("duplicate zone \"{}\"", z.name));
    c.zones.push_back(std::move(z));
  }
  if (auto e = root.find("evidence")) {
    e->allow_only({"dir", "clip_before", "clip_after", "blur_faces", "blur_plates", "cascades", "jpeg_quality",
                   "clip_format"});
    if (e->has("dir")) c.evidence.dir = e->path("dir");
    c.evidence.clip_before = e->duration("clip_before", c.evidence.clip_before, milliseconds{0}, minutes{2});
    c.evidence.clip_after = e->duration("clip_after", c.evidence.clip_after, milliseconds{0}, minutes{2});
    c.evidence.blur_faces = e->boolean("blur_faces", false);
    c.evidence.blur_plates = e->boolean("blur_plates", false);
    if (e->has("cascades")) c.evidence.cascades = e->path("cascades");
    c.evidence.jpeg_quality = static_cast<int>(e->integer("jpeg_quality", 85, 10, 100));
    c.evidence.clip_format = e->choice("clip_format", {"mp4", "webm", "mjpeg"}, "mp4");
  }
  if (auto t = root.find("tracker")) {
    t->allow_only({"max_age", "stationary_max_age", "stationary_iou"});
    c.max_age = t->duration("max_age", c.max_age, milliseconds{100}, minutes{10});
    c.stationary_max_age = t->duration("stationary_max_age", c.stationary_max_age, milliseconds{100}, hours{24});
    c.stationary_iou = t->number("stationary_iou", c.stationary_iou, 0.1, 1.0);
  }
  for (size_t i = 0; i < c.detectors.size(); ++i)
    if (c.detectors[i].min_size_m > 0 && !root.has("calibration"))
      root.list("detectors")[i].raise("min_size_m", "a size in metres needs calibration points (calibration:)");
  for (const ConfigNode& p : root.list("calibration")) {
    p.allow_only({"px", "py", "lon", "lat"});
    c.calibration.push_back({p.number("px", 0, 1e5), p.number("py", 0, 1e5), p.number("lon", -180, 180),
                             p.number("lat", -90, 90)});
  }
  return c;
}

Result<CameraConfig> parse_camera_config(std::string_view yaml, std::string source) {
  return read_config_text<CameraConfig>(yaml, std::move(source), read_camera_config);
}

Result<CameraConfig> load_camera_config(const std::filesystem::path& path) {
  auto text = read_text_file(path);
  if (!text) return std::unexpected(text.error());
  return parse_camera_config(*text, path.string());
}

}  // namespace gridwatch::vision
