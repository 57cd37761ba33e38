#include "gridwatch/center/auth.h"

#include <gtest/gtest.h>

#include "gridwatch/center/config.h"

namespace gridwatch::center {
namespace {

const Timestamp kNow = *parse_rfc3339("2026-11-23T08:00:00Z");

std::vector<ApiToken> tokens() {
  return {{.name = "ops", .role = Role::kDispatcher, .token = "dispatcher-token-0001", .expires = {}, .unit = "", .grid = ""},
          {.name = "old", .role = Role::kAdmin, .token = "expired-token-000001",
           .expires = *parse_rfc3339("2026-11-01T00:00:00Z"), .unit = "", .grid = ""},
          {.name = "w1", .role = Role::kWorker, .token = "worker-token-0000001", .expires = {}, .unit = "",
           .grid = "110101-g1"},
          {.name = "water", .role = Role::kDepartment, .token = "department-token-001", .expires = {},
           .unit = "water", .grid = ""}};
}

TEST(Auth, KnownTokenGivesItsPrincipal) {
  Authenticator auth(tokens());
  auto who = auth.authenticate("Bearer worker-token-0000001", kNow);
  ASSERT_TRUE(who) << who.error().message;
  EXPECT_EQ(who->name, "w1");
  EXPECT_EQ(who->role, Role::kWorker);
  const Scope s = who->read_scope("grid");
  EXPECT_EQ(s.area_level, "grid");
  EXPECT_EQ(s.area_code, "110101-g1");
}

// A token configured by its hash only (either case of hex) is admitted; the hash itself is not a token.
TEST(Auth, ATokenKnownByItsHashIsAdmittedAndTheHashIsNot) {
  const std::string hash = "D6003D4CE87384A2639E700DEE1DF73651B6814E3501E2BE1892E1711640D8D9";  // dispatcher-token-0001
  Authenticator auth({{.name = "ops", .role = Role::kDispatcher, .token = "", .token_sha256 = hash}});
  auto who = auth.authenticate("Bearer dispatcher-token-0001", kNow);
  ASSERT_TRUE(who) << who.error().message;
  EXPECT_EQ(who->name, "ops");
  auto by_hash = auth.authenticate("Bearer " + hash, kNow);
  ASSERT_FALSE(by_hash);
  EXPECT_EQ(by_hash.error().message, "unknown token");
}

TEST(Auth, MissingUnknownMalformedAndExpiredTokensAreRefusedWithTheReason) {
  Authenticator auth(tokens());
  struct Case {
    std::string header, message;
  } cases[] = {{"", "a token is required: send \"Authorization: Bearer <token>\""},
               {"Basic b3BzOnNlY3JldA==", "the Authorization header must be \"Bearer <token>\""},
               {"Bearer ", "the Authorization header must be \"Bearer <token>\""},
               {"Bearer dispatcher-token-0002", "unknown token"},
               {"Bearer expired-token-000001", "the token of \"old\" expired at 2026-11-01T00:00:00Z"}};
  for (const Case& c : cases) {
    auto who = auth.authenticate(c.header, kNow);
    ASSERT_FALSE(who) << c.header;
    EXPECT_EQ(who.error().code, ErrorCode::kUnauthenticated) << c.header;
    EXPECT_EQ(who.error().message, c.message) << c.header;
  }
  // The scheme is case-insensitive; the token is not.
  EXPECT_TRUE(auth.authenticate("bearer dispatcher-token-0001", kNow));
  EXPECT_FALSE(auth.authenticate("Bearer DISPATCHER-token-0001", kNow));
  // The same token worked before it expired.
  EXPECT_TRUE(auth.authenticate("Bearer expired-token-000001", *parse_rfc3339("2026-10-31T23:59:59Z")));
}

TEST(Auth, RolesTakeTheStepsOfTheirWork) {
  const Principal admin{.name = "a", .role = Role::kAdmin, .unit = "", .grid = ""};
  const Principal dispatcher{.name = "d", .role = Role::kDispatcher, .unit = "", .grid = ""};
  const Principal dept{.name = "water", .role = Role::kDepartment, .unit = "water", .grid = ""};
  const Principal worker{.name = "w1", .role = Role::kWorker, .unit = "", .grid = "110101-g1"};
  for (CaseAction a : kAllActions) {
    EXPECT_TRUE(admin.may(a));
    EXPECT_TRUE(dispatcher.may(a));
  }
  for (CaseAction a : {CaseAction::kDispatch, CaseAction::kClose, CaseAction::kReopen, CaseAction::kCancel,
                       CaseAction::kMarkDuplicate}) {
    EXPECT_FALSE(dept.may(a)) << to_string(a);
    EXPECT_FALSE(worker.may(a)) << to_string(a);
  }
  EXPECT_TRUE(dept.may(CaseAction::kReject));
  EXPECT_FALSE(worker.may(CaseAction::kReject));
  EXPECT_TRUE(worker.may(CaseAction::kResolve));
  EXPECT_TRUE(worker.may(CaseAction::kVerify));
  EXPECT_TRUE(worker.may(CaseAction::kRefuse));
  EXPECT_FALSE(dept.may(CaseAction::kVerify)) << "a unit does not verify its own work";
  EXPECT_TRUE(dept.may_answer_summons("water"));
  EXPECT_FALSE(dept.may_answer_summons("housing"));
  EXPECT_FALSE(worker.may_answer_summons("water"));
  EXPECT_TRUE(worker.may_report_position("w1"));
  EXPECT_FALSE(worker.may_report_position("w2"));
  EXPECT_FALSE(worker.may_read_stats());
  EXPECT_FALSE(worker.may_split());
  EXPECT_FALSE(dept.may_split());
  EXPECT_EQ(dept.act_scope("grid").unit, "water");
  EXPECT_TRUE(dept.read_scope("grid").empty());
  EXPECT_TRUE(dispatcher.act_scope("grid").empty());
}

TEST(AuthConfig, TokensAreReadAndCheckedWithTheirLine) {
  auto c = parse_center_config(R"(auth:
  tokens:
    - {name: ops, role: dispatcher, token: "dispatcher-token-0001"}
    - {name: w1, role: worker, token: "worker-token-0000001", grid: 110101-g1, expires: "2027-01-01T00:00:00Z"}
)",
                               "center.yaml");
  ASSERT_TRUE(c) << c.error().message;
  ASSERT_EQ(c->tokens.size(), 2u);
  EXPECT_EQ(c->tokens[1].grid, "110101-g1");
  EXPECT_EQ(format_rfc3339(*c->tokens[1].expires), "2027-01-01T00:00:00Z");

