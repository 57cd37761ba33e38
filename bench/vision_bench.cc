// Camera pipeline cost on a CPU-only box, on the two real clips: milliseconds per frame per stage,
// and full-pipeline throughput against decode-only throughput of the same clip in the same run.
// Also the DNN's inference time at 320x320, and an estimate of how many 720p cameras at 5 detect
// frames per second one 2-core box sustains (decoding every frame of a 25 fps stream, analysing
// 5 a second), from a 720p re-encode of vtest.avi made in the same run.
//
//   build/bench/vision_bench
#include <opencv2/core/utility.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>

#include <fmt/format.h>

#include "bench_data.h"
#include "gridwatch/vision/pipeline.h"

using namespace gridwatch;
using namespace gridwatch::vision;

namespace {

using Clock = std::chrono::steady_clock;
const std::string kVtest = "/usr/share/doc/opencv-doc/examples/data/vtest.avi";

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

struct DecodeRun {
  int64_t frames = 0;
  double seconds = 0;
};

DecodeRun decode_only(const std::string& path) {
  DecodeRun r;
  auto src = VideoFileSource::open(path);
  if (!src) return r;
  auto t0 = Clock::now();
  for (;;) {
    auto f = (*src)->next();
    if (!f || !*f) break;
    ++r.frames;
  }
  r.seconds = seconds_since(t0);
  return r;
}

struct PipelineRun {
  PipelineStats stats;
  double seconds = 0;
  int64_t events = 0;
};

PipelineRun pipeline(const std::string& path, const std::string& yaml) {
  PipelineRun r;
  auto config = parse_camera_config(yaml, "bench-camera.yaml");
  if (!config) {
    std::fprintf(stderr, "%s\n", config.error().message.c_str());
    std::exit(1);
  }
  auto p = CameraPipeline::create(std::move(*config));
  auto src = VideoFileSource::open(path);
  if (!p || !src) {
    std::fprintf(stderr, "cannot start the pipeline on %s\n", path.c_str());
    std::exit(1);
  }
  auto t0 = Clock::now();
  auto stats = run_pipeline(**src, **p, [&](const ZoneEvent&) { ++r.events; });
  r.seconds = seconds_since(t0);
  if (stats) r.stats = *stats;
  return r;
}

// The folder of the two Darknet models and their class names (exits naming a missing file).
std::string models_dir() {
  for (const char* f : {"yolo-fastest-1.1-xl.weights", "yolo-fastest-1.1-xl.cfg", "yolo-fastest-1.1.weights",
                        "yolo-fastest-1.1.cfg"})
    bench::need_data(std::string("models/") + f);
  return std::filesystem::path(bench::need_data("models/coco.names")).parent_path().string();
}

std::string dnn_yaml(const std::string& models, const std::string& model, double fps) {
  return fmt::format(R"(camera: {{id: bench}}
detect: {{fps: {1}}}
detectors:
  - type: dnn
    model: {0}/{2}.weights
    config: {0}/{2}.cfg
    names: {0}/coco.names
    classes: {{car: vehicle, truck: vehicle, bus: vehicle, person: person}}
    score: 0.3
zones:
  - {{name: van_bay, polygon: [[630, 30], [730, 30], [730, 115], [630, 115]], classes: [vehicle], dwell: 30s}}
)",
                     models, fps, model);
}

std::string model_free_yaml(const std::string& type, double fps) {
  return fmt::format(R"(camera: {{id: bench}}
detect: {{fps: {1}}}
detectors: [{{type: {0}, label: vehicle, min_area: 0.01}}]
zones:
  - {{name: all, polygon: [[0, 0], [1, 0], [1, 1], [0, 1]], relative: true, dwell: 10s}}
)",
                     type, fps);
}

void report(const char* name, const DecodeRun& d, const PipelineRun& p, double* ratio_out) {
  const double decode_fps = static_cast<double>(d.frames) / d.seconds;
  const double full_fps = static_cast<double>(p.stats.frames_in) / p.seconds;
  const double ratio = full_fps / decode_fps;
  if (ratio_out) *ratio_out = ratio;
  std::string stages;
  for (const auto& [stage, ms] : p.stats.stage_ms) {
    const auto n = std::max<int64_t>(1, stage == "decode" ? p.stats.frames_in : p.stats.frames_analysed);
    stages += fmt::format(" {}={:.2f}", stage, ms / static_cast<double>(n));
  }
  std::printf("%-28s decode-only %7.0f fps | full pipeline %6.0f fps (%ld of %ld frames analysed) = %.2fx | ms per frame:%s\n",
              name, decode_fps, full_fps, p.stats.frames_analysed, p.stats.frames_in, ratio, stages.c_str());
}

