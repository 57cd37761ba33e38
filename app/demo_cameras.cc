#include "demo_cameras.h"

#include "camera_geo.h"

#include <opencv2/imgproc.hpp>

#include <chrono>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "gridwatch/geo/calibration.h"
#include "gridwatch/vision/pipeline.h"

namespace gridwatch::app {
namespace {

using Clock = std::chrono::steady_clock;
constexpr const char* kVtest = "/usr/share/doc/opencv-doc/examples/data/vtest.avi";

// ---- a street the demo draws: 640x360, 10 fps, a 120 s story on repeat ----------------------------
//
//   8 s   a red car drives in from the left and parks in the no-parking zone (yellow markings)
//  20 s   bags start piling up beside the bins at the right; the pile grows until 40 s
//  80 s   the car drives away
// 100 s   the bins are emptied and the pavement swept
// People walk along the far pavement all the time.
class StreetScene final : public vision::FrameSource {
 public:
  static constexpr double kFps = 10;
  static constexpr double kPeriod = 120;

  StreetScene() : background_(360, 640, CV_8UC3) {
    cv::RNG rng(20261123);
    background_.setTo(cv::Scalar(70, 70, 72));                                          // road
    background_(cv::Rect(0, 0, 640, 60)).setTo(cv::Scalar(90, 110, 150));               // building
    background_(cv::Rect(0, 60, 640, 60)).setTo(cv::Scalar(150, 150, 145));             // far pavement
    background_(cv::Rect(0, 300, 640, 60)).setTo(cv::Scalar(150, 150, 145));            // near pavement
    cv::Mat noise(background_.size(), CV_8UC3);
    rng.fill(noise, cv::RNG::NORMAL, 0, 6);
    background_ += noise;
    for (int x = 0; x < 640; x += 80) cv::rectangle(background_, {x, 208, 40, 4}, cv::Scalar(230, 230, 230), cv::FILLED);
    for (int x = 80; x < 330; x += 24) cv::line(background_, {x, 296}, {x + 12, 286}, cv::Scalar(0, 210, 240), 2);
    cv::line(background_, {0, 300}, {640, 300}, cv::Scalar(200, 200, 200), 2);
    cv::rectangle(background_, {505, 295, 30, 50}, cv::Scalar(40, 120, 40), cv::FILLED);  // bins
    cv::rectangle(background_, {545, 295, 30, 50}, cv::Scalar(40, 120, 40), cv::FILLED);
  }

  Result<std::optional<vision::Frame>> next() override {
    const double t = std::fmod(static_cast<double>(index_) / kFps, kPeriod);
    cv::Mat img = background_.clone();
    // The car: drives in 8-12 s, parked until 80 s, leaves by 86 s.
    double car_x = -200;
    if (t >= 8 && t < 12) car_x = -160 + (t - 8) * 72.5;
    else if (t >= 12 && t < 80) car_x = 130;
    else if (t >= 80 && t < 88) car_x = 130 + (t - 80) * 80;
    if (car_x > -160 && car_x < 640) draw_car(img, static_cast<int>(car_x));
    // The pile by the bins.
    if (t >= 20 && t < 100) {
      const double grow = std::min(1.0, (t - 20) / 20);
      const int w = static_cast<int>(100 * grow), h = static_cast<int>(40 * grow);
      if (w > 0 && h > 0) {
        cv::RNG rng(7);
        cv::Mat pile(h, w, CV_8UC3);
        rng.fill(pile, cv::RNG::UNIFORM, cv::Scalar(10, 10, 10), cv::Scalar(60, 60, 60));
        cv::Rect r(470, 345 - h, w, h);
        r &= cv::Rect(0, 0, 640, 360);
        pile(cv::Rect(0, 0, r.width, r.height)).copyTo(img(r));
      }
    }
    // People on the far pavement.
    for (int k = 0; k < 3; ++k) {
      const double x = std::fmod(t * 40 + k * 230, 700) - 30;
      cv::rectangle(img, cv::Rect(static_cast<int>(x), 70 + 12 * k, 14, 36), cv::Scalar(60 + 50 * k, 40, 140), cv::FILLED);
    }
    img.convertTo(img, -1, 1.0 + 0.015 * std::sin(static_cast<double>(index_)));  // a little flicker
    vision::Frame f{.image = std::move(img), .index = index_, .media_ms = static_cast<double>(index_) * 1000.0 / kFps};
    ++index_;
    return std::optional<vision::Frame>{std::move(f)};
  }
  double fps() const override { return kFps; }
  cv::Size size() const override { return {640, 360}; }

