#include "gridwatch/center/auth.h"

#include <algorithm>

#include <fmt/format.h>

#include "gridwatch/platform/secrets.h"

namespace gridwatch::center {

std::string_view to_string(Role r) {
  switch (r) {
    case Role::kAdmin: return "admin";
    case Role::kDispatcher: return "dispatcher";
    case Role::kDepartment: return "department";
    case Role::kWorker: return "worker";
  }
  return "?";
}

std::optional<Role> parse_role(std::string_view text) {
  for (Role r : {Role::kAdmin, Role::kDispatcher, Role::kDepartment, Role::kWorker})
    if (to_string(r) == text) return r;
  return std::nullopt;
}

Scope Principal::read_scope(const std::string& grid_level) const {
  if (role == Role::kWorker) return {.unit = "", .area_level = grid_level, .area_code = grid};
  return {};
}

Scope Principal::act_scope(const std::string& grid_level) const {
  if (role == Role::kDepartment) return {.unit = unit, .area_level = "", .area_code = ""};
  return read_scope(grid_level);
}

bool Principal::may(CaseAction action) const {
  switch (role) {
    case Role::kAdmin:
    case Role::kDispatcher: return true;
    case Role::kDepartment:
      return action == CaseAction::kAccept || action == CaseAction::kStart || action == CaseAction::kResolve ||
             action == CaseAction::kReject;
    case Role::kWorker:
      // Verification too, of another worker's fix (the store refuses a worker's own).
      return action == CaseAction::kAccept || action == CaseAction::kStart || action == CaseAction::kResolve ||
             action == CaseAction::kVerify || action == CaseAction::kRefuse;
  }
  return false;
}

bool Principal::may_answer_summons(std::string_view summoned_unit) const {
  if (role == Role::kAdmin || role == Role::kDispatcher) return true;
  return role == Role::kDepartment && unit == summoned_unit;
}

bool Principal::may_report_position(std::string_view id) const {
  return role == Role::kAdmin || (role == Role::kWorker && name == id);
}

std::string token_digest(const ApiToken& t) {
  if (!t.token_sha256.empty()) {
    std::string d = t.token_sha256;
    std::transform(d.begin(), d.end(), d.begin(), [](char c) { return c >= 'A' && c <= 'F' ? c - 'A' + 'a' : c; });
    return d;
  }
  return platform::sha256_hex(t.token);
}

Authenticator::Authenticator(const std::vector<ApiToken>& tokens) {
  for (const ApiToken& t : tokens)
    tokens_.push_back(
        Entry{token_digest(t), {.name = t.name, .role = t.role, .unit = t.unit, .grid = t.grid}, t.expires});
}

Result<Principal> Authenticator::authenticate(std::string_view authorization, Timestamp now) const {
  if (authorization.empty())
    return fail(ErrorCode::kUnauthenticated, "a token is required: send \"Authorization: Bearer <token>\"",
                "Authorization");
  // The scheme is case-insensitive (RFC 7235): "Bearer", "bearer", "BEARER".
  constexpr std::string_view kBearer = "bearer ";
  auto lower = [](char ch) { return ch >= 'A' && ch <= 'Z' ? static_cast<char>(ch - 'A' + 'a') : ch; };
  if (authorization.size() <= kBearer.size() ||
      !std::equal(kBearer.begin(), kBearer.end(), authorization.begin(),
                  [&](char a, char b) { return a == lower(b); }))
    return fail(ErrorCode::kUnauthenticated, "the Authorization header must be \"Bearer <token>\"", "Authorization");
  const std::string digest = platform::sha256_hex(authorization.substr(kBearer.size()));
  const Entry* found = nullptr;
  for (const Entry& e : tokens_)  // all of them, no early exit
    if (platform::equal_in_constant_time(e.sha256, digest) && !found) found = &e;
  if (!found) return fail(ErrorCode::kUnauthenticated, "unknown token", "Authorization");
  if (found->expires && *found->expires <= now)
    return fail(ErrorCode::kUnauthenticated,
                fmt::format("the token of \"{}\" expired at {}", found->who.name, format_rfc3339(*found->expires)),
                "Authorization");
  return found->who;
}

}  // namespace gridwatch::center
