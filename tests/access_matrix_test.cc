// Who may do what, route by route: every route of the center × every kind of caller → the
// expected status, from one table. The table must hold a row for every route the center serves
// (compared with the server's own list), so a new route without a row fails this test.
//
// Callers: no token; an expired token; a worker of another grid than the case's; a department
// of another unit than the case's; a dispatcher; an admin. A step that changes a case runs on a
// case of its own for each caller, so that one caller's success does not change what the next
// one meets. Codes past the authorisation (404 for a case or unit that does not exist, 409 for a
// step the case's state does not allow) show that the caller was let through.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cstdlib>
#include <map>
#include <set>

#include <fmt/format.h>

#include "dispatch_fixture.h"

namespace gridwatch::testing {
namespace {

enum Caller { kNone, kExpiredToken, kOtherWorker, kOtherDepartment, kDispatcherRole, kAdminRole, kCallers };
constexpr const char* kCallerNames[] = {"none", "expired", "worker of another grid", "department of another unit",
                                        "dispatcher", "admin"};

struct Row {
  const char* method;
  const char* route;  // the pattern as the center registers it
  // The request: {case} a case in street A's first column of cells, dispatched to street A;
  // {photo} a stored photo; {worker} the grid's worker; {ticket} the case's Open311 token.
  std::string path;
  std::string body;
  std::array<int, kCallers> codes;
  bool own_case = false;  // a new case for each caller (the step changes it)
};

// The status line of a request whose answer never ends (an event stream).
int status_of_stream(int port, const std::string& path, const std::string& token) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return ::close(fd), -1;
  std::string req = fmt::format("GET {} HTTP/1.1\r\nHost: localhost\r\n", path);
  if (!token.empty()) req += fmt::format("Authorization: Bearer {}\r\n", token);
  req += "\r\n";
  (void)::send(fd, req.data(), req.size(), MSG_NOSIGNAL);
  timeval tv{.tv_sec = 10, .tv_usec = 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  char buf[64] = {};
  const ssize_t n = ::recv(fd, buf, sizeof buf - 1, 0);
  ::close(fd);
  if (n < 12) return -1;
  return std::atoi(buf + 9);  // "HTTP/1.1 200"
}

class AccessMatrix : public Dispatch {
 protected:
  std::string token_of(Caller c) const {
    switch (c) {
      case kNone: return "";
      case kExpiredToken: return kExpired;
      case kOtherWorker: return kWorker2;
      case kOtherDepartment: return kPolice;
      case kDispatcherRole: return kDispatcher;
      case kAdminRole: return kAdminToken;
      default: return "";
    }
  }
  // A new case in street A's first column of cells, not in worker 2's cell (0, 1): each ~55 m
  // from the others, past the category's merge radius (50 m), so that none joins another.
  std::string new_case() {
    const int n = spot_++;
    EXPECT_LT(n, 40) << "street A's first column holds 40 spots";
    const std::string id = ticket("sanitation.dumped_waste", at(0, 0.0002 + 0.0006 * (n % 4), 0.0002 + 0.0005 * (n / 4)),
                                  "access matrix");
    // Dispatched to street A: the worker of its grid and street A's office could take it.
    const auto sent = act(id, "dispatch", kDispatcher, street(0));
    EXPECT_EQ(sent.status, 200) << sent.body;
    return id;
  }
  int spot_ = 0;
};

TEST_F(AccessMatrix, EveryRouteAndEveryCallerGetTheExpectedStatus) {
  // A PNG of one pixel.
  static const std::string kPng(
      "\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89\0\0\0\rIDATx\x9c"
      "c\xf8\x0f\0\0\x01\x01\0\x05\x18\xd8N\0\0\0\0IEND\xae\x42\x60\x82",
      67);
  const std::string the_case = new_case();
  ASSERT_FALSE(the_case.empty());
  const std::string ticket_token = last_token_;
  auto photo = http_request(port_, "POST", "/api/v1/media", kPng, kAdminToken);
  ASSERT_EQ(photo.status, 201) << photo.body;
  const std::string photo_url = json::parse(photo.body).value("url", "");
  write_file(dir_ / "web" / "report.html", "<!doctype html><title>report page</title>");

  constexpr int A = 401, F = 403;  // no or a bad token; a caller who may not
  // clang-format off
  const std::vector<Row> rows = {
      // Service and pages: anyone.
      {"GET", "/healthz", "/healthz", "", {200, 200, 200, 200, 200, 200}},
      {"GET", "/metrics", "/metrics", "", {200, 200, 200, 200, 200, 200}},
      {"GET", "/web/config.json", "/web/config.json", "", {200, 200, 200, 200, 200, 200}},
      {"GET", R"(/buildings/([^/]+))", "/buildings/B-1", "", {200, 200, 200, 200, 200, 200}},
      {"GET", R"(/assets/([A-Za-z0-9._-]+(?:/[A-Za-z0-9._-]+)*))", "/assets/app-1a2b.js", "", {200, 200, 200, 200, 200, 200}},
      {"GET", "/", "/", "", {200, 200, 200, 200, 200, 200}},
      {"GET", "/worker", "/worker", "", {200, 200, 200, 200, 200, 200}},
      {"GET", "/report", "/report", "", {200, 200, 200, 200, 200, 200}},
      // Photos: anyone may see one (its name is 128 random bits); a token to upload.
      {"GET", R"(/media/([0-9a-f]{16,64})\.(jpg|png))", "{photo}", "", {200, 200, 200, 200, 200, 200}},
      {"POST", "/api/v1/media", "/api/v1/media", kPng, {A, A, 201, 201, 201, 201}},
      // Open311: its own api_key, whoever holds a token.
      {"POST", R"(/open311/v2/media(?:\.json)?)", fmt::format("/open311/v2/media.json?api_key={}", kKey), kPng,
       {201, 201, 201, 201, 201, 201}},
      {"GET", R"(/open311/v2/(services(?:\.json|\.xml)?))", "/open311/v2/services.json", "", {200, 200, 200, 200, 200, 200}},
      {"GET", R"(/open311/v2/services/([^/]+))", "/open311/v2/services/sanitation.dumped_waste.json", "",
       {200, 200, 200, 200, 200, 200}},
      {"POST", R"(/open311/v2/(requests(?:\.json|\.xml)?))", "/open311/v2/requests.json",
       form_encode({{"api_key", kKey}, {"description", "no service code"}}), {400, 400, 400, 400, 400, 400}},
      {"GET", R"(/open311/v2/(requests(?:\.json|\.xml)?))", "/open311/v2/requests.json", "", {200, 200, 200, 200, 200, 200}},
      {"GET", R"(/open311/v2/requests?/([^/]+))", "/open311/v2/requests/{case}.json", "", {200, 200, 200, 200, 200, 200}},
      {"GET", R"(/open311/v2/tokens/([^/]+))", "/open311/v2/tokens/{ticket}.json", "", {200, 200, 200, 200, 200, 200}},
      // Reading cases: a token; a worker only its grid's.
      {"GET", "/api/v1/orders", "/api/v1/orders", "", {A, A, 200, 200, 200, 200}},
      {"GET", R"(/api/v1/orders/([^/]+))", "/api/v1/orders/{case}", "", {A, A, F, 200, 200, 200}},
      {"GET", R"(/api/v1/orders/([^/]+)/clip)", "/api/v1/orders/{case}/clip", "", {A, A, F, 404, 404, 404}},
      {"GET", R"(/tiles/(\d{1,2})/(\d{1,7})/(\d{1,7})\.mvt)", "/tiles/14/13107/6553.mvt", "", {A, A, 204, 204, 204, 204}},
      {"GET", "/api/v1/areas", "/api/v1/areas", "", {A, A, 200, 200, 200, 200}},
      {"GET", "/api/v1/events", "/api/v1/events", "", {A, A, 200, 200, 200, 200}},
      {"GET", "/api/v1/stats", "/api/v1/stats", "", {A, A, F, 200, 200, 200}},
      {"GET", "/api/v1/me", "/api/v1/me", "", {A, A, 200, 200, 200, 200}},
      // Workers: dispatchers see them; each worker reports its own position.
      {"GET", "/api/v1/workers", "/api/v1/workers", "", {A, A, F, F, 200, 200}},
      {"PUT", R"(/api/v1/workers/([^/]+)/position)", "/api/v1/workers/{worker}/position",
       R"({"lon": 100.0, "lat": 30.0, "on_duty": true})", {A, A, F, F, F, 200}},
      // Patrol: a worker reports and sends the track as itself (an admin for anyone); the coverage
      // is a statistic (a worker sees their grid's); tracks and cells are the dispatcher's, and a
      // worker's own.
      {"POST", R"(/api/v1/workers/([^/]+)/reports)", "/api/v1/workers/{worker}/reports",
       R"({"category": "sanitation.dumped_waste", "lon": 100.0, "lat": 30.0, "request_id": "matrix"})",
       {A, A, F, F, F, 201}},
      {"POST", R"(/api/v1/workers/([^/]+)/track)", "/api/v1/workers/{worker}/track",
       R"({"shift": "matrix", "positions": [{"at": "2026-01-01T00:00:00Z", "lon": 100.0, "lat": 30.0}]})",
       {A, A, F, F, F, 200}},
      {"GET", "/api/v1/stats/coverage", "/api/v1/stats/coverage", "", {A, A, 200, 200, 200, 200}},
      {"GET", "/api/v1/patrol/tracks", "/api/v1/patrol/tracks?worker={worker}", "", {A, A, F, F, 200, 200}},
      {"GET", "/api/v1/patrol/cells", "/api/v1/patrol/cells?grid={grid}", "", {A, A, F, F, 200, 200}},
      // Training labels hold callers' words: the dispatch center's only.
      {"GET", "/api/v1/labels", "/api/v1/labels", "", {A, A, F, F, 200, 200}},
      // Analytics: whoever reads the rates.
      {"GET", "/api/v1/analytics/hotspots", "/api/v1/analytics/hotspots?cells=hex&size=5000", "", {A, A, F, 200, 200, 200}},
      {"GET", "/api/v1/analytics/emerging", "/api/v1/analytics/emerging?cells=hex&size=5000", "", {A, A, F, 200, 200, 200}},
      {"GET", "/api/v1/analytics/anomalies", "/api/v1/analytics/anomalies", "", {A, A, F, 200, 200, 200}},
      {"GET", "/api/v1/analytics/monthly-problems", "/api/v1/analytics/monthly-problems?cells=hex&size=5000", "",
       {A, A, F, 200, 200, 200}},
      // Reports: whoever reads the rates.
      {"GET", "/api/v1/report", "/api/v1/report?spatial=false", "", {A, A, F, 200, 200, 200}},
      // 每月一题 is picked by the dispatch center (an empty month has no candidate to pick: 400).
      {"POST", "/api/v1/analytics/monthly-problems/picks", "/api/v1/analytics/monthly-problems/picks",
       R"({"month": "2020-01", "group": "sanitation"})", {A, A, F, F, 400, 400}},
      // Steps of a case.
      {"POST", R"(/api/v1/orders/([^/]+)/actions)", "/api/v1/orders/{case}/actions", R"({"action": "accept"})",
       {A, A, F, F, 200, 200}, true},
      {"POST", R"(/api/v1/orders/([^/]+)/feedback)", "/api/v1/orders/{case}/feedback", R"({"satisfied": true})",
       {A, A, F, F, 409, 409}, true},
      {"POST", R"(/api/v1/orders/([^/]+)/merge)", "/api/v1/orders/{case}/merge",
       R"({"into": "no-such-case", "reason": "matrix"})", {A, A, F, F, 404, 404}, true},
      {"POST", R"(/api/v1/orders/([^/]+)/split)", "/api/v1/orders/{case}/split",
       R"({"sources": ["no-such-source"], "reason": "matrix"})", {A, A, F, F, 400, 400}, true},
      {"POST", R"(/api/v1/orders/([^/]+)/summon)", "/api/v1/orders/{case}/summon",
       R"({"units": ["water_authority"], "reason": "matrix"})", {A, A, F, F, 409, 409}, true},
      {"POST", R"(/api/v1/orders/([^/]+)/tasks/([^/]+)/actions)", "/api/v1/orders/{case}/tasks/water_authority/actions",
       R"({"action": "acknowledge"})", {A, A, F, F, 404, 404}, true},
  };
  // clang-format on

  // One row for every route, no row for a route that does not exist.
  std::set<std::pair<std::string, std::string>> served, listed;
  for (const auto& [method, pattern] : center_->http_routes()) served.emplace(method, pattern);
  for (const Row& r : rows) listed.emplace(r.method, r.route);
  for (const auto& s : served)
    EXPECT_TRUE(listed.contains(s)) << "route " << s.first << " " << s.second << " has no row in the access matrix";
  for (const auto& l : listed)
    EXPECT_TRUE(served.contains(l)) << "the matrix has a row for " << l.first << " " << l.second << ", not served";

  std::string seen;  // the whole table as answered, printed when a cell differs
  for (const Row& row : rows) {
    seen += fmt::format("{} {}:", row.method, row.path);
    for (int c = 0; c < kCallers; ++c) {
      // A caller who is let through changes the case: one of its own. One who is refused does not.
      const int expected = row.codes[static_cast<size_t>(c)];
      const std::string id = row.own_case && expected != A && expected != F ? new_case() : the_case;
      std::string path = row.path;
      auto put = [&](const std::string& key, const std::string& value) {
        for (size_t at = path.find(key); at != std::string::npos; at = path.find(key)) path.replace(at, key.size(), value);
      };
      put("{case}", id);
      put("{photo}", photo_url);
      put("{worker}", worker(1));
      put("{grid}", cell(0, 0, 0));
      put("{ticket}", ticket_token);
      const std::string token = token_of(static_cast<Caller>(c));
      int status = 0;
      std::string body;
      if (path == "/api/v1/events") {
        status = status_of_stream(port_, path, token);
      } else {
        const bool form = path.starts_with("/open311/v2/requests");
        auto r = http_request(port_, row.method, path, row.body, token,
                              form ? "application/x-www-form-urlencoded" : "application/json");
        status = r.status;
        body = r.body.substr(0, 200);
      }
      seen += fmt::format(" {}", status);
      EXPECT_EQ(status, expected) << row.method << " " << path << " by " << kCallerNames[c] << ": " << body;
    }
    seen += "\n";
  }
  if (HasFailure()) std::cerr << "the matrix as answered (none, expired, worker, department, dispatcher, admin):\n" << seen;
}

}  // namespace
}  // namespace gridwatch::testing
