// The agent's outbox against a real Mosquitto that goes away in the middle of a stream: a broker
// of this test's own (the fixture's broker is shared), with persistence, so that the subscriber's
// session survives the restart as a center's does.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <mutex>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "gridwatch/agent/agent.h"
#include "gridwatch/agent/outbox.h"
#include "gridwatch/center/center.h"
#include "gridwatch/domain/catalog.h"
#include "gridwatch/platform/mqtt.h"
#include "gridwatch/platform/process.h"
#include "gridwatch/platform/services.h"
#include "private_broker.h"
#include "support.h"

namespace gridwatch::testing {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

TEST(OutboxDelivery, ABrokerOutageInTheMiddleOfAStreamLosesNothingAndKeepsTheOrder) {
  const auto dir = temp_dir("outbox-delivery");
  const int port = *platform::free_tcp_port();
  PrivateBroker broker(dir, port);
  broker.start();

  // The subscriber stands for the center: a session that outlives a broker restart.
  std::mutex mu;
  std::vector<int> received;
  auto sub = platform::MqttClient::create(
      {.url = broker.url(), .client_id = fmt::format("t-outbox-sub-{}", getpid()), .clean_session = false});
  ASSERT_TRUE(sub.has_value());
  (*sub)->on_message([&](platform::MqttMessage m) {
    const json j = json::parse(m.payload, nullptr, false);
    std::lock_guard lock(mu);
    received.push_back(j.value("n", -1));
  });
  ASSERT_TRUE((*sub)->subscribe("t/orders/#", 1).has_value());
  ASSERT_TRUE((*sub)->connect(10s).has_value());

  auto log = agent::open_outbox_file(dir / "agent" / "outbox" / "log");
  ASSERT_TRUE(log.has_value());
  auto box = agent::Outbox::open(std::move(*log), {});
  ASSERT_TRUE(box.has_value());
  auto pub = platform::MqttClient::create({.url = broker.url(), .client_id = fmt::format("t-outbox-agent-{}", getpid())});
  ASSERT_TRUE(pub.has_value());
  ASSERT_TRUE((*pub)->connect(10s).has_value());
  agent::OutboxSender sender(**box, **pub, 100, 2000);
  sender.start();

  // 600 events over ~3 s; the broker is away for ~2 s after the 200th.
  constexpr int kEvents = 600;
  for (int i = 0; i < kEvents; ++i) {
    ASSERT_TRUE((*box)->add("t/orders/agent-1", json({{"n", i}}).dump(), 2).has_value());
    sender.wake();
    if (i == 200) {
      broker.stop();
      EXPECT_TRUE(eventually([&] { return !(*pub)->connected(); }, 5s)) << "the broker is down";
    }
    if (i == 400) broker.start();
    std::this_thread::sleep_for(5ms);
  }
  const bool all = eventually(
      [&] {
        std::lock_guard lock(mu);
        return std::set<int>(received.begin(), received.end()).size() == kEvents;
      },
      60s);
  sender.stop();
  std::lock_guard lock(mu);
  ASSERT_TRUE(all) << "received " << std::set<int>(received.begin(), received.end()).size() << " of " << kEvents;
  // Every event by its id, first arrivals in order; a copy sent again after the outage (its
  // acknowledgement was lost with the connection) is allowed, and harmless at the center.
  std::vector<int> first;
  std::set<int> seen;
  for (int n : received)
    if (seen.insert(n).second) first.push_back(n);
  std::vector<int> want(kEvents);
  for (int i = 0; i < kEvents; ++i) want[static_cast<size_t>(i)] = i;
  EXPECT_EQ(first, want);
  EXPECT_LE(received.size() - kEvents, 200u) << "at most one window sent again";
  EXPECT_EQ((*box)->stats().pending, 0u);
  EXPECT_GE((*box)->stats().acknowledged, static_cast<uint64_t>(kEvents));
  (*sub)->disconnect(1s);
  (*pub)->disconnect(1s);
  broker.stop();
  std::filesystem::remove_all(dir);
}

// A broker with a password file and per-agent ACLs: an agent may publish only under its own id;
// what it sends as another agent is dropped by the broker and never reaches the center's store.
TEST(BrokerAcl, AnAgentCannotPublishAsAnotherAndTheCenterNeverStoresIt) {
  auto svc = services();
  ASSERT_FALSE(svc.pg_conninfo.empty());
  const auto dir = temp_dir("broker-acl");
  const int port = *platform::free_tcp_port();
  const std::string tag = fmt::format("acl{}", getpid());
  const std::string agent = tag + "-box-a", other = tag + "-box-b", prefix = "gw/v1";
  // Passwords with Mosquitto's own tool; the ACL in Mosquitto's pattern syntax (%u: the user).
  auto passwd = [&](const std::string& user, const std::string& password, bool create) {
    std::vector<std::string> argv = {"/usr/bin/mosquitto_passwd", "-b"};
    if (create) argv.push_back("-c");
    for (const std::string& a : {(dir / "passwd").string(), user, password}) argv.push_back(a);
    auto p = platform::ChildProcess::spawn(argv);
    ASSERT_TRUE(p.has_value());
    auto st = p->wait(10s);
    ASSERT_TRUE(st && WIFEXITED(*st) && WEXITSTATUS(*st) == 0);
  };
  passwd("center", "center-secret-0123", true);
  passwd(agent, "box-a-secret-0123", false);
  write_file(dir / "acl", "user center\ntopic read gw/v1/orders/#\ntopic readwrite gw/v1/center/#\n\n"
                          "pattern write gw/v1/orders/%u\npattern readwrite gw/v1/agents/%u/#\n"
                          "pattern read gw/v1/sensors/+/reading\n");
  ::chmod((dir / "passwd").c_str(), 0644);
  ::chmod((dir / "acl").c_str(), 0644);
  PrivateBroker broker(dir, port,
                fmt::format("allow_anonymous false\npassword_file {}\nacl_file {}\n", (dir / "passwd").string(),
                            (dir / "acl").string()));
  broker.start();

  // Anonymous and wrong passwords are turned away.
  auto anonymous = platform::MqttClient::create({.url = broker.url(), .client_id = tag + "-anon"});
  EXPECT_FALSE((*anonymous)->connect(2s).has_value());
  auto wrong = platform::MqttClient::create(
      {.url = broker.url(), .client_id = tag + "-wrong", .username = agent, .password = "not-the-password"});
  EXPECT_FALSE((*wrong)->connect(2s).has_value());

  center::CenterConfig cfg;
  cfg.id = tag;
  cfg.broker_url = broker.url();
  cfg.username = "center";
  cfg.password = "center-secret-0123";
  cfg.conninfo = svc.pg_conninfo;
  cfg.http_port = 0;
  center::Center center(cfg, Catalog::builtin());
  auto st = center.start(10s);
  ASSERT_TRUE(st.has_value()) << st.error().message;

  // The agent's password comes from a file, as its configuration reads it.
  write_file(dir / "box-a.password", "box-a-secret-0123\n");
  auto ac = agent::parse_agent_config(
      fmt::format("agent: {{id: {}, data_dir: {}}}\nbroker: {{url: \"{}\", username: {}, password_file: box-a.password}}\n",
                  agent, (dir / "agent-data").string(), broker.url(), agent),
      (dir / "agent.yaml").string(), Catalog::builtin());
  ASSERT_TRUE(ac.has_value()) << ac.error().message;
  EXPECT_EQ(ac->broker.password, "box-a-secret-0123");
  agent::Agent box(*ac, Catalog::builtin());
  ASSERT_TRUE(box.start(10s).has_value()) << "the agent's credentials are accepted";

  auto order = [&](const std::string& id, const std::string& agent_id) {
    return json({{"schema", "gw.order/1"},
                 {"event", "open"},
                 {"id", id},
                 {"category", "general.other"},
                 {"source", {{"kind", "camera"}, {"agent_id", agent_id}}},
                 {"location", {{"lon", 101.5}, {"lat", 31.5}}},
                 {"observed_at", format_rfc3339(now_utc())}})
        .dump();
  };
  auto pub = platform::MqttClient::create(
      {.url = broker.url(), .client_id = tag + "-pub", .username = agent, .password = "box-a-secret-0123"});
  ASSERT_TRUE((*pub)->connect(10s).has_value());
  const std::string spoofed = other + ".spoofed", genuine = agent + ".genuine";
  // As another agent (its topic and its id in the payload): the broker drops it.
  (void)(*pub)->publish_and_wait(fmt::format("{}/orders/{}", prefix, other), order(spoofed, other), 1, false, 5s);
  // Under its own id: stored. It is sent after the other, so once it is stored the other had its chance.
  ASSERT_TRUE((*pub)->publish_and_wait(fmt::format("{}/orders/{}", prefix, agent), order(genuine, agent), 1, false, 5s));
  ASSERT_TRUE(eventually([&] {
    return sql(svc.pg_conninfo, "SELECT count(*) FROM order_events WHERE order_id = $1", {genuine})[0][0] == "1";
  }));
  // One connection, QoS 1: the broker passes messages on in order, and the center stores them in
  // order, so the spoofed one would have been stored before the genuine one.
  EXPECT_EQ(sql(svc.pg_conninfo, "SELECT count(*) FROM order_events WHERE order_id = $1", {spoofed})[0][0], "0");
  EXPECT_EQ(sql(svc.pg_conninfo, "SELECT count(*) FROM dead_letters WHERE payload::text LIKE $1",
                {"%" + spoofed + "%"})[0][0],
            "0")
      << "not even as a dead letter: it never reached the center";
  (*pub)->disconnect(1s);
  box.stop();
  center.stop();
  broker.stop();
  std::filesystem::remove_all(dir);
}

// TLS to the broker: a certificate authority and a broker certificate made here with openssl; the
// agent trusts that CA (tls.ca_file) and connects over ssl://; a client trusting another CA, or
// speaking plain MQTT to the TLS port, does not get in.
TEST(BrokerTls, TheAgentConnectsOverTlsAndAnUntrustedBrokerIsRefused) {
  const auto dir = temp_dir("broker-tls");
  auto run = [&](std::vector<std::string> argv) {
    auto p = platform::ChildProcess::spawn(argv, {.log_file = dir / "openssl.log"});
    ASSERT_TRUE(p.has_value());
    auto st = p->wait(60s);
    ASSERT_TRUE(st && WIFEXITED(*st) && WEXITSTATUS(*st) == 0) << read_file(dir / "openssl.log");
  };
  const std::string d = dir.string();
  for (const char* ca : {"ca", "other-ca"})
    run({"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", d + "/" + ca + ".key", "-out",
         d + "/" + ca + ".pem", "-days", "2", "-subj", std::string("/CN=gridwatch test ") + ca});
  run({"/usr/bin/openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", d + "/server.key", "-out",
       d + "/server.csr", "-subj", "/CN=127.0.0.1"});
  write_file(dir / "san.ext", "subjectAltName=IP:127.0.0.1\n");
  run({"/usr/bin/openssl", "x509", "-req", "-in", d + "/server.csr", "-CA", d + "/ca.pem", "-CAkey", d + "/ca.key",
       "-CAcreateserial", "-out", d + "/server.pem", "-days", "2", "-extfile", d + "/san.ext"});
  for (const char* f : {"ca.pem", "server.pem", "server.key"}) ::chmod((dir / f).c_str(), 0644);  // Mosquitto's user
  const int port = *platform::free_tcp_port();
  PrivateBroker broker(dir, port,
                fmt::format("allow_anonymous true\ncafile {0}/ca.pem\ncertfile {0}/server.pem\nkeyfile {0}/server.key\n", d));
  broker.start();
  const std::string url = fmt::format("ssl://127.0.0.1:{}", port);

  auto ac = agent::parse_agent_config(
      fmt::format("agent: {{id: tls-box, data_dir: {}}}\nbroker: {{url: \"{}\", tls: {{ca_file: ca.pem}}}}\n",
                  (dir / "agent-data").string(), url),
      (dir / "agent.yaml").string(), Catalog::builtin());
  ASSERT_TRUE(ac.has_value()) << ac.error().message;
  EXPECT_EQ(ac->broker.ca_file, (dir / "ca.pem").string());
  agent::Agent box(*ac, Catalog::builtin());
  auto st = box.start(10s);
  ASSERT_TRUE(st.has_value()) << st.error().message;
  // Its retained status went over TLS; a second TLS client reads it back.
  std::mutex mu;
  std::string seen;
  auto reader = platform::MqttClient::create({.url = url, .client_id = "t-tls-reader", .ca_file = (dir / "ca.pem").string()});
  ASSERT_TRUE(reader.has_value());
  (*reader)->on_message([&](platform::MqttMessage m) {
    std::lock_guard lock(mu);
    seen = m.payload;
  });
  ASSERT_TRUE((*reader)->subscribe("gw/v1/agents/tls-box/status", 1).has_value());
  ASSERT_TRUE((*reader)->connect(10s).has_value());
  EXPECT_TRUE(eventually([&] {
    std::lock_guard lock(mu);
    return seen.find("\"online\"") != std::string::npos;
  }));
  (*reader)->disconnect(1s);
  box.stop();

  auto untrusting = platform::MqttClient::create(
      {.url = url, .client_id = "t-tls-other-ca", .ca_file = (dir / "other-ca.pem").string()});
  EXPECT_FALSE((*untrusting)->connect(3s).has_value()) << "a broker signed by another CA is not trusted";
  auto plain = platform::MqttClient::create({.url = fmt::format("tcp://127.0.0.1:{}", port), .client_id = "t-tls-plain"});
  EXPECT_FALSE((*plain)->connect(3s).has_value()) << "the TLS port does not speak plain MQTT";
  // The configuration names what is missing.
  auto bad = agent::parse_agent_config(fmt::format("agent: {{id: x}}\nbroker: {{url: \"{}\"}}\n", url), "a.yaml",
                                       Catalog::builtin());
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "a.yaml:2: broker.tls: an ssl:// url needs tls.ca_file (the broker's CA)");
  broker.stop();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace gridwatch::testing
