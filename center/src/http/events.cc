// Route: live case events (server-sent events), parked on the server's loop.
#include "gridwatch/center/center.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "http/answers.h"
#include "http/server.h"

namespace gridwatch::center {

namespace {

// One client's stream: the hello, then the hub's events after the last one sent. A stream with a
// scope (a grid worker's) asks the store whether each case is in it, so it polls on a worker.
class LiveStream : public http::EventStream {
 public:
  LiveStream(const EventHub& hub, Store& store, uint64_t after, Scope scope)
      : hub_(hub), store_(store), after_(after), scope_(std::move(scope)) {}

  std::optional<std::string> poll() override {
    if (hub_.closed()) return std::nullopt;
    std::string out;
    if (!hello_sent_) {  // at once: the client knows it is connected (and from where it will resume)
      hello_sent_ = true;
      out = fmt::format("retry: 2000\n: gridwatch live events after {}\n\n", after_);
    }
    if (scope_.empty()) return out + hub_.text_since(after_);
    for (const LiveEvent& e : hub_.since(after_)) {
      after_ = e.seq;
      // A worker follows its grid's cases only.
      if (store_.check_scope(e.case_id, scope_)) out += e.text;
    }
    return out;
  }
  bool blocking() const override { return !scope_.empty(); }

 private:
  const EventHub& hub_;
  Store& store_;
  uint64_t after_;
  const Scope scope_;
  bool hello_sent_ = false;
};

}  // namespace

void Center::add_event_routes(http::Server& server) {
  // Browsers' EventSource cannot send headers: the token may come as ?access_token=.
  // Last-Event-ID (or ?since=) resumes after an event still kept.
  server.get("/api/v1/events", [this](const http::Request& req, http::Response& res) {
    const auto who = caller(req, res, /*query_token=*/true);
    if (!who) return;
    uint64_t after = live_.last();
    const std::string resume = req.has_header("Last-Event-ID") ? req.get_header_value("Last-Event-ID")
                                                                : req.get_param_value("since");
    if (!resume.empty()) {
      try {
        after = std::stoull(resume);
      } catch (const std::exception&) {
        return json_error(res, 400, "Last-Event-ID / since must be an event number", "since");
      }
    }
    res.set_header("Cache-Control", "no-cache");
    res.stream = std::make_shared<LiveStream>(live_, *store_, after, who->read_scope(config_.worker_level));
  }, {.on_loop = true});  // tokens are checked in memory: no worker needed to open a stream
}

}  // namespace gridwatch::center
