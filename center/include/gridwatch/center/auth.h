// Who may use the center's API: bearer tokens with roles (docs/api.md, "Access").
//
//   admin       everything
//   dispatcher  reads every case; every lifecycle action, summons, splits, feedback taken by phone
//   department  reads every case; accepts, starts, resolves and rejects the cases dispatched to its
//               unit or of its department, summons units to them, and answers its own summons
//   worker      reads and acts (accept, start, resolve) only on the cases of its grid; reports its
//               own position
//
// Tokens come from the configuration (auth.tokens); an unknown or expired token is refused (401),
// a known one asking for what its role may not do is refused (403). Open311 intake keeps its own
// api_key.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gridwatch/center/lifecycle.h"
#include "gridwatch/center/scope.h"
#include "gridwatch/domain/error.h"
#include "gridwatch/domain/time.h"

namespace gridwatch::center {

enum class Role { kAdmin, kDispatcher, kDepartment, kWorker };

std::string_view to_string(Role r);
std::optional<Role> parse_role(std::string_view text);

struct ApiToken {
  std::string name;  // who: kept as the actor of every step it takes
  Role role = Role::kDispatcher;
  std::string token;         // the token itself (token, token_file), or
  std::string token_sha256;  // only its SHA-256 in hex (token_sha256): the configuration holds no secret
  std::optional<Timestamp> expires;
  std::string unit;  // department: the unit or department code it acts for
  std::string grid;  // worker: the code of its grid cell
};

// An authenticated caller.
struct Principal {
  std::string name;
  Role role = Role::kDispatcher;
  std::string unit;
  std::string grid;

  // The cases it may read (workers: their grid's; everyone else: all).
  Scope read_scope(const std::string& grid_level) const;
  // The cases it may change (departments: their unit's; workers: their grid's).
  Scope act_scope(const std::string& grid_level) const;
  // Whether its role may take `action` on a case in its scope.
  bool may(CaseAction action) const;
  bool may_summon() const { return role != Role::kWorker; }
  // Answer a summons of `unit` (its own only, for a department).
  bool may_answer_summons(std::string_view summoned_unit) const;
  bool may_split() const { return role == Role::kAdmin || role == Role::kDispatcher; }
  bool may_take_feedback() const { return role == Role::kAdmin || role == Role::kDispatcher; }
  // Training labels hold callers' words: the dispatch center's, not a unit's.
  bool may_export_labels() const { return role == Role::kAdmin || role == Role::kDispatcher; }
  bool may_read_stats() const { return role != Role::kWorker; }
  // 每月一题: the dispatch center picks the month's problem, not a unit.
  bool may_pick_monthly_problem() const { return role == Role::kAdmin || role == Role::kDispatcher; }
  bool may_list_workers() const { return role == Role::kAdmin || role == Role::kDispatcher; }
  // Report the position of worker `id` (a worker its own only).
  bool may_report_position(std::string_view id) const;
};

// The SHA-256 (lower-case hex) of a configured token: of `token`, or `token_sha256` as given.
std::string token_digest(const ApiToken& t);

class Authenticator {
 public:
  explicit Authenticator(const std::vector<ApiToken>& tokens);
  // `authorization` is the Authorization header ("Bearer <token>"). kUnauthenticated with the
  // reason when it is missing, malformed, unknown or expired at `now`.
  [[nodiscard]] Result<Principal> authenticate(std::string_view authorization, Timestamp now) const;
  bool empty() const { return tokens_.empty(); }

 private:
  struct Entry {
    std::string sha256;  // of the token, lower-case hex
    Principal who;
    std::optional<Timestamp> expires;
  };
  // Every entry is compared with the caller's token's hash, in constant time each: how long an
  // answer takes tells nothing of which token, or which part of one, was near.
  std::vector<Entry> tokens_;
};

}  // namespace gridwatch::center
