// The center's HTTP server on real sockets, without the center: routes, limits, gzip, ranges,
// back-pressure, event streams and slow clients.
#include "http/server.h"

#include <zlib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <latch>
#include <mutex>
#include <thread>
#include <tuple>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "raw_http.h"

namespace gridwatch::center::http {
namespace {

using namespace std::chrono_literals;

using testing::RawHttp;

std::string get(std::string_view target, std::string_view extra = "") {
  return fmt::format("GET {} HTTP/1.1\r\nHost: t\r\n{}\r\n", target, extra);
}

std::string gunzip(const std::string& in) {
  z_stream zs{};
  EXPECT_EQ(inflateInit2(&zs, 15 + 16), Z_OK);
  std::string out(1 << 20, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(inflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  inflateEnd(&zs);
  return out;
}

// A stream that sends "tick N" for every notify() it sees, or `big` bytes at a time.
class Ticker : public EventStream {
 public:
  explicit Ticker(std::atomic<int>& clock, size_t big = 0, bool blocking = false)
      : clock_(clock), big_(big), blocking_(blocking) {}
  std::optional<std::string> poll() override {
    if (first_) {
      first_ = false;
      return std::string(": hello\n\n");
    }
    const int now = clock_;
    if (now == seen_) return std::string();
    seen_ = now;
    if (big_) return std::string(big_, 'x');
    return fmt::format("data: tick {}\n\n", now);
  }
  bool blocking() const override { return blocking_; }

 private:
  std::atomic<int>& clock_;
  size_t big_;
  bool blocking_;
  bool first_ = true;
  int seen_ = 0;
};

class HttpServer : public ::testing::Test {
 protected:
  void start(ServerOptions options = {}) {
    server_ = std::make_unique<Server>(options);
    server_->get("/hello", [](const Request&, Response& res) { res.set_content("hi", "text/plain"); });
    server_->get(R"(/echo/([^/]+))", [](const Request& req, Response& res) {
      std::string out = "path=" + req.matches[1];
      for (const auto& [k, v] : req.params) out += fmt::format(";{}={}", k, v);
      res.set_content(out, "text/plain");
    });
    // The letter before '?' is optional: a route's literal start must not include it.
    server_->get(R"(/items?/([^/]+))", [](const Request& req, Response& res) {
      res.set_content("item=" + req.matches[1], "text/plain");
    });
    server_->get("/big.json", [](const Request&, Response& res) {
      std::string body = "[";
      for (int i = 0; i < 5000; ++i) body += fmt::format("{}{{\"n\":{}}}", i ? "," : "", i);
      res.set_content(body + "]", "application/json");
    });
    server_->get("/clip.mp4", [](const Request&, Response& res) { res.set_content("0123456789", "video/mp4"); });
    server_->post("/form", [](const Request& req, Response& res) {
      res.set_content(fmt::format("got {} bytes", req.body.size()), "text/plain");
    }, {.max_body = 100, .too_large = [](const Request&, Response& res) {
          res.status = 413;
          res.set_content("form too large", "text/plain");
        }});
    server_->get("/wait", [this](const Request&, Response& res) {
      ++in_wait_;
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return released_; });
      res.set_content("waited", "text/plain");
    });
    server_->get("/ticks", [this](const Request&, Response& res) { res.stream = std::make_shared<Ticker>(clock_); },
                 {.on_loop = true});
    // Its polls wait (on a worker); opening it does not, as the center's /api/v1/events.
    server_->get("/ticks-db", [this](const Request&, Response& res) {
      res.stream = std::make_shared<Ticker>(clock_, 0, /*blocking=*/true);
    }, {.on_loop = true});
    server_->get("/flood", [this](const Request&, Response& res) { res.stream = std::make_shared<Ticker>(clock_, 1 << 20); },
                 {.on_loop = true});
    auto port = server_->listen("127.0.0.1", 0);
    ASSERT_TRUE(port) << port.error().message;
    port_ = *port;
  }
  void TearDown() override {
    release();
    if (server_) server_->stop();
  }
  void release() {
    std::lock_guard lock(mu_);
    released_ = true;
    cv_.notify_all();
  }
  void tick() {
    ++clock_;
    server_->notify();
  }

  std::unique_ptr<Server> server_;
  int port_ = 0;
  std::atomic<int> clock_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  bool released_ = false;
  std::atomic<int> in_wait_{0};  // handlers of /wait running
};

TEST_F(HttpServer, RoutesTheirGroupsAndDecodedParameters) {
  start();
  RawHttp c(port_);
  // A keep-alive connection answers one request after the other.
  c.send(get("/echo/a%20b?x=1&y=%E7%BD%91%E6%A0%BC+2&flag"));
  auto a = c.answer();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->status, 200);
  EXPECT_EQ(a->body, "path=a b;flag=;x=1;y=网格 2");
  // What clients send raw: spaces, quotes, a '%' that starts no escape.
  c.send(get("/echo/it's\"%s\"?q=a%zz"));
  a = c.answer();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->body, "path=it's\"%s\";q=a%zz");
  // No route: 404 in JSON naming the path; HEAD runs GET without the body.
  c.send(get("/nowhere"));
  a = c.answer();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->status, 404);
  EXPECT_EQ(a->body, R"({"error":"no such resource: /nowhere"})");
  c.send("HEAD /hello HTTP/1.1\r\nHost: t\r\n\r\n");
  ASSERT_TRUE(c.read_until("\r\n\r\n"));
  EXPECT_NE(c.received().find("Content-Length: 2\r\n"), std::string::npos) << c.received();
  EXPECT_EQ(c.received().substr(c.received().size() - 4), "\r\n\r\n") << "HEAD answers no body";
  // A request the parser refuses: 400, and the connection closes.
  RawHttp bad(port_);
  bad.send("GET /hello HTTP/1.1\r\nHost t\r\n\r\n");
  a = bad.answer();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->status, 400);
  EXPECT_NE(a->body.find("malformed request"), std::string::npos);
  EXPECT_TRUE(bad.closed_within(5s));
}

