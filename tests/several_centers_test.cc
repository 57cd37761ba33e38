// Several centers on one database: a case changed through one center reaches the live event
// streams (/api/v1/events) of the others, through PostgreSQL's NOTIFY (migration 10), and a
// center does not stream its own changes twice. Two centers in this process, the fixture's
// broker and the test's own database.
#include <unistd.h>

#include <gtest/gtest.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "gridwatch/center/center.h"
#include "gridwatch/domain/catalog.h"
#include "center_config.h"
#include "raw_http.h"
#include "support.h"

namespace gridwatch::testing {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++n;
  return n;
}

TEST(SeveralCenters, ACaseChangedThroughOneCenterReachesTheEventStreamsOfTheOthers) {
  ASSERT_FALSE(services().pg_conninfo.empty());
  const std::string prefix = unique_prefix(), key = "several-centers-key-0123456789";
  const std::string a_id = fmt::format("several-a-{}", getpid()), b_id = fmt::format("several-b-{}", getpid());
  center::Center a(center_config(a_id, prefix, "several", key), Catalog::builtin());
  center::Center b(center_config(b_id, prefix, "several", key), Catalog::builtin());
  ASSERT_TRUE(a.start().has_value());
  ASSERT_TRUE(b.start().has_value());
  RawHttp on_a(a.http_port()), on_b(b.http_port());
  for (RawHttp* s : {&on_a, &on_b}) {
    ASSERT_TRUE(s->send(RawHttp::event_stream_request(kAdminToken)));
    ASSERT_TRUE(s->read_until("gridwatch live events", 10s)) << s->received();
  }

  // A resident's ticket through center A.
  const double lon = 117.60 + (getpid() % 2000) * 1e-4;
  auto r = http_post(a.http_port(), "/open311/v2/requests.json",
                     form_encode({{"api_key", key},
                                  {"service_code", "sanitation.bin_overflow"},
                                  {"lat", "40.70"},
                                  {"long", fmt::format("{:.6f}", lon)},
                                  {"description", "bin overflowing, seen from the other center"}}));
  ASSERT_EQ(r.status, 200) << r.body;
  const std::string id = json::parse(r.body)[0]["service_request_id"];
  const std::string from_a = fmt::format(R"("by":"gridwatch-center/{}")", a_id);
  ASSERT_TRUE(on_b.read_until(id, 20s)) << "B streams the case A opened: " << on_b.received();
  EXPECT_TRUE(on_b.read_until(from_a, 5s)) << on_b.received();

  // A dispatcher's step through A reaches B too (one more event for the case at least).
  const size_t before = count(on_b.received(), id);
  auto step = http_request(a.http_port(), "POST", fmt::format("/api/v1/orders/{}/actions", id),
                           R"({"action":"dispatch","unit":"street-a","reason":"to the street office"})", kAdminToken);
  ASSERT_EQ(step.status, 200) << step.body;
  EXPECT_TRUE(eventually(
      [&] {
        (void)on_b.read_until("\x01 (takes what arrives)", 200ms);
        return count(on_b.received(), id) > before;
      },
      20s))
      << on_b.received();
  EXPECT_GE(b.metrics().changes_from_others.load(), 2u);

  // A streamed the same changes once each, from itself: none of them came back through the
  // database (they would carry "by").
  ASSERT_TRUE(on_a.read_until(id, 5s)) << on_a.received();
  EXPECT_EQ(on_a.received().find(R"("by":)"), std::string::npos) << on_a.received();
  EXPECT_EQ(a.metrics().changes_from_others.load(), 0u);
  const auto metrics = http_get(b.http_port(), "/metrics");
  EXPECT_NE(metrics.body.find("gw_center_changes_from_others_total"), std::string::npos);
}

}  // namespace
}  // namespace gridwatch::testing
