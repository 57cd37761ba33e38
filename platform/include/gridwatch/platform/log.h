// Logging set-up and the dead-letter file.
//
// Logs go to stderr through spdlog ("2026-11-23T08:00:00.123Z info [center] ..."). A DeadLetterFile
// keeps input that could not be processed, one JSON object a line with when, where from, why,
// and the raw payload, so nothing is lost. DeadLetterFile is thread-safe.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <string_view>

#include "gridwatch/domain/error.h"

namespace gridwatch::platform {

// Level: trace, debug, info, warn, error. Fails with kInvalidArgument for another word.
Status init_logging(std::string_view level, std::string_view process_name);

// Bad input kept as JSON lines (ts, source, reason, payload), appended whole: a line the disk
// refuses (full) is cut back off, logged and counted in lost(), and the next one is kept once
// there is room.
class DeadLetterFile {
 public:
  [[nodiscard]] static Result<std::unique_ptr<DeadLetterFile>> open(std::filesystem::path path);
  ~DeadLetterFile();
  DeadLetterFile(const DeadLetterFile&) = delete;
  DeadLetterFile& operator=(const DeadLetterFile&) = delete;
  void add(std::string_view source, std::string_view reason, std::string_view payload);
  uint64_t count() const;  // kept
  uint64_t lost() const;   // refused by the disk
  const std::filesystem::path& path() const { return path_; }

 private:
  explicit DeadLetterFile(std::filesystem::path path) : path_(std::move(path)) {}
  std::filesystem::path path_;
  mutable std::mutex mu_;
  int fd_ = -1;
  uint64_t count_ = 0, lost_ = 0;
};

}  // namespace gridwatch::platform
