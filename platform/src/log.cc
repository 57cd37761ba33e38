#include "gridwatch/platform/log.h"

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
  f->out_.open(path, std::ios::app);
  if (!f->out_)
    return fail(ErrorCode::kIo, fmt::format("cannot open dead-letter file {}", path.string()));
  return f;
}

void DeadLetterFile::add(std::string_view source, std::string_view reason,
                         std::string_view payload) {
  nlohmann::json j = {{"ts", format_rfc3339(now_utc())},
                      {"source", source},
                      {"reason", reason},
                      {"payload", payload}};
  std::string line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::lock_guard lock(mu_);
  out_ << line << '\n';
  out_.flush();
  ++count_;
}

uint64_t DeadLetterFile::count() const {
  std::lock_guard lock(mu_);
  return count_;
}

}  // namespace gridwatch::platform