 private:
  static void draw_car(cv::Mat& img, int x) {
    const cv::Rect body(x, 236, 150, 58);
    const cv::Rect visible = body & cv::Rect(0, 0, img.cols, img.rows);
    if (visible.area() <= 0) return;
    img(visible).setTo(cv::Scalar(40, 40, 190));
    cv::rectangle(img, cv::Rect(x + 30, 244, 40, 42) & visible, cv::Scalar(60, 40, 30), cv::FILLED);
    cv::rectangle(img, cv::Rect(x + 85, 244, 35, 42) & visible, cv::Scalar(60, 40, 30), cv::FILLED);
  }

  cv::Mat background_;
  int64_t index_ = 0;
};

// vtest.avi on repeat (frame times continue across loops).
class LoopingFile final : public vision::FrameSource {
 public:
  explicit LoopingFile(std::string path) : path_(std::move(path)) {}
  Result<std::optional<vision::Frame>> next() override {
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (!current_) {
        auto s = vision::VideoFileSource::open(path_);
        if (!s) return std::unexpected(s.error());
        current_ = std::move(*s);
        offset_ms_ = last_ms_ + 100;
      }
      auto f = current_->next();
      if (!f) return std::unexpected(f.error());
      if (*f) {
        (*f)->media_ms += offset_ms_;
        last_ms_ = (*f)->media_ms;
        return f;
      }
      current_.reset();
    }
    return std::optional<vision::Frame>{};
  }
  double fps() const override { return 10; }
  cv::Size size() const override { return {768, 576}; }

 private:
  std::string path_;
  std::unique_ptr<vision::VideoFileSource> current_;
  double offset_ms_ = 0, last_ms_ = -100;
};

constexpr const char* kStreetCamera = R"(camera: {id: street-cam}
detect: {fps: 5}
detectors:
  - {type: stationary, label: object, min_area: 0.004, settle: 2s, min_size_m: 1.5}
  - {type: bin_overflow, learn: 5s, settle: 2s, overflow_at: 0.15}
zones:
  - {name: no_parking, type: no_parking, polygon: [[70, 225], [340, 225], [340, 302], [70, 302]], classes: [object], dwell: 10s}
  - {name: bins, type: bin_station, polygon: [[460, 285], [620, 285], [620, 355], [460, 355]], classes: [bin_overflow], dwell: 5s}
tracker: {stationary_max_age: 4s}
calibration:
  - {px: 0, py: 360, lon: 116.41000, lat: 39.91350}
  - {px: 640, py: 360, lon: 116.41047, lat: 39.91350}
  - {px: 640, py: 60, lon: 116.41047, lat: 39.91367}
  - {px: 0, py: 60, lon: 116.41000, lat: 39.91367}
)";

constexpr const char* kVtestCamera = R"(camera: {id: vtest-cam}
detect: {fps: 5}
detectors:
  - {type: motion, label: person, min_area: 0.003}
zones:
  - {name: walkway, type: sidewalk, polygon: [[0, 180], [768, 180], [768, 330], [0, 330]], classes: [person], dwell: 60s}
)";

