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
      {A::kClose, {S::kResolved}, S::kClosed},
      {A::kReject, {S::kDispatched, S::kAccepted}, S::kRejected},
      {A::kReopen, {S::kResolved, S::kClosed}, S::kReopened},
      {A::kCancel,
       {S::kNew, S::kDispatched, S::kAccepted, S::kInProgress, S::kRejected, S::kReopened},
       S::kCancelled},
      {A::kMarkDuplicate, {S::kNew, S::kDispatched, S::kRejected, S::kReopened}, S::kDuplicate},
  };
  return table;
}

const Rule& rule(A a) {
  const auto& t = rules();
  return *std::find_if(t.begin(), t.end(), [a](const Rule& r) { return r.action == a; });
}

}  // namespace

std::string_view to_string(CaseState s) {
  switch (s) {
    case S::kNew: return "new";
    case S::kDispatched: return "dispatched";
    case S::kAccepted: return "accepted";
    case S::kInProgress: return "in_progress";
    case S::kResolved: return "resolved";
    case S::kClosed: return "closed";
    case S::kRejected: return "rejected";
    case S::kReopened: return "reopened";
    case S::kCancelled: return "cancelled";
    case S::kDuplicate: return "duplicate";
  }
  return "?";
}

std::string_view name_zh(CaseState s) {
  switch (s) {
    case S::kNew: return "待派单";
    case S::kDispatched: return "已派单";
    case S::kAccepted: return "已签收";
    case S::kInProgress: return "处置中";
    case S::kResolved: return "已办结";
    case S::kClosed: return "已结案";
    case S::kRejected: return "已退单";
    case S::kReopened: return "重新派单";
    case S::kCancelled: return "已撤销";
    case S::kDuplicate: return "重复件";
  }
  return "?";
}

std::string_view to_string(CaseAction a) {
  switch (a) {
    case A::kDispatch: return "dispatch";
    case A::kAccept: return "accept";
    case A::kStart: return "start";
    case A::kResolve: return "resolve";
    case A::kClose: return "close";
    case A::kReject: return "reject";
    case A::kReopen: return "reopen";
    case A::kCancel: return "cancel";
    case A::kMarkDuplicate: return "mark_duplicate";
  }
  return "?";
}

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
