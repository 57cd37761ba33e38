#include "gridwatch/platform/log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "gridwatch/domain/time.h"

namespace gridwatch::platform {

Status init_logging(std::string_view level, std::string_view process_name) {
  auto lvl = spdlog::level::from_str(std::string(level));
  if (lvl == spdlog::level::off && level != "off")
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("log level \"{}\" is not one of trace, debug, info, warn, error", level),
                "log_level");
  auto logger = spdlog::stderr_color_mt(std::string(process_name));
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ [%n] %v", spdlog::pattern_time_type::utc);
  logger->set_level(lvl);
  spdlog::set_default_logger(logger);
  return {};
}

Result<std::unique_ptr<DeadLetterFile>> DeadLetterFile::open(std::filesystem::path path) {
  std::error_code ec;
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), ec);
  std::unique_ptr<DeadLetterFile> f(new DeadLetterFile(path));
  f->fd_ = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (f->fd_ < 0)
    return fail(ErrorCode::kIo, fmt::format("cannot open dead-letter file {}: {}", path.string(), std::strerror(errno)));
  return f;
}

DeadLetterFile::~DeadLetterFile() {
  if (fd_ >= 0) ::close(fd_);
}

void DeadLetterFile::add(std::string_view source, std::string_view reason,
                         std::string_view payload) {
  nlohmann::json j = {{"ts", format_rfc3339(now_utc())},
                      {"source", source},
                      {"reason", reason},
                      {"payload", payload}};
  std::string line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  line += '\n';
  std::lock_guard lock(mu_);
  // Whole lines or nothing: a write the disk refuses (full) is cut back off, so that the next
  // letter, once there is room, is a line of its own; the refusal is logged and the file goes on.
  const off_t before = ::lseek(fd_, 0, SEEK_END);
  size_t done = 0;
  while (done < line.size()) {
    const ssize_t n = ::write(fd_, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  if (done < line.size()) {
    const int err = errno;
    if (before >= 0 && ::ftruncate(fd_, before) != 0) {
      // Nothing more to do: the next reader skips a torn line.
    }
    ++lost_;
    spdlog::warn("dead letter from {} not kept in {} ({}): {}", source, path_.string(), std::strerror(err), reason);
    return;
  }
  ++count_;
}

uint64_t DeadLetterFile::lost() const {
  std::lock_guard lock(mu_);
  return lost_;
}

uint64_t DeadLetterFile::count() const {
  std::lock_guard lock(mu_);
  return count_;
}

}  // namespace gridwatch::platform
