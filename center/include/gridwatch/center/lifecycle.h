// The life of a case, as 12345 runs it (接、派、办、评): dispatched to the unit that owns it,
// accepted, worked on, resolved, verified on site (核查) where the category asks for it, closed
// after verification or the resident's evaluation — or sent back as not
// ours (退单) and dispatched again, re-opened when the resident is not satisfied (再派件),
// cancelled, or marked a duplicate of another case. Pure: the store applies it and keeps the
// audit trail.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "gridwatch/domain/catalog.h"
#include "gridwatch/domain/error.h"

namespace gridwatch::center {

enum class CaseState {
  kNew,         // 待派单: not yet with a unit
  kDispatched,  // 已派单: with a unit, not acknowledged
  kAccepted,    // 已签收
  kInProgress,  // 处置中
  kResolved,    // 已办结: the unit says it is fixed; awaits the resident's evaluation
  kClosed,      // 已结案
  kRejected,    // 已退单: a unit sent it back as not its own; to be dispatched again
  kReopened,    // 重新派单: the resident was not satisfied; to be dispatched again
  kCancelled,   // 已撤销
  kDuplicate,   // 重复件: another case covers it
  kVerifying,   // 待核查: resolved, awaiting verification on site by another worker (or a sensor)
};

enum class CaseAction {
  kDispatch, kAccept, kStart, kResolve, kClose, kReject, kReopen, kCancel, kMarkDuplicate,
  kVerify,  // 核查通过: the fix is real (a photo from the place)
  kRefuse,  // 核查不通过: it is not fixed; back for another dispatch (再派件)
};

inline constexpr CaseState kAllStates[] = {CaseState::kNew,      CaseState::kDispatched, CaseState::kAccepted,
                                           CaseState::kInProgress, CaseState::kResolved,   CaseState::kClosed,
                                           CaseState::kRejected, CaseState::kReopened,   CaseState::kCancelled,
                                           CaseState::kDuplicate, CaseState::kVerifying};
inline constexpr CaseAction kAllActions[] = {CaseAction::kDispatch, CaseAction::kAccept, CaseAction::kStart,
                                             CaseAction::kResolve,  CaseAction::kClose,  CaseAction::kReject,
                                             CaseAction::kReopen,   CaseAction::kCancel, CaseAction::kMarkDuplicate,
                                             CaseAction::kVerify,   CaseAction::kRefuse};

std::string_view to_string(CaseState s);   // "in_progress"
std::string_view name_zh(CaseState s);     // "处置中"
std::string_view to_string(CaseAction a);  // "mark_duplicate"
std::optional<CaseState> parse_case_state(std::string_view text);
std::optional<CaseAction> parse_case_action(std::string_view text);

// The states `action` may start from.
std::vector<CaseState> allowed_from(CaseAction action);
// The actions that may start from `state`, in the order of kAllActions.
std::vector<CaseAction> actions_from(CaseState state);
// True for states no action leaves except by re-opening (closed) or never (cancelled, duplicate).
bool is_final(CaseState s);

// The state after `action`, or kInvalidArgument naming the current state and the states the
// action needs: "cannot accept a case that is resolved (accept needs: dispatched)".
Result<CaseState> next_state(CaseState from, CaseAction action);

// Where `resolve` leads for a category verified by `by` (catalog `verify`): verifying for a
// worker, and for a sensor unless a sensor of the case has already seen the problem gone since
// the last dispatch (`sensor_saw_it_gone`); resolved for the resident; closed for none.
CaseState after_resolve(VerifyBy by, bool sensor_saw_it_gone);

}  // namespace gridwatch::center
