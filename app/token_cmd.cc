// gridwatch token new: a new access token and the line of center.yaml that admits it by hash.
#include "commands.h"

#include <cstdio>

#include <fmt/format.h>

#include "gridwatch/platform/secrets.h"

namespace gridwatch::app {

int run_token_new(const TokenOptions& o) {
  const std::string token = platform::new_token();
  const std::string hash = platform::sha256_hex(token);
  std::string extra;
  if (!o.unit.empty()) extra += fmt::format(", unit: {}", o.unit);
  if (!o.grid.empty()) extra += fmt::format(", grid: {}", o.grid);
  // The token goes to whoever uses it (once: it is not kept anywhere); the configuration keeps
  // only its hash.
  fmt::print("token: {}\nsha256: {}\n# center.yaml, auth.tokens:\n- {{name: {}, role: {}{}, token_sha256: {}}}\n", token,
             hash, o.name, o.role, extra, hash);
  std::fflush(stdout);
  return kExitOk;
}

}  // namespace gridwatch::app
