// The center's HTTP server: one event loop (Boost.Asio) for every connection, a bounded pool of
// worker threads for the handlers.
//
// Connections, idle keep-alive connections and event streams are parked on the loop and cost no
// thread; a handler (which may wait on PostgreSQL) runs on one of `threads` workers. When
// `queue` requests already wait for a worker, the next is answered at once with 503 and
// Retry-After instead of waiting without end. The loop reads each request (header, then the
// body up to the route's limit: 413 beyond it), the worker runs the handler and prepares the
// answer (gzip when the client accepts it, a byte range when asked for), the loop writes it.
// Every socket has TCP_NODELAY (headers and body of an answer go out at once, not after the
// client's delayed ACK).
//
// An event stream (server-sent events) is an answer whose handler hands over an EventStream:
// the loop sends what the stream has whenever notify() is called and a keep-alive comment
// when it was silent for `keep_alive`; a client that does not read is dropped after
// `write_timeout` without holding up anyone else.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gridwatch/domain/error.h"

namespace gridwatch::center::http {

using Params = std::multimap<std::string, std::string>;
using Headers = std::vector<std::pair<std::string, std::string>>;

struct Request {
  std::string method;  // "GET", "POST", ...; a HEAD request runs the GET handler
  std::string path;    // percent-decoded, without the query
  Params params;       // the query's parameters, percent-decoded ('+' is a space)
  std::vector<std::string> matches;  // [0] the whole path, [1..] the route's groups
  Headers headers;
  std::string body;
  std::string remote_addr;
  // Header values by name, case-insensitively (the first one).
  bool has_header(std::string_view name) const;
  std::string get_header_value(std::string_view name) const;
  bool has_param(std::string_view key) const { return params.find(std::string(key)) != params.end(); }
  std::string get_param_value(std::string_view key) const;
};

// An event stream parked on the loop (see the file comment).
class EventStream {
 public:
  virtual ~EventStream() = default;
  // The bytes to send now ("" for nothing), or nullopt to end the stream. Called once when the
  // stream opens and after each notify(); never twice at once for one stream.
  virtual std::optional<std::string> poll() = 0;
  // True when poll() may wait (on the database): it then runs on a worker, else on the loop.
  virtual bool blocking() const = 0;
};

struct Response {
  int status = 200;
  std::string body;
  std::string content_type;
  Headers headers;
  // Set by a handler that answers with an event stream (status 200, text/event-stream).
  std::shared_ptr<EventStream> stream;
  void set_content(std::string content, std::string type) {
    body = std::move(content);
    content_type = std::move(type);
  }
  // Replaces a header of that name.
  void set_header(std::string name, std::string value);
  std::string get_header_value(std::string_view name) const;
};

using Handler = std::function<void(const Request&, Response&)>;

struct ServerOptions {
  int threads = 8;          // workers for handlers
  size_t queue = 256;       // requests waiting for a worker; more get 503
  size_t max_body = 1 << 20;  // bytes of a request body unless the route says otherwise
  std::chrono::seconds idle_timeout{60};   // a keep-alive connection with no request
  std::chrono::seconds read_timeout{30};   // a request's header and body once begun
  std::chrono::seconds write_timeout{30};  // an answer (or an event) the client does not take
  std::chrono::seconds keep_alive{15};     // an event stream's comment when it had nothing to say
  Headers default_headers;  // on every answer that does not set them itself
  // HTTPS: a PEM certificate (chain) and its key; every connection is then TLS and a plain
  // HTTP request is closed unanswered. Empty: plain HTTP.
  std::filesystem::path tls_cert, tls_key;
};

// What the server counts (for /metrics).
struct ServerStats {
  uint64_t connections = 0;  // open now
  uint64_t streams = 0;      // event streams open now
  uint64_t requests = 0;     // answered since start
  uint64_t busy = 0;         // answered 503 because the queue was full
  uint64_t queued = 0;       // waiting for a worker now
};

struct RouteOptions {
  size_t max_body = 0;  // bytes of the request's body (0: the server's max_body)
  Handler too_large;    // answers a body over it (413 in JSON when not given); runs on the loop
  // The handler never blocks (no database, no waiting): it runs on the loop, so it is answered
  // even when every worker is busy (an event stream's opening: 200 screens reconnecting at
  // once after a restart are not refused for want of workers).
  bool on_loop = false;
};

class Server {
 public:
  explicit Server(ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Routes: `pattern` is a regular expression the whole path must match; its groups are
  // Request::matches. The first route registered that matches wins.
  void get(const std::string& pattern, Handler h, RouteOptions options = {});
  void post(const std::string& pattern, Handler h, RouteOptions options = {});
  void put(const std::string& pattern, Handler h, RouteOptions options = {});
  // Answers a request no route matches (404 in JSON by default).
  void not_found(Handler h);

  // Binds (port 0: any free port) and starts the loop and the workers; the port bound.
  [[nodiscard]] Result<int> listen(const std::string& host, int port);
  // Closes every connection and stream; waits for running handlers to end.
  void stop();
  // There is news for the event streams (thread-safe, cheap: one wake-up of the loop however
  // often it is called before the loop runs).
  void notify();
  ServerStats stats() const;
  // (method, pattern) of every route, in the order registered.
  std::vector<std::pair<std::string, std::string>> routes() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// Prepares an answer for the wire as the worker does: the byte range of `range` (a Range
// header) when it is one satisfiable range of a complete 200 answer (206; 416 when it is not
// satisfiable), else gzip when `accept_encoding` accepts it and the type is text. Exposed for tests.
void finish_response(Response& res, std::string_view accept_encoding, std::string_view range, bool head);

}  // namespace gridwatch::center::http
