// The event loop, the connections and the routes of the HTTP server (server.h).
#include "http/server.h"

#include <sys/resource.h>

#include <atomic>
#include <future>
#include <mutex>
#include <unordered_set>

#include <variant>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/url/parse.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "http/pool.h"

namespace gridwatch::center::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

struct Route {
  std::string method;
  std::string text;  // the pattern as registered
  std::regex pattern;
  Handler handler;
  RouteOptions options;
  // The pattern's literal start (every path it matches begins with it), and whether that is the
  // whole pattern: most requests are told apart without running a regex.
  std::string prefix;
  bool literal = false;

  Route(std::string m, const std::string& p, Handler h, RouteOptions o)
      : method(std::move(m)), text(p), pattern(p), handler(std::move(h)), options(std::move(o)) {
    constexpr std::string_view kSpecial = "\\^$.|?*+()[]{}";
    size_t n = 0;
    while (n < p.size() && kSpecial.find(p[n]) == std::string_view::npos) ++n;
    literal = n == p.size();
    // A quantifier applies to the character before it, which is then not sure to be there.
    if (!literal && n > 0 && std::string_view("?*{").find(p[n]) != std::string_view::npos) --n;
    prefix = p.substr(0, n);
  }
  // Whether `path` is this route's, with the groups (the whole path first) in `groups`.
  bool matches(const std::string& path, std::vector<std::string>& groups) const {
    if (literal) {
      if (path != prefix) return false;
      groups.assign({path});
      return true;
    }
    std::smatch sm;
    if (!path.starts_with(prefix) || !std::regex_match(path, sm, pattern)) return false;
    groups.assign(sm.begin(), sm.end());
    return true;
  }
};

void json_answer(Response& res, int status, std::string_view message) {
  res.status = status;
  res.set_content(nlohmann::json{{"error", message}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                  "application/json");
}

// A process may hold 1,024 files by default: each connection is one. Raise the soft limit to
// the hard one (a center with a few thousand screens and phones needs it).
void raise_file_limit() {
  rlimit r{};
  if (getrlimit(RLIMIT_NOFILE, &r) != 0 || r.rlim_cur >= r.rlim_max) return;
  const rlim_t before = r.rlim_cur;
  r.rlim_cur = r.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &r) == 0)
    spdlog::debug("open files: soft limit raised from {} to {}", before, r.rlim_cur);
}

