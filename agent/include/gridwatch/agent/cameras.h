// The cameras of an edge box: one CameraRunner per configured camera, each on its own two threads.
//
//   capture thread   source ─▶ (a file: paced at its own rate) ─▶ bounded queue
//                    (full: the oldest waiting frame is dropped and counted; memory stays bounded)
//   analysis thread  queue ─▶ vision pipeline ─▶ zone events, located through the camera's
//                    calibration (bottom centre of the box ─▶ WGS-84, with accuracy_m) ─▶ sink
//
// A source that fails, stalls or ends (a live stream; a file with `loop`) is reopened with back-off
// (0.5 s doubling up to 30 s); every change of state is logged and reported to `on_change`.
// A file without `loop` ends (state "ended"). Cameras do not depend on each other: one that dies
// leaves the others and the sensors running. Public methods are thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "gridwatch/domain/error.h"
#include "gridwatch/geo/calibration.h"
#include "gridwatch/rules/engine.h"
#include "gridwatch/vision/config.h"
#include "gridwatch/vision/frame_source.h"
#include "gridwatch/vision/pipeline.h"

namespace gridwatch::agent {

enum class CameraState { kStarting, kRunning, kReconnecting, kEnded, kStopped };
std::string_view to_string(CameraState s);

struct CameraStatus {
  std::string id;
  CameraState state = CameraState::kStarting;
  std::string last_error;           // why it last failed (empty: never)
  int64_t frames_in = 0;            // read from the source
  int64_t frames_dropped = 0;       // pushed out of a full queue before analysis
  int64_t frames_analysed = 0;      // through the pipeline (it decimates to the detect rate itself)
  int64_t detector_runs = 0;        // frames the detectors looked at
  int64_t events = 0;               // zone events
  size_t queue_depth = 0;
  size_t queue_capacity = 0;
  int reconnects = 0;
  double detect_fps = 0;            // detector runs a second over the last 10 s
  double cpu_s = 0;                 // CPU time of the camera's two threads
};

struct CameraOptions {
  // Opens a camera's source; default: vision::open_capture(config.source). Tests inject failing sources.
  std::function<Result<std::unique_ptr<vision::FrameSource>>(const vision::CameraConfig&)> open;
  std::chrono::milliseconds first_backoff{500};
  std::chrono::milliseconds max_backoff{30'000};
  std::function<void(const std::string& camera, CameraState)> on_change;
};

class CameraRunner {
 public:
  using Sink = std::function<void(rules::ZoneEvent)>;

  // Loads the pipeline (detectors, privacy cascades) and the calibration: a model that does not
  // load or calibration points that do not fit fail here, naming the camera. Starts nothing.
  [[nodiscard]] static Result<std::unique_ptr<CameraRunner>> create(vision::CameraConfig config,
                                                                   CameraOptions options, Sink sink);
  ~CameraRunner();
  CameraRunner(const CameraRunner&) = delete;
  CameraRunner& operator=(const CameraRunner&) = delete;

  void start();
  // Tells both threads to stop and returns at once (stop() then waits for them).
  void request_stop();
  // Stops both threads, ends the pipeline's tracks (their `left` events go to the sink) and writes
  // pending clips. A live source blocked in a read is waited for (FFmpeg's read timeout).
  void stop();
  CameraStatus status() const;
  const std::string& id() const { return config_.id; }
  const vision::CameraConfig& config() const { return config_; }

 private:
  CameraRunner(vision::CameraConfig config, CameraOptions options, Sink sink);
  void capture_loop();
  void analysis_loop();
  void set_state(CameraState s, const std::string& why);
  void emit(const std::vector<vision::ZoneEvent>& events, Timestamp frame_wall, double frame_ms);
  // Waits up to `d` or until stop; returns false when stopping.
  bool sleep_for(std::chrono::milliseconds d);

  vision::CameraConfig config_;
  CameraOptions options_;
  Sink sink_;
  std::unique_ptr<vision::CameraPipeline> pipeline_;
  std::optional<geo::Calibration> calibration_;

  struct Item {
    vision::Frame frame;
    Timestamp wall;
  };
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> queue_;
  bool stopping_ = false;
  bool started_ = false;
  bool capture_done_ = false;
  CameraState state_ = CameraState::kStarting;
  std::string last_error_;
  std::deque<std::chrono::steady_clock::time_point> recent_runs_;  // detector runs, last 10 s

  std::atomic<int64_t> frames_in_{0}, dropped_{0}, analysed_{0}, detector_runs_{0}, events_{0};
  std::atomic<int> reconnects_{0};
  std::atomic<int64_t> capture_cpu_ns_{0}, analysis_cpu_ns_{0};
  std::thread capture_thread_, analysis_thread_;
};

}  // namespace gridwatch::agent
