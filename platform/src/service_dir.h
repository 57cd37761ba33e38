// Where a private service that runs as another user keeps its data (internal to platform).
//
// PostgreSQL and RabbitMQ refuse to run as root (or should not), so when gridwatch runs as root
// they run as a system user that may not reach the state directory (a checkout under /root).
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "gridwatch/domain/error.h"
#include "gridwatch/platform/process.h"

namespace gridwatch::platform {

// The user a service runs as when this process is root: `env_var` if set, else `preferred`
// when it exists, else "nobody"; nullopt when this process is not root (it runs as itself).
std::optional<std::string> service_user(const char* env_var, const std::string& preferred);

// A fresh directory for a service's data: `dir`/`name` when `ids` (nullopt: this process's own
// user) may traverse down to it, else a new directory under the system temp dir
// (gridwatch-`name`-XXXXXX) that the caller removes when done. Owned by `ids`.
struct ServiceDataDir {
  std::filesystem::path path;
  bool is_temp = false;
};
[[nodiscard]] Result<ServiceDataDir> make_service_dir(const std::filesystem::path& dir, const std::string& name,
                                                      std::optional<UserIds> ids);

// Gives `path` and everything under it to `ids`.
[[nodiscard]] Status chown_tree(const std::filesystem::path& path, UserIds ids);

}  // namespace gridwatch::platform