  struct Bad {
    const char* yaml;
    const char* message;
  } bad[] = {
      {"auth:\n  tokens:\n    - {name: w1, role: worker, token: \"worker-token-0000001\"}\n",
       "center.yaml:3: auth.tokens[0].grid: a worker token names its grid"},
      {"auth:\n  tokens:\n    - {name: d, role: department, token: \"department-token-001\"}\n",
       "center.yaml:3: auth.tokens[0].unit: a department token names its unit"},
      {"auth:\n  tokens:\n    - {name: o, role: dispatcher, token: \"short\"}\n",
       "center.yaml:3: auth.tokens[0].token: a secret has at least 16 characters"},
      {"auth:\n  tokens:\n    - {name: o, role: boss, token: \"dispatcher-token-0001\"}\n",
       "center.yaml:3: auth.tokens[0].role: must be one of admin, dispatcher, department, worker"},
      {"auth:\n  tokens:\n    - {name: o, role: admin, token: \"dispatcher-token-0001\", grid: x}\n",
       "center.yaml:3: auth.tokens[0].grid: only a worker token has a grid"},
      {"auth:\n  tokens:\n    - {name: o, role: admin, token: \"dispatcher-token-0001\"}\n"
       "    - {name: p, role: admin, token: \"dispatcher-token-0001\"}\n",
       "center.yaml:4: auth.tokens[1].name: \"p\" repeats the name or token of \"o\""},
      {"auth:\n  tokens:\n    - {name: o, role: admin, token_sha256: \"abc\"}\n",
       "center.yaml:3: auth.tokens[0].token_sha256: must be a SHA-256 in hex (64 digits), as `gridwatch token new` prints it"},
      {"auth:\n  tokens:\n    - {name: o, role: admin, token: \"dispatcher-token-0001\",\n"
       "       token_sha256: \"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\"}\n",
       "center.yaml:4: auth.tokens[0].token_sha256: give one of token, token_file and token_sha256"},
      {"auth:\n  tokens:\n    - {name: o, role: admin, token: \"dispatcher-token-0001\"}\n"
       "    - {name: p, role: admin, token_sha256: \"D6003D4CE87384A2639E700DEE1DF73651B6814E3501E2BE1892E1711640D8D9\"}\n",  // the same token, by its hash
       "center.yaml:4: auth.tokens[1].name: \"p\" repeats the name or token of \"o\""},
      {"auth:\n  tokens:\n    - {name: o, role: admin, token: \"dispatcher-token-0001\", expires: tomorrow}\n",
       nullptr},
      {"auth:\n  users: []\n", nullptr},
  };
  for (const Bad& b : bad) {
    auto r = parse_center_config(b.yaml, "center.yaml");
    ASSERT_FALSE(r) << b.yaml;
    EXPECT_EQ(r.error().code, ErrorCode::kConfig);
    if (b.message) {
      EXPECT_EQ(r.error().message, b.message) << b.yaml;
    }
  }
}

}  // namespace
}  // namespace gridwatch::center
