// An HTTP/1.1 client on a plain loopback socket, for the tests and benchmarks that must do what a
// library client hides: send half a request or a malformed one, stop reading, keep thousands of
// connections idle, read an event stream as it comes. Header-only; POSIX sockets.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <fmt/format.h>

namespace gridwatch::testing {

class RawHttp {
 public:
  // Connects to 127.0.0.1:port.
  explicit RawHttp(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = fd_ >= 0 && ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  }
  ~RawHttp() {
    if (fd_ >= 0) ::close(fd_);
  }
  RawHttp(const RawHttp&) = delete;
  RawHttp& operator=(const RawHttp&) = delete;

  // A GET of /api/v1/events as EventSource sends it, with the token in the query.
  static std::string event_stream_request(std::string_view token) {
    return fmt::format("GET /api/v1/events?access_token={} HTTP/1.1\r\nHost: t\r\nAccept: text/event-stream\r\n\r\n",
                       token);
  }

  bool connected() const { return connected_; }
  // False when the bytes could not all be sent (the server has closed the connection).
  bool send(std::string_view bytes) const {
    return ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size());
  }
  // Reads until `what` has arrived (true), the peer closed or `timeout` passed (false).
  bool read_until(std::string_view what, std::chrono::milliseconds timeout = std::chrono::seconds{10}) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (received_.find(what) == std::string::npos)
      if (!read_some(end)) return false;
    return true;
  }
  // True when the server closed the connection before `timeout`.
  bool closed_within(std::chrono::milliseconds timeout) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (read_some(end)) {
    }
    return eof_;
  }
  // One whole answer with a Content-Length: status, headers (as received), body. What follows
  // it stays in `received()`.
  struct Answer {
    int status = 0;
    std::string head, body;
    std::string header(std::string_view name) const {
      const std::string key = fmt::format("\r\n{}: ", name);
      const size_t at = head.find(key);
      if (at == std::string::npos) return "";
      const size_t from = at + key.size();
      return head.substr(from, head.find("\r\n", from) - from);
    }
  };
  std::optional<Answer> answer(std::chrono::milliseconds timeout = std::chrono::seconds{10}) {
    if (!read_until("\r\n\r\n", timeout)) return std::nullopt;
    Answer a;
    const size_t end = received_.find("\r\n\r\n");
    a.head = received_.substr(0, end + 2);
    a.status = std::stoi(a.head.substr(9, 3));
    const std::string length = a.header("Content-Length");
    const size_t n = length.empty() ? 0 : std::stoul(length);
    if (!read_until_size(end + 4 + n, timeout)) return std::nullopt;
    a.body = received_.substr(end + 4, n);
    received_.erase(0, end + 4 + n);
    return a;
  }
  // Everything read and not taken by `answer()`.
  const std::string& received() const { return received_; }
  // Forgets what was read (a benchmark holding thousands of connections counts its memory).
  void discard() { std::string().swap(received_); }

 private:
  bool read_until_size(size_t n, std::chrono::milliseconds timeout) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (received_.size() < n)
      if (!read_some(end)) return false;
    return true;
  }
  bool read_some(std::chrono::steady_clock::time_point end) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
    if (left.count() <= 0 || eof_ || !connected_) return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    char buf[65536];
    const ssize_t n = ::read(fd_, buf, sizeof buf);
    if (n <= 0) {
      eof_ = true;
      return false;
    }
    received_.append(buf, static_cast<size_t>(n));
    return true;
  }

  int fd_ = -1;
  bool connected_ = false;
  bool eof_ = false;
  std::string received_;
};

}  // namespace gridwatch::testing
