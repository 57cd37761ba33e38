// The MQTT client against a peer that accepts the TCP connection and never answers (a broker
// hung in a TLS handshake, say): connect() gives up at its deadline with a clear error, and the
// client can be destroyed while Paho is still trying.
#include "gridwatch/platform/mqtt.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>

namespace gridwatch::platform {
namespace {

TEST(MqttClient, ABrokerThatNeverAnswersFailsConnectAndTheClientCanStillBeDestroyed) {
  // A listening socket nobody accepts from: the kernel completes the handshake, nothing replies.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(fd, 4), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const int port = ntohs(addr.sin_port);
  for (int i = 0; i < 3; ++i) {
    auto c = MqttClient::create({.url = fmt::format("tcp://127.0.0.1:{}", port), .client_id = fmt::format("t-hung-{}", i)});
    ASSERT_TRUE(c.has_value());
    auto st = (*c)->connect(std::chrono::milliseconds{300});
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().code, ErrorCode::kUnavailable);
    EXPECT_NE(st.error().message.find(fmt::format("cannot connect to MQTT broker tcp://127.0.0.1:{}", port)),
              std::string::npos)
        << st.error().message;
    // Destroyed while its connect is still in progress: no exception may escape.
  }
  ::close(fd);
}

}  // namespace
}  // namespace gridwatch::platform
