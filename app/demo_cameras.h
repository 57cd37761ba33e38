// The demo's cameras: a street scene the demo draws itself (a car parks in a no-parking zone,
// a bin station fills up) and Debian's vtest.avi looped, each through a camera pipeline in real
// time; zone events go to the agent's rule engine, located through the camera's calibration.
#pragma once

#include <atomic>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "gridwatch/rules/engine.h"

namespace gridwatch::app {

struct DemoCameraStats {
  std::atomic<int64_t> frames{0};
  std::atomic<int64_t> events{0};
};

class DemoCameras {
 public:
  using Sink = std::function<void(rules::ZoneEvent)>;
  // Starts the cameras (vtest.avi only when it is installed). `evidence_dir`: snapshots and clips.
  DemoCameras(const std::filesystem::path& evidence_dir, Sink sink);
  ~DemoCameras();
  void stop();
  int64_t frames() const;
  int64_t events() const;
  std::vector<std::string> names() const { return names_; }
  // The rules that turn the street camera's events into orders (agent YAML, inside `rules:`).
  static const char* rules_yaml();

 private:
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
  std::vector<std::string> names_;
  std::vector<std::unique_ptr<DemoCameraStats>> stats_;
};

}  // namespace gridwatch::app
