// Live events (/api/v1/events) of the dispatch fixture's center: what a dispatcher's desk and a
// grid worker's phone receive, resuming, and the refusals.
#include <atomic>
#include <mutex>
#include <optional>
#include <thread>

#include <httplib.h>

#include "dispatch_fixture.h"

namespace gridwatch::testing {
namespace {

// A client of /api/v1/events: reads the stream on a thread of its own until destroyed.
class EventStream {
 public:
  EventStream(int port, const std::string& path, const std::string& token = "") : client_("127.0.0.1", port) {
    thread_ = std::thread([this, path, token] {
      httplib::Client& c = client_;
      c.set_read_timeout(60, 0);
      httplib::Headers h;
      if (!token.empty()) h.emplace("Authorization", "Bearer " + token);
      auto r = c.Get(path, h, [this](const char* data, size_t n) {
        std::lock_guard lock(mu_);
        text_.append(data, n);
        return !stop_;
      });
      std::lock_guard lock(mu_);
      status_ = r ? r->status : -1;
      done_ = true;
    });
  }
  ~EventStream() {
    stop_ = true;
    client_.stop();  // closes the socket: the read ends now, not at the next keep-alive
    thread_.join();
  }
  std::string text() {
    std::lock_guard lock(mu_);
    return text_;
  }
  std::optional<int> status() {
    std::lock_guard lock(mu_);
    return done_ ? std::optional<int>(status_) : std::nullopt;
  }

 private:
  httplib::Client client_;
  std::thread thread_;
  std::mutex mu_;
  std::string text_;
  int status_ = 0;
  bool done_ = false;
  std::atomic<bool> stop_{false};
};

TEST_F(Dispatch, LiveEventsFollowTheCasesAWorkerSeesOnlyItsGridAndAClientCanResume) {
  EventStream desk(port_, "/api/v1/events", kDispatcher);
  EventStream phone(port_, fmt::format("/api/v1/events?access_token={}", kWorker1));  // as EventSource sends it
  ASSERT_TRUE(eventually([&] {
    return desk.text().find("gridwatch live events") != std::string::npos &&
           phone.text().find("gridwatch live events") != std::string::npos;
  }));
  const std::string mine = ticket("water.waterlogging", at(0, 0.0005, 0.0005));  // worker 1's grid
  const std::string other = ticket("water.waterlogging", at(1, 0.0005, 0.0005));  // another street
  ASSERT_TRUE(eventually([&] { return desk.text().find(other) != std::string::npos; }, 2s)) << desk.text();
  ASSERT_TRUE(eventually([&] { return phone.text().find(mine) != std::string::npos; }, 2s)) << phone.text();
  EXPECT_NE(desk.text().find(mine), std::string::npos);
  EXPECT_NE(desk.text().find("event: case\ndata: {"), std::string::npos);
  // A lifecycle step is an event too.
  ASSERT_EQ(act(mine, "dispatch").status, 200);
  ASSERT_TRUE(eventually([&] {
    const std::string t = desk.text();
    return t.find("\"type\":\"changed\"") != std::string::npos && t.find("\"action\":\"dispatch\"") != std::string::npos;
  }, 2s)) << desk.text();
  // The phone's stream sends in order: once it has the step on its own case, published after the
  // other grid's case, it has passed over that one.
  ASSERT_TRUE(eventually([&] { return phone.text().find("\"action\":\"dispatch\"") != std::string::npos; }, 2s))
      << phone.text();
  EXPECT_EQ(phone.text().find(other), std::string::npos) << "another grid's case reached the worker";
  // Resuming after the first event this test saw gives the rest again.
  const std::string t = desk.text();
  const auto at_id = t.find("id: ");
  ASSERT_NE(at_id, std::string::npos);
  const uint64_t first = std::stoull(t.substr(at_id + 4));
  EventStream again(port_, fmt::format("/api/v1/events?since={}", first - 1), kDispatcher);
  ASSERT_TRUE(eventually([&] { return again.text().find(mine) != std::string::npos && again.text().find(other) != std::string::npos; }, 2s))
      << again.text();
  // No token, a bad token, a bad resume point.
  EventStream none(port_, "/api/v1/events");
  ASSERT_TRUE(eventually([&] { return none.status().has_value(); }));
  EXPECT_EQ(*none.status(), 401);
  EventStream bad(port_, "/api/v1/events?access_token=nope-nope-nope-nope");
  ASSERT_TRUE(eventually([&] { return bad.status().has_value(); }));
  EXPECT_EQ(*bad.status(), 401);
  EventStream junk(port_, "/api/v1/events?since=yesterday", kDispatcher);
  ASSERT_TRUE(eventually([&] { return junk.status().has_value(); }));
  EXPECT_EQ(*junk.status(), 400);
}

}  // namespace
}  // namespace gridwatch::testing
