// The defect the HTTP layer was rebuilt for: with event streams open (wall screens, dispatcher
// desks), the center must still answer everything else. A center in this process with two HTTP
// workers, 200 live streams open (a tenth of them a grid worker's, filtered by the store), then
// the API, Open311 and /healthz are answered and a new case reaches every stream.
#include <unistd.h>

#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include <fmt/format.h>

#include "gridwatch/center/center.h"
#include "gridwatch/domain/catalog.h"
#include "center_config.h"
#include "raw_http.h"
#include "support.h"

namespace gridwatch::testing {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

constexpr const char* kWorkerToken = "streams-test-worker-token-0123456789";

TEST(LiveStreams, TwoHundredOpenStreamsLeaveTheApiAnsweredAndAllReceiveANewCase) {
  auto svc = services();
  ASSERT_FALSE(svc.pg_conninfo.empty());
  center::CenterConfig cfg =
      center_config(fmt::format("streams{}", getpid()), unique_prefix(), "streams", "streams-test-key-0123456789");
  cfg.http_threads = 2;  // fewer workers than streams by a hundred times
  cfg.tokens.push_back(
      {.name = "w1", .role = center::Role::kWorker, .token = kWorkerToken, .expires = {}, .unit = "", .grid = "nowhere-grid"});
  center::Center center(cfg, Catalog::builtin());
  ASSERT_TRUE(center.start().has_value());
  const int port = center.http_port();

  std::vector<std::unique_ptr<RawHttp>> screens;
  for (int i = 0; i < 200; ++i) {
    screens.push_back(std::make_unique<RawHttp>(port));
    ASSERT_TRUE(screens.back()->send(RawHttp::event_stream_request(i % 10 == 9 ? kWorkerToken : kAdminToken)))
        << "stream " << i;
  }
  for (auto& s : screens) ASSERT_TRUE(s->read_until("gridwatch live events", 20s)) << s->received();

  // Everything else is answered (with cpp-httplib, 10 streams on 8 threads made /healthz time out).
  EXPECT_EQ(http_get(port, "/healthz").status, 200);
  EXPECT_EQ(http_get(port, "/api/v1/orders?fields=map").status, 200);
  const double lon = 117.80 + (getpid() % 2000) * 1e-4, lat = 40.75;
  auto r = http_post(port, "/open311/v2/requests.json",
                     form_encode({{"api_key", "streams-test-key-0123456789"},
                                  {"service_code", "sanitation.bin_overflow"},
                                  {"lat", fmt::format("{:.6f}", lat)},
                                  {"long", fmt::format("{:.6f}", lon)},
                                  {"description", "bin overflowing by the screens"}}));
  ASSERT_EQ(r.status, 200) << r.body;
  const std::string id = json::parse(r.body)[0]["service_request_id"];
  // Every dispatcher's screen shows the new case; the worker's streams (a grid the case is not
  // in, checked by the store on a worker thread) do not.
  // Every dispatcher's screen shows `case_id` (true), or one does not within 20 s.
  auto all_screens_show = [&](const std::string& case_id) {
    for (size_t i = 0; i < screens.size(); ++i) {
      if (i % 10 == 9) continue;
      if (!screens[i]->read_until(case_id, 20s)) {
        ADD_FAILURE() << "screen " << i << " did not show " << case_id << ": " << screens[i]->received();
        return false;
      }
    }
    return true;
  };
  ASSERT_TRUE(all_screens_show(id));
  // What must not arrive is checked after a later event every dispatcher's stream has seen (the
  // worker's streams are polled for both events on the same notices).
  r = http_post(port, "/open311/v2/requests.json",
                form_encode({{"api_key", "streams-test-key-0123456789"},
                             {"service_code", "environment.noise"},
                             {"lat", fmt::format("{:.6f}", lat + 0.01)},
                             {"long", fmt::format("{:.6f}", lon)},
                             {"description", "noise"}}));
  ASSERT_EQ(r.status, 200) << r.body;
  const std::string second = json::parse(r.body)[0]["service_request_id"];
  ASSERT_TRUE(all_screens_show(second));
  for (size_t i = 9; i < screens.size(); i += 10) {
    EXPECT_TRUE(screens[i]->read_until("gridwatch live events", 1s));
    EXPECT_EQ(screens[i]->received().find(id), std::string::npos) << "a case outside the worker's grid reached it";
  }
  EXPECT_EQ(http_get(port, "/healthz").status, 200);
  screens.clear();
  center.stop();
}

}  // namespace
}  // namespace gridwatch::testing
