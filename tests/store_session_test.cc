// The center's database sessions: PostgreSQL's JIT is off in them (the server's default is on),
// unless the operator's conninfo sets its own `options`.
#include <gtest/gtest.h>

#include <libpq-fe.h>

#include <string>

#include "store_db.h"
#include "support.h"

namespace gridwatch::testing {
namespace {

std::string show_jit(const std::string& conninfo) {
  pg_conn* c = center::db::connect_as(conninfo, "store-session-test");
  if (PQstatus(c) != CONNECTION_OK) {
    const std::string why = PQerrorMessage(c);
    PQfinish(c);
    return "no session: " + why;
  }
  auto r = center::db::exec(c, "SHOW jit");
  std::string value = r ? PQgetvalue(r->get(), 0, 0) : "error: " + r.error().message;
  PQfinish(c);
  return value;
}

TEST(StoreSession, JitIsOffInTheCentersSessionsUnlessTheConninfoSaysOtherwise) {
  const auto svc = services();
  // The server's default, in a session of its own: the center's setting is not the server's.
  ASSERT_EQ(sql(svc.pg_conninfo, "SHOW jit").at(0).at(0), "on");
  EXPECT_EQ(show_jit(svc.pg_conninfo), "off");
  EXPECT_EQ(show_jit(svc.pg_conninfo + " options='-c jit=on'"), "on");
}

}  // namespace
}  // namespace gridwatch::testing
