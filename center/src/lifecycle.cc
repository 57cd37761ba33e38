#include "gridwatch/center/lifecycle.h"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace gridwatch::center {
namespace {

using S = CaseState;
using A = CaseAction;

struct Rule {
  A action;
  std::vector<S> from;
  S to;
};

// The whole lifecycle, one line per action.
const std::vector<Rule>& rules() {
  static const std::vector<Rule> table = {
      {A::kDispatch, {S::kNew, S::kRejected, S::kReopened}, S::kDispatched},
      {A::kAccept, {S::kDispatched}, S::kAccepted},
      {A::kStart, {S::kAccepted}, S::kInProgress},
      {A::kResolve, {S::kAccepted, S::kInProgress}, S::kResolved},
      {A::kClose, {S::kResolved, S::kVerifying}, S::kClosed},
      {A::kReject, {S::kDispatched, S::kAccepted}, S::kRejected},
      {A::kReopen, {S::kResolved, S::kVerifying, S::kClosed}, S::kReopened},
      {A::kCancel,
       {S::kNew, S::kDispatched, S::kAccepted, S::kInProgress, S::kRejected, S::kReopened, S::kVerifying},
       S::kCancelled},
      {A::kMarkDuplicate, {S::kNew, S::kDispatched, S::kRejected, S::kReopened}, S::kDuplicate},
      {A::kVerify, {S::kVerifying}, S::kClosed},
      {A::kRefuse, {S::kVerifying}, S::kReopened},
  };
  return table;
}

const Rule& rule(A a) {
  const auto& t = rules();
  return *std::find_if(t.begin(), t.end(), [a](const Rule& r) { return r.action == a; });
}

}  // namespace

namespace {

// Names in the order of the enums (lifecycle.h).
constexpr std::string_view kStateNames[] = {"new",      "dispatched", "accepted", "in_progress", "resolved", "closed",
                                            "rejected", "reopened",   "cancelled", "duplicate", "verifying"};
constexpr std::string_view kStateNamesZh[] = {"待派单", "已派单",   "已签收", "处置中", "已办结", "已结案",
                                              "已退单", "重新派单", "已撤销", "重复件", "待核查"};
constexpr std::string_view kActionNames[] = {"dispatch", "accept",         "start",  "resolve", "close", "reject",
                                             "reopen",   "cancel", "mark_duplicate", "verify",  "refuse"};
static_assert(std::size(kStateNames) == std::size(kAllStates) && std::size(kStateNamesZh) == std::size(kAllStates));
static_assert(std::size(kActionNames) == std::size(kAllActions));

}  // namespace

std::string_view to_string(CaseState s) { return kStateNames[static_cast<size_t>(s)]; }

std::string_view name_zh(CaseState s) { return kStateNamesZh[static_cast<size_t>(s)]; }

std::string_view to_string(CaseAction a) { return kActionNames[static_cast<size_t>(a)]; }

std::optional<CaseState> parse_case_state(std::string_view text) {
  for (S s : kAllStates)
    if (to_string(s) == text) return s;
  return std::nullopt;
}

std::optional<CaseAction> parse_case_action(std::string_view text) {
  for (A a : kAllActions)
    if (to_string(a) == text) return a;
  return std::nullopt;
}

std::vector<CaseState> allowed_from(CaseAction action) { return rule(action).from; }

std::vector<CaseAction> actions_from(CaseState state) {
  std::vector<CaseAction> out;
  for (CaseAction a : kAllActions)
    if (next_state(state, a)) out.push_back(a);
  return out;
}

bool is_final(CaseState s) { return s == S::kClosed || s == S::kCancelled || s == S::kDuplicate; }

CaseState after_resolve(VerifyBy by, bool sensor_saw_it_gone) {
  switch (by) {
    case VerifyBy::kWorker: return S::kVerifying;
    case VerifyBy::kSensor: return sensor_saw_it_gone ? S::kClosed : S::kVerifying;
    case VerifyBy::kNone: return S::kClosed;
    case VerifyBy::kResident: break;
  }
  return S::kResolved;
}

Result<CaseState> next_state(CaseState from, CaseAction action) {
  const Rule& r = rule(action);
  if (std::find(r.from.begin(), r.from.end(), from) != r.from.end()) return r.to;
  std::vector<std::string_view> names;
  for (S s : r.from) names.push_back(to_string(s));
  return fail(ErrorCode::kInvalidArgument,
              fmt::format("cannot {} a case that is {} ({} needs: {})", to_string(action), to_string(from),
                          to_string(action), fmt::join(names, ", ")),
              "action");
}

}  // namespace gridwatch::center
