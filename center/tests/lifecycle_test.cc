// The case lifecycle, checked against the table written out independently here: every action
// from every state.
#include "gridwatch/center/lifecycle.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include <fmt/format.h>

#include "matchers.h"

namespace gridwatch::center {
namespace {

using S = CaseState;
using A = CaseAction;

// (action, from) -> to, as the 12345 flow has it.
const std::map<std::pair<A, S>, S> kAllowed = {
    {{A::kDispatch, S::kNew}, S::kDispatched},
    {{A::kDispatch, S::kRejected}, S::kDispatched},   // 退单: routed again
    {{A::kDispatch, S::kReopened}, S::kDispatched},   // 再派件
    {{A::kAccept, S::kDispatched}, S::kAccepted},
    {{A::kStart, S::kAccepted}, S::kInProgress},
    {{A::kResolve, S::kAccepted}, S::kResolved},
    {{A::kResolve, S::kInProgress}, S::kResolved},
    {{A::kClose, S::kResolved}, S::kClosed},
    {{A::kReject, S::kDispatched}, S::kRejected},
    {{A::kReject, S::kAccepted}, S::kRejected},
    {{A::kReopen, S::kResolved}, S::kReopened},
    {{A::kReopen, S::kClosed}, S::kReopened},
    {{A::kCancel, S::kNew}, S::kCancelled},
    {{A::kCancel, S::kDispatched}, S::kCancelled},
    {{A::kCancel, S::kAccepted}, S::kCancelled},
    {{A::kCancel, S::kInProgress}, S::kCancelled},
    {{A::kCancel, S::kRejected}, S::kCancelled},
    {{A::kCancel, S::kReopened}, S::kCancelled},
    {{A::kMarkDuplicate, S::kNew}, S::kDuplicate},
    {{A::kMarkDuplicate, S::kDispatched}, S::kDuplicate},
    {{A::kMarkDuplicate, S::kRejected}, S::kDuplicate},
    {{A::kMarkDuplicate, S::kReopened}, S::kDuplicate},
    // 核查: another worker confirms the fix (closed) or refuses it (back for another dispatch);
    // the dispatcher (or the resident's evaluation) may close or re-open it meanwhile.
    {{A::kVerify, S::kVerifying}, S::kClosed},
    {{A::kRefuse, S::kVerifying}, S::kReopened},
    {{A::kClose, S::kVerifying}, S::kClosed},
    {{A::kReopen, S::kVerifying}, S::kReopened},
    {{A::kCancel, S::kVerifying}, S::kCancelled},
};

TEST(Lifecycle, EveryActionFromEveryStateFollowsTheTable) {
  int allowed = 0, refused = 0;
  for (A a : kAllActions) {
    for (S s : kAllStates) {
      auto next = next_state(s, a);
      auto it = kAllowed.find({a, s});
      if (it != kAllowed.end()) {
        ASSERT_TRUE(next.has_value()) << to_string(a) << " from " << to_string(s) << ": " << next.error().message;
        EXPECT_EQ(*next, it->second) << to_string(a) << " from " << to_string(s);
        ++allowed;
      } else {
        // The refusal names the current state and what the action needs.
        EXPECT_THAT(next, testing::FailsWith(ErrorCode::kInvalidArgument, "action",
                                             fmt::format("cannot {} a case that is {}", to_string(a), to_string(s))))
            << to_string(a) << " from " << to_string(s);
        ++refused;
      }
    }
  }
  EXPECT_EQ(allowed, static_cast<int>(kAllowed.size()));
  EXPECT_EQ(allowed + refused, 11 * 11);
}

TEST(Lifecycle, TheActionsFromAStateAreThoseTheTableAllows) {

  EXPECT_EQ(actions_from(CaseState::kDispatched), (std::vector<A>{A::kAccept, A::kReject, A::kCancel, A::kMarkDuplicate}));
  EXPECT_EQ(actions_from(CaseState::kResolved), (std::vector<A>{A::kClose, A::kReopen}));
  EXPECT_EQ(actions_from(CaseState::kClosed), (std::vector<A>{A::kReopen}));
  EXPECT_TRUE(actions_from(CaseState::kCancelled).empty());
  // The same table as next_state, from every state.
  for (CaseState s : kAllStates)
    for (A a : kAllActions) {
      const auto from = actions_from(s);
      EXPECT_EQ(std::find(from.begin(), from.end(), a) != from.end(), next_state(s, a).has_value())
          << to_string(a) << " from " << to_string(s);
    }
}

TEST(Lifecycle, ResolveLeadsWhereTheCategorysVerificationSays) {
  EXPECT_EQ(after_resolve(VerifyBy::kWorker, false), S::kVerifying);
  EXPECT_EQ(after_resolve(VerifyBy::kWorker, true), S::kVerifying) << "a sensor does not verify a worker category";
  EXPECT_EQ(after_resolve(VerifyBy::kSensor, false), S::kVerifying);
  EXPECT_EQ(after_resolve(VerifyBy::kSensor, true), S::kClosed);
  EXPECT_EQ(after_resolve(VerifyBy::kResident, true), S::kResolved);
  EXPECT_EQ(after_resolve(VerifyBy::kNone, false), S::kClosed);
  EXPECT_EQ(name_zh(S::kVerifying), "待核查");
}

TEST(Lifecycle, RefusalsSayWhatTheActionNeeds) {
  EXPECT_THAT(next_state(S::kResolved, A::kAccept),
              testing::FailsWith(ErrorCode::kInvalidArgument, "action",
                                 "cannot accept a case that is resolved (accept needs: dispatched)"));
  EXPECT_THAT(next_state(S::kClosed, A::kDispatch),
              testing::FailsWith(ErrorCode::kInvalidArgument, "action", "dispatch needs: new, rejected, reopened"));
}

TEST(Lifecycle, FinalStatesLeaveOnlyByReopening) {
  for (S s : kAllStates) {
    if (!is_final(s)) continue;
    std::set<A> out;
    for (A a : kAllActions)
      if (next_state(s, a)) out.insert(a);
    if (s == S::kClosed) EXPECT_EQ(out, std::set<A>{A::kReopen});
    else EXPECT_TRUE(out.empty()) << to_string(s);
  }
}

TEST(Lifecycle, NamesRoundTripAndAreBilingual) {
  for (S s : kAllStates) {
    EXPECT_EQ(parse_case_state(to_string(s)), s);
    EXPECT_FALSE(name_zh(s).empty());
  }
  for (A a : kAllActions) EXPECT_EQ(parse_case_action(to_string(a)), a);
  EXPECT_FALSE(parse_case_state("open").has_value());
  EXPECT_FALSE(parse_case_action("Accept").has_value());
  EXPECT_EQ(name_zh(S::kRejected), "已退单");
}

}  // namespace
}  // namespace gridwatch::center