// Re-encodes vtest.avi at 1280x720 (MPEG-4 part 2) for a 720p decode figure.
std::string make_720p() {
  const std::string out = (std::filesystem::temp_directory_path() / "gridwatch-bench-720p.avi").string();
  cv::VideoCapture in(kVtest);
  cv::VideoWriter w(out, cv::VideoWriter::fourcc('F', 'M', 'P', '4'), 10, cv::Size(1280, 720));
  if (!w.isOpened()) return {};
  cv::Mat f, big;
  while (in.read(f)) {
    cv::resize(f, big, cv::Size(1280, 720));
    w.write(big);
  }
  return out;
}

}  // namespace

int main() {
  // One thread: the agent runs one pipeline per camera thread, and "per core" means per core.
  cv::setNumThreads(1);
  const std::string lot = bench::need_data("video/parking-lot-car-detection.mp4");
  const std::string models = models_dir();
  // 1. The two clips, decode-only and full pipeline, same run.
  const DecodeRun vtest_decode = decode_only(kVtest);
  const DecodeRun lot_decode = decode_only(lot);
  double r_dnn = 0, r_dnn_small = 0, r_stationary = 0, r_lot = 0;
  const PipelineRun vtest_dnn = pipeline(kVtest, dnn_yaml(models, "yolo-fastest-1.1-xl", 5));
  report("vtest dnn XL @5fps", vtest_decode, vtest_dnn, &r_dnn);
  const PipelineRun vtest_small = pipeline(kVtest, dnn_yaml(models, "yolo-fastest-1.1", 5));
  report("vtest dnn small @5fps", vtest_decode, vtest_small, &r_dnn_small);
  const PipelineRun vtest_stat = pipeline(kVtest, model_free_yaml("stationary", 5));
  report("vtest stationary @5fps", vtest_decode, vtest_stat, &r_stationary);
  const PipelineRun lot_motion = pipeline(lot, model_free_yaml("motion", 12.5));
  report("parking lot motion @12.5fps", lot_decode, lot_motion, &r_lot);

  // 2. DNN inference alone at 320x320 (the analysed-frame dnn stage is letterbox + inference + decode).
  const double dnn_ms = vtest_dnn.stats.stage_ms.at("dnn") / static_cast<double>(vtest_dnn.stats.frames_analysed);
  const double dnn_small_ms =
      vtest_small.stats.stage_ms.at("dnn") / static_cast<double>(vtest_small.stats.frames_analysed);

  // 3. 720p cameras per 2-core box: decode all 25 fps, analyse 5 fps.
  const std::string hd = make_720p();
  const DecodeRun hd_decode = hd.empty() ? DecodeRun{} : decode_only(hd);
  const double hd_decode_ms = hd_decode.frames ? hd_decode.seconds * 1000.0 / static_cast<double>(hd_decode.frames) : 0;
  const PipelineRun hd_dnn = hd.empty() ? PipelineRun{} : pipeline(hd, dnn_yaml(models, "yolo-fastest-1.1", 5));
  const double hd_analysis_ms = hd_dnn.stats.frames_analysed
                                    ? (hd_dnn.seconds * 1000.0 - hd_decode_ms * static_cast<double>(hd_dnn.stats.frames_in)) /
                                          static_cast<double>(hd_dnn.stats.frames_analysed)
                                    : 0;
  const double per_camera_ms_per_s = 25 * hd_decode_ms + 5 * hd_analysis_ms;
  const double cameras = per_camera_ms_per_s > 0 ? 2 * 1000.0 / per_camera_ms_per_s : 0;
  std::printf("720p: decode %.2f ms/frame, analysis (dnn small) %.2f ms per analysed frame -> %.0f ms of CPU per "
              "camera-second at 25 fps in / 5 fps analysed -> %.1f cameras on 2 cores\n",
              hd_decode_ms, hd_analysis_ms, per_camera_ms_per_s, cameras);
  if (!hd.empty()) std::filesystem::remove(hd);
  std::printf(
      "RESULT vtest_decode_fps=%.0f ratio_dnn_xl=%.3f ratio_dnn_small=%.3f ratio_stationary=%.3f ratio_lot_motion=%.3f "
      "dnn_xl_ms=%.1f dnn_small_ms=%.1f hd_decode_ms=%.2f hd_analysis_ms=%.1f cameras_720p_2core=%.1f vtest_events=%ld\n",
      static_cast<double>(vtest_decode.frames) / vtest_decode.seconds, r_dnn, r_dnn_small, r_stationary, r_lot, dnn_ms,
      dnn_small_ms, hd_decode_ms, hd_analysis_ms, cameras, vtest_dnn.events);
  return 0;
}
