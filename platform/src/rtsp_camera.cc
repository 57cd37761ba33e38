#include "gridwatch/platform/rtsp_camera.h"

#include <signal.h>

#include <fstream>
#include <sstream>
#include <thread>

#include <fmt/format.h>

namespace gridwatch::platform {

namespace fs = std::filesystem;

namespace {

std::string read_from(const fs::path& p, std::streamoff offset) {
  std::ifstream in(p, std::ios::binary);
  in.seekg(offset);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string tail(const std::string& s, size_t n = 1500) { return s.size() > n ? s.substr(s.size() - n) : s; }

}  // namespace

Result<RtspCamera> RtspCamera::start(RtspCameraOptions options) {
  std::error_code ec;
  fs::create_directories(options.dir, ec);
  if (ec) return fail(ErrorCode::kIo, fmt::format("rtsp camera: {}: {}", options.dir.string(), ec.message()));
  if (options.cache.empty()) options.cache = options.dir / "cache";
  RtspCamera c;
  c.options_ = std::move(options);
  c.port_ = c.options_.port;
  if (auto st = c.launch(); !st) return std::unexpected(st.error());
  return c;
}

RtspCamera::~RtspCamera() {
  if (child_ && child_->pid() > 0 && child_->running()) {  // not moved from, not reaped
    ::kill(child_->pid(), SIGCONT);  // a paused server cannot act on the stop signal
    child_->stop(std::chrono::seconds{5});
  }
}

Status RtspCamera::launch() {
  const fs::path log = options_.dir / "rtsp.log";
  std::error_code ec;
  const auto offset = static_cast<std::streamoff>(fs::exists(log) ? fs::file_size(log, ec) : 0);
  std::vector<std::string> argv{options_.gridwatch.string(), "rtsp", "serve", "--clip", options_.clip.string(),
                                "--port", std::to_string(port_), "--path", options_.path,
                                "--cache", options_.cache.string()};
  argv.insert(argv.end(), options_.extra.begin(), options_.extra.end());
  auto child = ChildProcess::spawn(argv, {.log_file = log});
  if (!child) return std::unexpected(child.error());
  child_.emplace(std::move(*child));
  const auto end = std::chrono::steady_clock::now() + options_.ready_timeout;
  for (;;) {
    const std::string out = read_from(log, offset);
    if (auto at = out.find("serving rtsp://"); at != std::string::npos && out.find('\n', at) != std::string::npos) {
      url_ = out.substr(at + 8, out.find('\n', at) - at - 8);
      const auto colon = url_.rfind(':');
      port_ = std::stoi(url_.substr(colon + 1));
      return {};
    }
    if (!child_->running() || std::chrono::steady_clock::now() > end) {
      const bool exited = !child_->running();
      child_->stop(std::chrono::seconds{2});
      child_.reset();
      return fail(ErrorCode::kIo, fmt::format("rtsp camera on {}: {}; its log ends:\n{}", options_.clip.string(),
                                              exited ? "the server exited" : "not serving in time", tail(out)));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds{50});
  }
}

void RtspCamera::kill() {
  if (!child_ || child_->pid() <= 0) return;
  if (child_->running()) ::kill(child_->pid(), SIGKILL);  // a reaped pid may belong to another process
  child_->wait(std::chrono::seconds{10});
  child_.reset();
}

Status RtspCamera::restart(std::optional<std::vector<std::string>> extra) {
  kill();
  if (extra) options_.extra = std::move(*extra);
  return launch();
}

void RtspCamera::pause() {
  if (child_ && child_->pid() > 0 && child_->running()) ::kill(child_->pid(), SIGSTOP);
}

void RtspCamera::resume() {
  if (child_ && child_->pid() > 0 && child_->running()) ::kill(child_->pid(), SIGCONT);
}

bool RtspCamera::running() { return child_ && child_->running(); }

int RtspCamera::setups(const std::string& transport) const {
  const std::string log = read_from(options_.dir / "rtsp.log", 0);
  const std::string needle = "setup " + transport + " ";
  int n = 0;
  for (size_t at = log.find(needle); at != std::string::npos; at = log.find(needle, at + 1)) ++n;
  return n;
}

}  // namespace gridwatch::platform