void run_camera(const char* yaml, std::unique_ptr<vision::FrameSource> source, const std::filesystem::path& evidence,
                const DemoCameras::Sink& sink, std::atomic<bool>& stop, DemoCameraStats& stats) {
  auto config = vision::parse_camera_config(yaml, "demo camera");
  if (!config) {
    spdlog::error("demo camera: {}", config.error().message);
    return;
  }
  config->evidence.dir = evidence;
  auto cal = camera_calibration(*config);
  if (!cal) {
    spdlog::error("demo camera {}: calibration: {}", config->id, cal.error().message);
    return;
  }
  std::optional<geo::Calibration> calibration = *cal;
  const std::string id = config->id;
  auto pipeline = vision::CameraPipeline::create(std::move(*config), ground_size(calibration));
  if (!pipeline) {
    spdlog::error("demo camera {}: {}", id, pipeline.error().message);
    return;
  }
  const auto wall_start = now_utc();
  const auto start = Clock::now();
  spdlog::info("camera {} started", id);
  while (!stop) {
    auto f = source->next();
    if (!f || !*f) break;
    const double media_ms = (*f)->media_ms;
    ++stats.frames;
    for (const vision::ZoneEvent& e : (*pipeline)->process(**f)) {
      ++stats.events;
      rules::ZoneEvent z{.camera = e.camera, .zone = e.zone, .kind = e.kind, .object = e.label,
                         .track = std::to_string(e.object_id),
                         .ts = wall_start + Duration{static_cast<int64_t>(e.media_ms)},
                         .stationary = e.kind == ZoneEventKind::kStationary
                                           ? Duration{static_cast<int64_t>(e.dwell_s * 1000)}
                                           : Duration{0},
                         .evidence = e.to_json(wall_start)};
      if (calibration) {
        const auto foot = e.box.br() - cv::Point2f(e.box.width / 2, 0);
        if (auto p = calibration->to_wgs84(foot.x, foot.y))
          z.location = OrderLocation{.position = *p, .accuracy_m = std::max(2.0, calibration->rms_m)};
      }
      spdlog::info("camera {}: {} {} #{} in {}{}", e.camera, e.label, to_string(e.kind), e.object_id, e.zone,
                   e.kind == ZoneEventKind::kStationary ? fmt::format(" for {:.0f} s", e.dwell_s) : "");
      sink(std::move(z));
    }
    // Real time: frame n is due n / fps after the start.
    const auto due = start + std::chrono::milliseconds{static_cast<int64_t>(media_ms)};
    while (!stop && Clock::now() < due) std::this_thread::sleep_for(std::min<Clock::duration>(due - Clock::now(), std::chrono::milliseconds{50}));
  }
}

}  // namespace

const char* DemoCameras::rules_yaml() {
  return R"yaml(    - id: illegal_parking
      category: traffic.illegal_parking
      input: {zones: ["street-cam:no_parking"]}
      when: {zone: {stationary: 10s}}
      description: "{where}: a vehicle has stood in the no-parking zone for 10 s (camera)"
    - id: bins_overflowing
      category: sanitation.bin_overflow
      input: {zones: ["street-cam:bins"]}
      when: {zone: {stationary: 5s}}
      description: "{where}: bags and litter around the bins (camera)"
)yaml";
}

DemoCameras::DemoCameras(const std::filesystem::path& evidence_dir, Sink sink) {
  auto add = [&](const char* name, const char* yaml, std::unique_ptr<vision::FrameSource> src) {
    names_.emplace_back(name);
    stats_.push_back(std::make_unique<DemoCameraStats>());
    DemoCameraStats& st = *stats_.back();
    threads_.emplace_back([this, yaml, evidence_dir, sink, &st, s = std::move(src)]() mutable {
      run_camera(yaml, std::move(s), evidence_dir, sink, stop_, st);
    });
  };
  add("street-cam (drawn by the demo)", kStreetCamera, std::make_unique<StreetScene>());
  if (std::filesystem::exists(kVtest)) add("vtest-cam (vtest.avi)", kVtestCamera, std::make_unique<LoopingFile>(kVtest));
}

DemoCameras::~DemoCameras() { stop(); }

void DemoCameras::stop() {
  stop_ = true;
  for (auto& t : threads_)
    if (t.joinable()) t.join();
}

int64_t DemoCameras::frames() const {
  int64_t n = 0;
  for (const auto& s : stats_) n += s->frames;
  return n;
}

int64_t DemoCameras::events() const {
  int64_t n = 0;
  for (const auto& s : stats_) n += s->events;
  return n;
}

}  // namespace gridwatch::app
