// How many 720p cameras one box sustains at 5 detect frames a second, through the agent's own
// camera runners (capture thread + analysis thread per camera, bounded queues), and what each
// camera costs in CPU and memory.
//
// Two sources, measured in the same run: a 720p, 25 fps MPEG-4 part 2 re-encode of vtest.avi in a
// file, looped and played at its own rate (the baseline), and the same picture as H.264 over RTSP
// (TCP) from `gridwatch rtsp serve` on this machine (each camera its own stream), the codec and path of real cameras.
// For each source and detector profile the number of cameras grows (1, 2, 4, 6, 8, ...) until one
// camera falls behind: a count is sustained when every camera analyses at least 95 % of its 5
// frames a second and drops at most 2 % of the frames queued for analysis. Each step runs
// `seconds` (default 20; the first 5 are warm-up). The RTSP server's own CPU is reported beside
// the agent's (it shares the box).
//
//   build/bench/cameras_bench [seconds] [file|rtsp|both]
#include <opencv2/core/utility.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "bench_data.h"
#include "gridwatch/agent/cameras.h"
#include "gridwatch/platform/process.h"
#include "gridwatch/platform/rtsp_camera.h"

using namespace gridwatch;
using Clock = std::chrono::steady_clock;

namespace {

const std::string kVtest = "/usr/share/doc/opencv-doc/examples/data/vtest.avi";

bool make_720p(const std::filesystem::path& out) {
  cv::VideoCapture in(kVtest, cv::CAP_FFMPEG);
  cv::VideoWriter w(out.string(), cv::CAP_FFMPEG, cv::VideoWriter::fourcc('m', 'p', '4', 'v'), 25, {1280, 720});
  if (!in.isOpened() || !w.isOpened()) return false;
  cv::Mat f, big;
  // vtest is 10 fps: each frame 2-3 times gives 25 fps of the same motion.
  for (int n = 0; in.read(f); ++n) {
    cv::resize(f, big, {1280, 720});
    for (int k = 0; k < (n % 2 == 0 ? 3 : 2); ++k) w.write(big);
  }
  return true;
}

struct Step {
  int cameras = 0;
  bool sustained = false;
  double min_fps = 0, drop_pct = 0, cpu_pct_per_camera = 0, mb_per_camera = 0, box_cpu_pct = 0, server_cpu_pct = 0;
};

// CPU seconds of one process (user + system), from /proc; 0 when it is gone.
double pid_cpu_seconds(pid_t pid) {
  const auto p = platform::process_info(pid);
  return p ? p->cpu_s : 0;
}

// `source`: the file (looped) or the RTSP URL; `server`: the RTSP server's pid, or -1.
Step run(int n, const std::string& detectors, const std::string& source, pid_t server, int seconds, double base_mb) {
  const bool file = source.rfind("rtsp://", 0) != 0;
  std::vector<std::unique_ptr<agent::CameraRunner>> cams;
  for (int i = 0; i < n; ++i) {
    auto c = vision::parse_camera_config(fmt::format(R"(camera: {{id: cam-{}, source: "{}"{}}}
detect: {{fps: 5}}
detectors: {}
zones: [{{name: walk, polygon: [[0, 300], [1280, 300], [1280, 560], [0, 560]], dwell: 60s}}]
)", i, source, file ? ", loop: true" : "", detectors), "bench");
    if (!c) {
      fmt::print(stderr, "{}\n", c.error().message);
      std::exit(1);
    }
    auto r = agent::CameraRunner::create(std::move(*c), {}, [](rules::ZoneEvent) {});
    if (!r) {
      fmt::print(stderr, "{}\n", r.error().message);
      std::exit(1);
    }
    cams.push_back(std::move(*r));
  }
  for (auto& c : cams) c->start();
  std::this_thread::sleep_for(std::chrono::seconds{5});  // warm-up: models loaded, queues settled
  std::vector<agent::CameraStatus> before;
  for (auto& c : cams) before.push_back(c->status());
  const double cpu0 = platform::process_cpu_seconds();
  const double server0 = server > 0 ? pid_cpu_seconds(server) : 0;
  const auto t0 = Clock::now();
  std::this_thread::sleep_for(std::chrono::seconds{seconds - 5});
  const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
  const double cpu = platform::process_cpu_seconds() - cpu0;
  const double server_cpu = server > 0 ? pid_cpu_seconds(server) - server0 : 0;
  Step s{.cameras = n};
  s.min_fps = 1e9;
  int64_t queued = 0, dropped = 0;
  for (size_t i = 0; i < cams.size(); ++i) {
    const agent::CameraStatus a = cams[i]->status();
    const double fps = static_cast<double>(a.frames_analysed - before[i].frames_analysed) / wall;
    s.min_fps = std::min(s.min_fps, fps);
    dropped += a.frames_dropped - before[i].frames_dropped;
    queued += (a.frames_analysed - before[i].frames_analysed) + (a.frames_dropped - before[i].frames_dropped);
  }
  s.mb_per_camera = (static_cast<double>(platform::resident_memory_bytes()) / (1 << 20) - base_mb) / n;
  for (auto& c : cams) c->stop();
  s.drop_pct = queued > 0 ? 100.0 * static_cast<double>(dropped) / static_cast<double>(queued) : 0;
  s.box_cpu_pct = 100.0 * cpu / wall;
  s.server_cpu_pct = 100.0 * server_cpu / wall;
  s.cpu_pct_per_camera = s.box_cpu_pct / n;
  s.sustained = s.min_fps >= 0.95 * 5 && s.drop_pct <= 2.0;
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  const int seconds = argc > 1 ? std::max(8, std::atoi(argv[1])) : 20;
  const std::string modes = argc > 2 ? argv[2] : "both";
  if (modes != "file" && modes != "rtsp" && modes != "both") {
    fmt::print(stderr, "usage: cameras_bench [seconds] [file|rtsp|both]\n");
    return 2;
  }
  spdlog::set_level(spdlog::level::warn);
  cv::setNumThreads(1);  // as the agent runs it: one analysis thread per camera
  bench::need_data("models/yolo-fastest-1.1.weights");
  bench::need_data("models/yolo-fastest-1.1.cfg");
  const std::string m = std::filesystem::path(bench::need_data("models/coco.names")).parent_path().string() + "/";
  const auto dir = std::filesystem::temp_directory_path() / fmt::format("gw-cameras-bench-{}", getpid());
  std::filesystem::create_directories(dir);
  const auto clip = dir / "vtest-720p.mp4";
  if (!make_720p(clip)) {
    fmt::print(stderr, "cannot make the 720p clip from {}\n", kVtest);
    return 1;
  }
  struct Source {
    std::string name, url;
    pid_t server = -1;
  };
  std::vector<Source> sources;
  std::optional<platform::RtspCamera> rtsp;
  if (modes != "rtsp") sources.push_back({"file", clip.string()});
  if (modes != "file") {
    auto cam = platform::RtspCamera::start({.gridwatch = GRIDWATCH_BIN, .clip = kVtest, .dir = dir / "rtsp",
                                            .extra = {"--size", "1280x720", "--fps", "25"}});
    if (!cam) {
      fmt::print(stderr, "{}\n", cam.error().message);
      return 1;
    }
    rtsp.emplace(std::move(*cam));
    sources.push_back({"rtsp", rtsp->url(), rtsp->pid()});
  }
  const double base_mb = static_cast<double>(platform::resident_memory_bytes()) / (1 << 20);
  const unsigned cores = std::thread::hardware_concurrency();
  fmt::print("{} cores; 720p 25 fps, 5 detect fps per camera, {} s per step; file: MPEG-4 part 2 looped in real "
             "time; rtsp: H.264 over RTSP/TCP from gridwatch rtsp serve on this box\n",
             cores, seconds);
  struct Profile {
    const char* name;
    std::string key, detectors;
  };
  const Profile profiles[] = {
      {"stationary (no model)", "stationary", "[{type: stationary, min_area: 0.004, settle: 2s}]"},
      {"dnn Yolo-Fastest 1.1", "dnn",
       fmt::format("[{{type: dnn, model: \"{0}yolo-fastest-1.1.weights\", config: \"{0}yolo-fastest-1.1.cfg\", names: "
                   "\"{0}coco.names\", input_size: 320, classes: {{person: person, car: vehicle}}}}]",
                   m)},
  };
  std::string result;
  std::map<std::string, int> sustained;  // source/profile -> cameras
  for (const Profile& p : profiles) {
    for (const Source& src : sources) {
      Step best;
      for (int n : {1, 2, 4, 6, 8, 10, 12, 16, 20, 24, 32}) {
        const Step s = run(n, p.detectors, src.url, src.server, seconds, base_mb);
        fmt::print("{:<4} {:<22} {:>2} cameras: slowest {:.2f} analysed fps, {:.1f} % dropped, box CPU {:.0f} % ({:.1f} % a "
                   "camera{}), {:.1f} MB a camera -> {}\n",
                   src.name, p.name, n, s.min_fps, s.drop_pct, s.box_cpu_pct, s.cpu_pct_per_camera,
                   src.server > 0 ? fmt::format("; RTSP server {:.0f} %", s.server_cpu_pct) : "", s.mb_per_camera,
                   s.sustained ? "sustained" : "falls behind");
        std::fflush(stdout);
        if (!s.sustained) break;
        best = s;
      }
      const std::string key = src.name == "file" ? p.key : p.key + "_rtsp";
      sustained[key] = best.cameras;
      result += fmt::format(" cameras_{0}={1} cpu_pct_per_camera_{0}={2:.1f} mb_per_camera_{0}={3:.1f} ratio_fps_{0}={4:.2f}",
                            key, best.cameras, best.cpu_pct_per_camera, best.mb_per_camera, best.min_fps / 5);
    }
    if (sustained.count(p.key) && sustained.count(p.key + "_rtsp") && sustained[p.key] > 0)
      result += fmt::format(" ratio_cameras_rtsp_vs_file_{}={:.2f}", p.key,
                            static_cast<double>(sustained[p.key + "_rtsp"]) / sustained[p.key]);
  }
  rtsp.reset();
  std::filesystem::remove_all(dir);
  fmt::print("RESULT cores={}{}\n", cores, result);
  return 0;
}
