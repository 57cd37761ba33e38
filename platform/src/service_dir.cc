#include "service_dir.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

namespace gridwatch::platform {
namespace fs = std::filesystem;

namespace {

// Whether `uid`/`gid` may traverse every directory from / down to `path`.
bool traversable_by(const fs::path& path, UserIds ids) {
  fs::path p;
  for (const auto& part : fs::absolute(path)) {
    p /= part;
    struct stat st{};
    if (::stat(p.c_str(), &st) != 0) return true;  // does not exist yet: we create it
    mode_t need = st.st_uid == ids.uid ? S_IXUSR : st.st_gid == ids.gid ? S_IXGRP : S_IXOTH;
    if (!(st.st_mode & need)) return false;
  }
  return true;
}

}  // namespace

std::optional<std::string> service_user(const char* env_var, const std::string& preferred) {
  if (geteuid() != 0) return std::nullopt;
  if (const char* u = std::getenv(env_var); u && *u) return u;
  return lookup_user(preferred) ? preferred : "nobody";
}

Status chown_tree(const fs::path& path, UserIds ids) {
  auto one = [&](const fs::path& p) -> Status {
    if (::lchown(p.c_str(), ids.uid, ids.gid) != 0)
      return fail(ErrorCode::kIo, fmt::format("chown {}: {}", p.string(), std::strerror(errno)));
    return {};
  };
  if (auto st = one(path); !st) return st;
  std::error_code ec;
  if (!fs::is_directory(path, ec)) return {};
  for (auto it = fs::recursive_directory_iterator(path, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec))
    if (auto st = one(it->path()); !st) return st;
  return {};
}

Result<ServiceDataDir> make_service_dir(const fs::path& dir, const std::string& name, std::optional<UserIds> ids) {
  ServiceDataDir out{dir / name, false};
  if (ids && !traversable_by(dir, *ids)) {
    std::string tmpl = (fs::temp_directory_path() / fmt::format("gridwatch-{}-XXXXXX", name)).string();
    if (!::mkdtemp(tmpl.data())) return fail(ErrorCode::kIo, fmt::format("mkdtemp: {}", std::strerror(errno)));
    out = {tmpl, true};
    ::chmod(out.path.c_str(), 0711);
  }
  std::error_code ec;
  fs::create_directories(out.path, ec);
  if (ec) return fail(ErrorCode::kIo, fmt::format("cannot create {}: {}", out.path.string(), ec.message()));
  if (ids)
    if (auto st = chown_tree(out.path, *ids); !st) return std::unexpected(st.error());
  return out;
}

}  // namespace gridwatch::platform