// The request target with what RFC 3986 does not allow written raw percent-encoded: clients
// send spaces, quotes, braces, UTF-8 and stray '%' signs, and a server is lenient about them (a
// '%' not followed by two hex digits stands for itself).
std::string lenient_target(std::string_view target) {
  static constexpr std::string_view kAllowed = "-._~!$&'()*+,;=:@/?";
  std::string out;
  out.reserve(target.size());
  for (size_t i = 0; i < target.size(); ++i) {
    const auto c = static_cast<unsigned char>(target[i]);
    if (std::isalnum(c) || kAllowed.find(static_cast<char>(c)) != std::string_view::npos ||
        (c == '%' && i + 2 < target.size() && std::isxdigit(static_cast<unsigned char>(target[i + 1])) &&
         std::isxdigit(static_cast<unsigned char>(target[i + 2])))) {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

class Session;

}  // namespace

struct Server::Impl {
  explicit Impl(ServerOptions o) : options(o), pool(o.threads, o.queue) {}

  ServerOptions options;
  std::vector<Route> routes;
  Handler not_found;

  std::mutex sessions_mu;
  std::unordered_set<Session*> sessions;  // open connections (sessions_mu)
  std::atomic<uint64_t> requests{0}, busy{0}, streams{0};
  std::atomic<bool> notify_pending{false};
  std::atomic<bool> running{false};

  std::optional<asio::ssl::context> tls;  // listen() with a certificate: every connection is HTTPS
  asio::io_context loop{1};
  tcp::acceptor acceptor{loop};
  asio::steady_timer keep_alive_timer{loop};
  asio::steady_timer accept_retry{loop};
  WorkerPool pool;
  std::thread loop_thread;

  // The first route matching `method` and `path`, with its groups.
  const Route* route(std::string_view method, const std::string& path, std::vector<std::string>& matches) const {
    const std::string_view m = method == "HEAD" ? "GET" : method;
    for (const Route& r : routes)
      if (r.method == m && r.matches(path, matches)) return &r;
    return nullptr;
  }
  std::vector<std::shared_ptr<Session>> open_sessions(bool streams_only);
  void accept();
  void keep_alive_tick();
  void round();  // the loop: every stream polls
};

namespace {

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(Server::Impl& server, tcp::socket socket) : server_(server), stream_(plain_or_tls(server, std::move(socket))) {
    boost::system::error_code ec;
    tcp_stream().socket().set_option(tcp::no_delay(true), ec);
    auto remote = tcp_stream().socket().remote_endpoint(ec);
    if (!ec) remote_ = remote.address().to_string();
    std::lock_guard lock(server_.sessions_mu);
    server_.sessions.insert(this);
  }
  ~Session() {
    if (events_) --server_.streams;
    std::lock_guard lock(server_.sessions_mu);
    server_.sessions.erase(this);
  }

  // With TLS the client's handshake comes first (a plain HTTP request fails it: the connection
  // closes without an answer).
  void start() {
    auto* tls = std::get_if<TlsStream>(&stream_);
    if (!tls) return read_header();
    tcp_stream().expires_after(server_.options.read_timeout);
    tls->async_handshake(asio::ssl::stream_base::server, [self = shared_from_this()](beast::error_code ec) {
      if (ec) {
        spdlog::debug("HTTPS handshake with {} failed: {}", self->remote_, ec.message());
        return self->close();
      }
      self->read_header();
    });
  }
  bool streaming() const { return events_ != nullptr; }

  // The loop: closes the connection (a stream ends; pending operations are cancelled).
  void close() {
    if (closed_) return;
    closed_ = true;
    auto last = std::move(keep_);  // released when this returns
    boost::system::error_code ec;
    tcp_stream().socket().shutdown(tcp::socket::shutdown_both, ec);
    tcp_stream().close();
  }

  // The loop: the stream sends what it has (or notes that it must once its write is done).
  void poll() {
    if (closed_ || !events_) return;
    if (writing_ || polling_) {
      dirty_ = true;
      return;
    }
    dirty_ = false;
    if (!events_->blocking()) return polled(events_->poll());
    polling_ = true;
    auto self = shared_from_this();
    // Bounded by the number of streams (one poll each at most): not refused when the queue is full.
    server_.pool.submit([self] {
      auto out = self->events_->poll();
      asio::post(self->tcp_stream().get_executor(), [self, out = std::move(out)]() mutable {
        self->polling_ = false;
        self->polled(std::move(out));
      });
    }, /*always=*/true);
  }

  // The loop: a comment on a stream silent for `keep_alive` (and a dead client found).
  void keep_alive(Clock::time_point now) {
    if (closed_ || !events_ || writing_ || polling_) return;
    if (now - last_write_ >= server_.options.keep_alive) write_chunk(": keep-alive\n\n");
  }

 private:
  void read_header() {
    parser_.emplace();
    parser_->header_limit(16 * 1024);
    parser_->body_limit(boost::none);  // the route's limit is set once the header names it
    tcp_stream().expires_after(server_.options.idle_timeout);
    std::visit([&](auto& s) {
      bhttp::async_read_header(s, buffer_, *parser_,
                               [self = shared_from_this()](beast::error_code ec, size_t) { self->on_header(ec); });
    }, stream_);
  }

  void on_header(beast::error_code ec) {
    if (ec) return bad_request(ec);
    const auto& h = parser_->get();
    version_ = h.version();
    keep_alive_ = h.keep_alive();
    request_ = Request{};
    request_.method = std::string(h.method_string());
    request_.remote_addr = remote_;
    for (const auto& f : h) request_.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
    const std::string target = lenient_target(h.target());
    auto url = boost::urls::parse_origin_form(target);
    if (!url) return answer_now(400, fmt::format("malformed request target: {}", url.error().message()), false);
    request_.path = url->path();
    for (auto p : url->params(boost::urls::encoding_opts(/*space_as_plus=*/true)))
      request_.params.emplace(p.key, p.value);
    route_ = server_.route(request_.method, request_.path, request_.matches);
    limit_ = route_ && route_->options.max_body ? route_->options.max_body : server_.options.max_body;
    parser_->body_limit(limit_);
    if (auto n = parser_->content_length(); n && *n > limit_) return too_large();
    tcp_stream().expires_after(server_.options.read_timeout);
    if (beast::iequals(h[bhttp::field::expect], "100-continue")) {
      auto cont = std::make_shared<bhttp::response<bhttp::empty_body>>(bhttp::status::continue_, h.version());
      return std::visit([&](auto& s) {
        bhttp::async_write(s, *cont, [self = shared_from_this(), cont](beast::error_code werr, size_t) {
          if (werr) return self->close();
          self->read_body();
        });
      }, stream_);
    }
    read_body();
  }

  void read_body() {
    std::visit([&](auto& s) {
      bhttp::async_read(s, buffer_, *parser_, [self = shared_from_this()](beast::error_code ec, size_t) {
        if (ec == bhttp::error::body_limit) return self->too_large();
        if (ec) return self->bad_request(ec);
        self->dispatch();
      });
    }, stream_);
  }

  // A request that ended before it was whole: the connection closes (with 400 when the client
  // sent something the parser refused, and 431 for a header over 16 KB).
  void bad_request(beast::error_code ec) {
    const bool refused = ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category() &&
                         ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message;
    if (!refused) return close();  // closed, timed out, or cut off: nobody to answer
    if (ec == bhttp::error::header_limit) return answer_now(431, "the request's header is larger than 16 KB", false);
    answer_now(400, fmt::format("malformed request: {}", ec.message()), false);
  }

  void too_large() {
    Response res;
    if (route_ && route_->options.too_large) {
      route_->options.too_large(request_, res);
    } else {
      json_answer(res, 413, fmt::format("the body is larger than {} KB", limit_ / 1024));
    }
    keep_alive_ = false;  // the rest of the body is not read
    send(std::move(res));
  }

  void answer_now(int status, std::string_view message, bool keep) {
    Response res;
    json_answer(res, status, message);
    keep_alive_ = keep;
    send(std::move(res));
  }

  void dispatch() {
    ++server_.requests;
    request_.body = std::move(parser_->get().body());
    if (!route_) {
      Response res;
      if (server_.not_found) {
        server_.not_found(request_, res);
      } else {
        json_answer(res, 404, fmt::format("no such resource: {}", request_.path));
      }
      finish_response(res, request_.get_header_value("Accept-Encoding"), "", request_.method == "HEAD");
      return send(std::move(res));
    }
    // The handler, the answer prepared for the wire, and back to the loop to send it.
    auto run = [req = std::move(request_), route = route_] {
      Response res;
      try {
        route->handler(req, res);
      } catch (const std::exception& e) {
        spdlog::error("HTTP {} {}: {}", req.method, req.path, e.what());
        res = Response{};
        json_answer(res, 500, "internal error");
      }
      if (!res.stream)
        finish_response(res, req.get_header_value("Accept-Encoding"),
                        req.method == "GET" || req.method == "HEAD" ? req.get_header_value("Range") : "",
                        req.method == "HEAD");
      return res;
    };
    if (route_->options.on_loop) return send(run());
    const bool queued = server_.pool.submit([self = shared_from_this(), run = std::move(run)] {
      asio::post(self->tcp_stream().get_executor(), [self, res = run()]() mutable { self->send(std::move(res)); });
    });
    if (!queued) {
      ++server_.busy;
      Response res;
      json_answer(res, 503, fmt::format("the center is busy: {} requests wait for a worker; try again",
                                        server_.pool.queued()));
      res.set_header("Retry-After", "1");
      send(std::move(res));
    }
  }

  void send(Response res) {
    if (closed_) return;
    if (res.stream) return open_stream(std::move(res));
    auto msg = std::make_shared<bhttp::response<bhttp::string_body>>(static_cast<bhttp::status>(res.status), version_);
    bool explicit_length = false;
    add_default_headers(res);
    for (auto& [k, v] : res.headers) {
      if (beast::iequals(k, "Content-Length")) explicit_length = true;
      msg->insert(k, v);
    }
    if (!res.content_type.empty()) msg->set(bhttp::field::content_type, res.content_type);
    msg->body() = std::move(res.body);
    msg->keep_alive(keep_alive_);
    if (!explicit_length) msg->prepare_payload();
    tcp_stream().expires_after(server_.options.write_timeout);
    std::visit([&](auto& s) {
      bhttp::async_write(s, *msg, [self = shared_from_this(), msg](beast::error_code ec, size_t) {
        if (ec || !self->keep_alive_) return self->close();
        self->read_header();
      });
    }, stream_);
  }

  void open_stream(Response res) {
    add_default_headers(res);
    std::string head = fmt::format("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n");
    for (const auto& [k, v] : res.headers) head += fmt::format("{}: {}\r\n", k, v);
    head += "\r\n";
    events_ = std::move(res.stream);
    ++server_.streams;
    write_raw(std::move(head));
    // Nothing more is read from the client: a read that ends tells that it went away. On the raw
    // socket, not through tcp_stream, whose timer would then apply to it (expires_after with a
    // read pending sets the read timer and leaves the write without one). Over TLS a read must go
    // through the TLS layer: there a client that went away is found by the next keep-alive
    // comment's write instead.
    if (std::holds_alternative<beast::tcp_stream>(stream_))
      tcp_stream().socket().async_read_some(asio::buffer(sink_),
                                            [self = shared_from_this()](beast::error_code, size_t) { self->close(); });
    else
      keep_ = shared_from_this();  // no read holds the session between writes: it holds itself until close()
    poll();
  }

  void add_default_headers(Response& res) const {
    for (const auto& [k, v] : server_.options.default_headers)
      if (res.get_header_value(k).empty()) res.headers.emplace_back(k, v);
  }

  void polled(std::optional<std::string> out) {
    if (closed_) return;
    if (!out) {
      events_.reset();
      --server_.streams;
      keep_alive_ = false;
      return write_raw("0\r\n\r\n");
    }
    if (!out->empty()) return write_chunk(*out);
    if (dirty_) poll();
  }

  void write_chunk(std::string_view data) { write_raw(fmt::format("{:x}\r\n{}\r\n", data.size(), data)); }

  void write_raw(std::string bytes) {
    writing_ = true;
    last_write_ = Clock::now();
    out_ = std::move(bytes);
    tcp_stream().expires_after(server_.options.write_timeout);
    std::visit([&](auto& s) {
      asio::async_write(s, asio::buffer(out_), [self = shared_from_this()](beast::error_code ec, size_t) {
        self->written(ec);
      });
    }, stream_);
  }

  void written(beast::error_code ec) {
    writing_ = false;
    if (ec) return close();
    tcp_stream().expires_never();
    if (!events_) return close();  // the stream's last chunk
    if (dirty_) poll();
  }

  Server::Impl& server_;
  using TlsStream = beast::ssl_stream<beast::tcp_stream>;
  static std::variant<beast::tcp_stream, TlsStream> plain_or_tls(Server::Impl& server, tcp::socket socket);
  beast::tcp_stream& tcp_stream() {
    return std::visit([](auto& s) -> beast::tcp_stream& { return beast::get_lowest_layer(s); }, stream_);
  }

  std::variant<beast::tcp_stream, TlsStream> stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  Request request_;
  const Route* route_ = nullptr;
  size_t limit_ = 0;
  bool keep_alive_ = true;
  unsigned version_ = 11;
  std::string remote_;
  bool closed_ = false;
  // An event stream (the loop only).
  std::shared_ptr<EventStream> events_;
  std::shared_ptr<Session> keep_;  // a TLS event stream's own reference (open_stream .. close)
  bool writing_ = false, polling_ = false, dirty_ = false;
  Clock::time_point last_write_ = Clock::now();
  std::string out_;
  char sink_[64];
};

std::variant<beast::tcp_stream, Session::TlsStream> Session::plain_or_tls(Server::Impl& server, tcp::socket socket) {
  if (server.tls) return std::variant<beast::tcp_stream, TlsStream>(std::in_place_type<TlsStream>, std::move(socket), *server.tls);
  return std::variant<beast::tcp_stream, TlsStream>(std::in_place_type<beast::tcp_stream>, std::move(socket));
}

}  // namespace

std::vector<std::shared_ptr<Session>> Server::Impl::open_sessions(bool streams_only) {
  std::vector<std::shared_ptr<Session>> out;
  std::lock_guard lock(sessions_mu);
  out.reserve(sessions.size());
  for (Session* s : sessions)
    if (auto p = s->weak_from_this().lock(); p && (!streams_only || p->streaming())) out.push_back(std::move(p));
  return out;
}

void Server::Impl::accept() {
  acceptor.async_accept(loop, [this](beast::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;
    if (ec) {
      // Out of file descriptors, most likely: try again shortly instead of spinning.
      spdlog::warn("HTTP accept: {}", ec.message());
      accept_retry.expires_after(std::chrono::milliseconds{100});
      accept_retry.async_wait([this](beast::error_code e) {
        if (!e) accept();
      });
      return;
    }
    std::make_shared<Session>(*this, std::move(socket))->start();
    accept();
  });
}

void Server::Impl::keep_alive_tick() {
  keep_alive_timer.expires_after(std::max<std::chrono::seconds>(options.keep_alive / 3, std::chrono::seconds{1}));
  keep_alive_timer.async_wait([this](beast::error_code ec) {
    if (ec) return;
    const auto now = Clock::now();
    for (auto& s : open_sessions(true)) s->keep_alive(now);
    keep_alive_tick();
  });
}

void Server::Impl::round() {
  notify_pending = false;
  for (auto& s : open_sessions(true)) s->poll();
}

Server::Server(ServerOptions options) : impl_(std::make_unique<Impl>(options)) {}

Server::~Server() { stop(); }

void Server::get(const std::string& pattern, Handler h, RouteOptions options) {
  impl_->routes.emplace_back("GET", pattern, std::move(h), std::move(options));
}
void Server::post(const std::string& pattern, Handler h, RouteOptions options) {
  impl_->routes.emplace_back("POST", pattern, std::move(h), std::move(options));
}
void Server::put(const std::string& pattern, Handler h, RouteOptions options) {
  impl_->routes.emplace_back("PUT", pattern, std::move(h), std::move(options));
}
void Server::not_found(Handler h) { impl_->not_found = std::move(h); }

Result<int> Server::listen(const std::string& host, int port) {
  raise_file_limit();
  boost::system::error_code ec;
  if (!impl_->options.tls_cert.empty()) {
    // TLS 1.2 and 1.3 only; the certificate file may hold the chain (leaf first).
    asio::ssl::context& ctx = impl_->tls.emplace(asio::ssl::context::tls_server);
    ctx.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                        asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1 |
                        asio::ssl::context::single_dh_use,
                    ec);
    if (!ec) ctx.use_certificate_chain_file(impl_->options.tls_cert.string(), ec);
    if (ec)
      return fail(ErrorCode::kConfig, fmt::format("cannot use the certificate {}: {}", impl_->options.tls_cert.string(),
                                                  ec.message()),
                  "http.tls.cert");
    ctx.use_private_key_file(impl_->options.tls_key.string(), asio::ssl::context::pem, ec);
    if (ec)
      return fail(ErrorCode::kConfig,
                  fmt::format("cannot use the key {} with {}: {}", impl_->options.tls_key.string(),
                              impl_->options.tls_cert.string(), ec.message()),
                  "http.tls.key");
  }
  const auto address = asio::ip::make_address(host == "localhost" ? "127.0.0.1" : host, ec);
  if (ec) return fail(ErrorCode::kInvalidArgument, fmt::format("http.host \"{}\" is not an IP address", host), "http.host");
  const tcp::endpoint at(address, static_cast<unsigned short>(port));
  impl_->acceptor.open(at.protocol(), ec);
  if (!ec) impl_->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl_->acceptor.bind(at, ec);
  if (!ec) impl_->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    return fail(ErrorCode::kUnavailable, fmt::format("cannot listen on {}:{}: {}", host, port, ec.message()),
                "http.port");
  const int bound = impl_->acceptor.local_endpoint().port();
  impl_->running = true;
  impl_->accept();
  impl_->keep_alive_tick();
  impl_->loop_thread = std::thread([this] { impl_->loop.run(); });
  return bound;
}

void Server::stop() {
  if (!impl_->running.exchange(false)) return;
  std::promise<void> closed;
  asio::post(impl_->loop, [this, &closed] {
    boost::system::error_code ec;
    impl_->acceptor.close(ec);
    impl_->keep_alive_timer.cancel();
    impl_->accept_retry.cancel();
    for (auto& s : impl_->open_sessions(false)) s->close();
    closed.set_value();
  });
  closed.get_future().wait();
  impl_->pool.stop();
  impl_->loop.stop();
  impl_->loop_thread.join();
}

void Server::notify() {
  if (!impl_->running || impl_->notify_pending.exchange(true)) return;
  asio::post(impl_->loop, [this] { impl_->round(); });
}

std::vector<std::pair<std::string, std::string>> Server::routes() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const Route& r : impl_->routes) out.emplace_back(r.method, r.text);
  return out;
}

ServerStats Server::stats() const {
  ServerStats s;
  {
    std::lock_guard lock(impl_->sessions_mu);
    s.connections = impl_->sessions.size();
  }
  s.streams = impl_->streams;
  s.requests = impl_->requests;
  s.busy = impl_->busy;
  s.queued = impl_->pool.queued();
  return s;
}

}  // namespace gridwatch::center::http