// Routes are told apart by their literal start before any regex runs: a literal route matches only
// its own path, and a pattern whose start has an optional letter matches with and without it.
TEST_F(HttpServer, LiteralRoutesMatchOnlyTheirPathAndOptionalLettersStayOptional) {
  start();
  RawHttp c(port_);
  for (const auto& [path, status, body] : std::vector<std::tuple<std::string, int, std::string>>{
           {"/item/7", 200, "item=7"},
           {"/items/8?x=1", 200, "item=8"},
           {"/itemz/9", 404, ""},
           {"/hello?x=1", 200, "hi"},
           {"/hello/", 404, ""},
           {"/hell", 404, ""},
           {"/hello2", 404, ""}}) {
    c.send(get(path));
    auto a = c.answer();
    ASSERT_TRUE(a) << path;
    EXPECT_EQ(a->status, status) << path;
    if (status == 200) {
      EXPECT_EQ(a->body, body) << path;
    }
  }
}

TEST_F(HttpServer, GzipWhenAcceptedNeverBrotliAndRanges) {
  start();
  RawHttp c(port_);
  c.send(get("/big.json", "Accept-Encoding: gzip, deflate, br, zstd\r\n"));
  auto a = c.answer();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->header("Content-Encoding"), "gzip");
  EXPECT_EQ(a->header("Vary"), "Accept-Encoding");
  const std::string plain = gunzip(a->body);
  EXPECT_TRUE(plain.starts_with("[{\"n\":0},")) << plain.substr(0, 20);
  EXPECT_LT(a->body.size(), plain.size() / 3);
  c.send(get("/big.json", "Accept-Encoding: br\r\n"));
  a = c.answer();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->header("Content-Encoding"), "");
  EXPECT_EQ(a->body, plain);
  c.send(get("/big.json", "Accept-Encoding: gzip;q=0\r\n"));
  a = c.answer();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->header("Content-Encoding"), "");
  // A player's ranges.
  c.send(get("/clip.mp4", "Range: bytes=2-5\r\nAccept-Encoding: gzip\r\n"));
  a = c.answer();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->status, 206);
  EXPECT_EQ(a->body, "2345");
  EXPECT_EQ(a->header("Content-Range"), "bytes 2-5/10");
  EXPECT_EQ(a->header("Accept-Ranges"), "bytes");
  c.send(get("/clip.mp4", "Range: bytes=-3\r\n"));
  a = c.answer();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->body, "789");
  c.send(get("/clip.mp4", "Range: bytes=10-\r\n"));
  a = c.answer();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->status, 416);
  EXPECT_EQ(a->header("Content-Range"), "bytes */10");
}

