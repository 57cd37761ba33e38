// A private RTSP camera: `gridwatch rtsp serve` run as a child process, serving a clip as H.264
// (tests, benchmarks and the demo). It can be killed and started again on the same port (a camera
// that reboots) and paused with SIGSTOP (a camera that hangs with its connections open).
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "gridwatch/domain/error.h"
#include "gridwatch/platform/process.h"

namespace gridwatch::platform {

struct RtspCameraOptions {
  std::filesystem::path gridwatch;  // the gridwatch binary
  std::filesystem::path clip;
  std::filesystem::path dir;        // its log (and the encoded clips unless `cache` is set)
  std::filesystem::path cache;      // empty: dir / "cache"
  int port = 0;                     // 0: a free port, kept across restarts
  std::string path = "/cam";
  std::vector<std::string> extra;   // more arguments: --size 1280x720, --frames 300 ...
  // Encoding a long clip the first time takes a while (cached after).
  std::chrono::milliseconds ready_timeout{std::chrono::minutes{3}};
};

class RtspCamera {
 public:
  // Starts the server and waits until it serves; kIo with its log's end when it does not.
  [[nodiscard]] static Result<RtspCamera> start(RtspCameraOptions options);
  RtspCamera(RtspCamera&&) noexcept = default;
  RtspCamera& operator=(RtspCamera&&) noexcept = default;
  ~RtspCamera();

  const std::string& url() const { return url_; }
  int port() const { return port_; }
  // kill -9 (a power cut); restart() serves on the same port again, with other arguments when
  // given (a live camera that comes back shows a later part of the clip: {"--start", "45"}).
  void kill();
  [[nodiscard]] Status restart(std::optional<std::vector<std::string>> extra = std::nullopt);
  void pause();   // SIGSTOP: the connections stay open, nothing flows
  void resume();  // SIGCONT
  // How many RTSP SETUPs the server answered with this transport ("tcp" or "udp"), from its log.
  int setups(const std::string& transport) const;
  bool running();
  pid_t pid() const { return child_ ? child_->pid() : -1; }

 private:
  RtspCamera() = default;
  Status launch();
  RtspCameraOptions options_;
  std::optional<ChildProcess> child_;
  std::string url_;
  int port_ = 0;
};

}  // namespace gridwatch::platform