TEST_F(HttpServer, BodiesOverTheRoutesLimitAreRefusedAsTheyArrive) {
  start();
  {
    RawHttp c(port_);
    c.send("POST /form HTTP/1.1\r\nHost: t\r\nContent-Length: 50\r\n\r\n" + std::string(50, 'a'));
    auto a = c.answer();
    ASSERT_TRUE(a);
    EXPECT_EQ(a->body, "got 50 bytes");
  }
  {  // Announced too large: answered before the body is sent, then closed.
    RawHttp c(port_);
    c.send("POST /form HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\n");
    auto a = c.answer();
    ASSERT_TRUE(a);
    EXPECT_EQ(a->status, 413);
    EXPECT_EQ(a->body, "form too large");
    EXPECT_TRUE(c.closed_within(5s));
  }
  {  // Chunked: found too large while it arrives.
    RawHttp c(port_);
    c.send("POST /form HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n");
    for (int i = 0; i < 5; ++i) c.send("20\r\n" + std::string(32, 'b') + "\r\n");
    auto a = c.answer();
    ASSERT_TRUE(a);
    EXPECT_EQ(a->status, 413);
  }
  {  // curl's Expect: 100-continue.
    RawHttp c(port_);
    c.send("POST /form HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
    ASSERT_TRUE(c.read_until("HTTP/1.1 100 Continue\r\n\r\n"));
    c.send("hello");
    ASSERT_TRUE(c.read_until("got 5 bytes"));
  }
  {  // Other routes take the server's limit (1 MiB by default), in JSON.
    RawHttp c(port_);
    c.send("GET /hello HTTP/1.1\r\nHost: t\r\nContent-Length: 2000000\r\n\r\n");
    auto a = c.answer();
    ASSERT_TRUE(a);
    EXPECT_EQ(a->status, 413);
    EXPECT_EQ(a->body, R"({"error":"the body is larger than 1024 KB"})");
  }
}

// A header past 16 KB is refused with 431 and the connection closed.
TEST_F(HttpServer, AHeaderPast16KbIsAnswered431) {
  start();
  RawHttp c(port_);
  c.send("GET /hello HTTP/1.1\r\nHost: t\r\nX-Junk: " + std::string(20'000, 'j') + "\r\n\r\n");
  auto a = c.answer();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->status, 431);
  EXPECT_EQ(a->body, R"({"error":"the request's header is larger than 16 KB"})");
  EXPECT_TRUE(c.closed_within(5s));
}

TEST_F(HttpServer, AFullQueueIsAnswered503WithRetryAfterNotAHang) {
  start({.threads = 1, .queue = 1});
  RawHttp running(port_), waiting(port_), refused(port_);
  running.send(get("/wait"));
  // The worker has taken the first before the second queues.
  for (int i = 0; i < 1000 && in_wait_ != 1; ++i) std::this_thread::sleep_for(5ms);
  ASSERT_EQ(in_wait_, 1);
  waiting.send(get("/wait"));
  for (int i = 0; i < 1000 && server_->stats().queued != 1; ++i) std::this_thread::sleep_for(5ms);
  ASSERT_EQ(server_->stats().queued, 1u);
  refused.send(get("/hello"));
  auto a = refused.answer();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->status, 503);
  EXPECT_EQ(a->header("Retry-After"), "1");
  EXPECT_NE(a->body.find("the center is busy"), std::string::npos) << a->body;
  EXPECT_EQ(server_->stats().busy, 1u);
  release();
  for (RawHttp* c : {&running, &waiting}) {
    a = c->answer();
    ASSERT_TRUE(a);
    EXPECT_EQ(a->body, "waited");
  }
}

TEST_F(HttpServer, TwoHundredStreamsHoldNoWorkerAndAllReceiveEachNotice) {
  start({.threads = 2, .queue = 8});
  std::vector<std::unique_ptr<RawHttp>> streams;
  for (int i = 0; i < 200; ++i) {
    streams.push_back(std::make_unique<RawHttp>(port_));
    ASSERT_TRUE(streams.back()->connected());
    streams.back()->send(get(i % 10 == 0 ? "/ticks-db" : "/ticks"));
  }
  for (auto& s : streams) ASSERT_TRUE(s->read_until(": hello\n\n")) << s->received();
  EXPECT_EQ(server_->stats().streams, 200u);
  // Two workers, 200 streams: requests are still answered.
  for (int i = 0; i < 20; ++i) {
    RawHttp c(port_);
    c.send(get("/hello"));
    auto a = c.answer();
    ASSERT_TRUE(a);
    ASSERT_EQ(a->body, "hi");
  }
  tick();
  for (auto& s : streams) ASSERT_TRUE(s->read_until("data: tick 1\n\n")) << s->received();
  EXPECT_NE(streams[0]->received().find("Transfer-Encoding: chunked"), std::string::npos);
  // A client that leaves is forgotten.
  streams.resize(100);
  for (int i = 0; i < 400 && server_->stats().streams != 100; ++i) std::this_thread::sleep_for(5ms);
  EXPECT_EQ(server_->stats().streams, 100u);
  tick();
  for (auto& s : streams) ASSERT_TRUE(s->read_until("data: tick 2\n\n"));
}

TEST_F(HttpServer, ASlowClientStallsNoOneAndIsDroppedAfterTheWriteTimeout) {
  start({.threads = 2, .queue = 8, .write_timeout = std::chrono::seconds{1}});
  // One client sends half a header and waits; one opens a stream of 1 MiB events and never reads.
  RawHttp half(port_), stalled(port_), reader(port_);
  half.send("GET /hello HTTP/1.1\r\nHo");
  stalled.send(get("/flood"));
  reader.send(get("/ticks"));
  ASSERT_TRUE(reader.read_until(": hello\n\n"));
  for (int i = 1; i <= 20; ++i) {
    tick();
    ASSERT_TRUE(reader.read_until(fmt::format("data: tick {}\n\n", i))) << "tick " << i;
  }
  RawHttp c(port_);
  c.send(get("/hello"));
  auto a = c.answer();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->body, "hi");
  // Once the socket's buffers are full (several MB on loopback), the stalled stream's write does
  // not finish within a second: it is closed; the reader is not.
  for (int i = 0; i < 1000 && server_->stats().streams != 1; ++i) {
    tick();
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(server_->stats().streams, 1u);
  EXPECT_TRUE(stalled.closed_within(10s));
  const std::string last = fmt::format("data: tick {}\n\n", clock_.load());
  EXPECT_TRUE(reader.read_until(last)) << "the reader received every notice up to " << last;
}

TEST_F(HttpServer, StopEndsOpenStreamsAndWaitsForRunningHandlers) {
  start({.threads = 1, .queue = 4});
  RawHttp s1(port_), s2(port_);
  s1.send(get("/ticks"));
  s2.send(get("/ticks"));
  ASSERT_TRUE(s1.read_until(": hello"));
  ASSERT_TRUE(s2.read_until(": hello"));
  std::thread stopper([&] { server_->stop(); });
  EXPECT_TRUE(s1.closed_within(10s));
  EXPECT_TRUE(s2.closed_within(10s));
  stopper.join();
  RawHttp late(port_);
  EXPECT_FALSE(late.connected());
}

TEST(HttpFinish, RangesAreOneSatisfiableRangeOfAWholeAnswer) {
  Response r;
  r.set_content("abcdef", "application/octet-stream");
  finish_response(r, "", "bytes=0-0,2-3", false);  // several ranges: the whole answer
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "abcdef");
  Response s;
  s.set_content("abcdef", "application/octet-stream");
  finish_response(s, "", "bytes=4-100", false);  // the end is clamped
  EXPECT_EQ(s.status, 206);
  EXPECT_EQ(s.body, "ef");
  Response e;
  e.status = 404;
  e.set_content("{}", "application/json");
  finish_response(e, "gzip", "bytes=0-0", false);  // not a 200: no range
  EXPECT_EQ(e.status, 404);
  EXPECT_EQ(e.get_header_value("Content-Encoding"), "gzip");
  Response ev;
  ev.set_content("data: x\n\n", "text/event-stream");
  finish_response(ev, "gzip", "", false);
  EXPECT_EQ(ev.get_header_value("Content-Encoding"), "");
}

}  // namespace
}  // namespace gridwatch::center::http
