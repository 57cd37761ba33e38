// What protects the center from its outside callers: rate limits per address and per key
// (429 + Retry-After), a cap on the refusals it keeps, and the headers every answer carries.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <thread>

#include <fmt/format.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "gridwatch/center/center.h"
#include "gridwatch/domain/catalog.h"
#include "center_config.h"
#include "support.h"

namespace gridwatch::testing {
namespace {

constexpr const char* kKey = "abuse-test-key-0123456789";

class Abuse : public ::testing::Test {
 protected:
  void SetUp() override {
    svc_ = services();
    dir_ = temp_dir("abuse");
    cfg_ = center_config(fmt::format("abuse-{}", getpid()), unique_prefix(), "hotline", kKey);
  }
  void TearDown() override {
    center_.reset();
    std::filesystem::remove_all(dir_);
  }
  int start() {
    center_ = std::make_unique<center::Center>(cfg_, Catalog::builtin());
    auto st = center_->start();
    EXPECT_TRUE(st.has_value()) << st.error().message;
    return center_->http_port();
  }
  int kept_refusals() {
    auto r = sql(svc_.pg_conninfo, "SELECT count(*) FROM dead_letters WHERE source = 'open311'");
    return r.empty() ? -1 : std::stoi(r[0][0]);
  }

  platform::ServiceEndpoints svc_;
  std::filesystem::path dir_;
  center::CenterConfig cfg_;
  std::unique_ptr<center::Center> center_;
};

// A flood of forms without a valid key: the address's burst is refused 403 and kept (the newest
// `refusals_kept` of them), the rest is answered 429 in the format asked for, with Retry-After,
// and costs nothing; a caller with a valid key from the same address is not held by it.
TEST_F(Abuse, AFloodWithoutAKeyIsLimitedByAddressAndItsKeptRefusalsAreCapped) {
  cfg_.per_address = {.rate = 0.01, .burst = 3};  // one more every 100 s: none during the test
  cfg_.refusals_kept = 2;
  const int port = start();
  const std::string form = form_encode({{"api_key", "not-a-key-0000000000"}, {"service_code", "sanitation.dumped_waste"},
                                        {"lat", "39.9"}, {"long", "116.4"}, {"description", "flood"}});
  std::vector<int> codes;
  HttpReply last;
  for (int i = 0; i < 6; ++i) {
    last = http_post(port, "/open311/v2/requests.json", form);
    codes.push_back(last.status);
  }
  EXPECT_EQ(codes, (std::vector<int>{403, 403, 403, 429, 429, 429}));
  const auto err = nlohmann::json::parse(last.body, nullptr, false);
  ASSERT_TRUE(err.is_array()) << last.body;  // Open311's error list
  EXPECT_EQ(err[0].value("code", 0), 429);
  EXPECT_EQ(err[0].value("description", ""), "too many requests: try again in 100 s");
  // The XML route answers in XML.
  auto xml = http_post(port, "/open311/v2/requests.xml", form);
  EXPECT_EQ(xml.status, 429);
  EXPECT_NE(xml.body.find("<code>429</code>"), std::string::npos) << xml.body;
  // Retry-After as a client sees it.
  httplib::Client cli("127.0.0.1", port);
  auto r = cli.Post("/open311/v2/requests.json", form, "application/x-www-form-urlencoded");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 429);
  EXPECT_EQ(r->get_header_value("Retry-After"), "100");
  // Three kept, two left: the oldest went.
  EXPECT_EQ(kept_refusals(), 2);
  // The hotline's system posts with its key from the same address: its own bucket.
  auto ok = http_post(port, "/open311/v2/requests.json",
                      form_encode({{"api_key", kKey}, {"service_code", "sanitation.dumped_waste"}, {"lat", "39.9"},
                                   {"long", "116.4"}, {"description", "a real ticket"}}));
  EXPECT_EQ(ok.status, 200) << ok.body;
  const auto metrics = http_get(port, "/metrics").body;
  EXPECT_NE(metrics.find("gw_center_http_limited_total{by=\"address\"} 5"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("gw_center_http_limited_total{by=\"key\"} 0"), std::string::npos) << metrics;
}

// A key over its own rate is limited too (its bucket, not the address's), and so are photo uploads.
TEST_F(Abuse, AKeyOverItsRateAndPhotoUploadsAreAnswered429) {
  cfg_.per_key = {.rate = 0.01, .burst = 2};
  const int port = start();
  std::vector<int> codes;
  for (int i = 0; i < 3; ++i)
    codes.push_back(http_post(port, "/open311/v2/requests.json",
                              form_encode({{"api_key", kKey}, {"service_code", "no.such.service"}}))
                        .status);
  EXPECT_EQ(codes, (std::vector<int>{400, 400, 429}));
  // The token's uploads: the first two get as far as the image check, the third is limited.
  codes.clear();
  for (int i = 0; i < 3; ++i) codes.push_back(http_request(port, "POST", "/api/v1/media", "not an image", kAdminToken).status);
  EXPECT_EQ(codes, (std::vector<int>{400, 400, 429}));
  const auto metrics = http_get(port, "/metrics").body;
  EXPECT_NE(metrics.find("gw_center_http_limited_total{by=\"key\"} 2"), std::string::npos) << metrics;
}

// Every answer says its type is its type and sends no Referer; the pages say where they may load from.
TEST_F(Abuse, AnswersCarryTheSecurityHeadersAndPagesTheirPolicy) {
  std::filesystem::create_directories(dir_ / "web");
  write_file(dir_ / "web" / "index.html", "<!doctype html><title>map</title>");
  cfg_.web.root = dir_ / "web";
  cfg_.web.tile_url = "https://tiles.example.gov.cn/{z}/{x}/{y}.png";
  const int port = start();
  httplib::Client cli("127.0.0.1", port);
  for (const char* path : {"/healthz", "/api/v1/orders", "/no/such/thing", "/"}) {
    auto r = cli.Get(path);
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->get_header_value("X-Content-Type-Options"), "nosniff") << path;
    EXPECT_EQ(r->get_header_value("Referrer-Policy"), "no-referrer") << path;
  }
  auto page = cli.Get("/");
  ASSERT_TRUE(page);
  const std::string csp = page->get_header_value("Content-Security-Policy");
  EXPECT_NE(csp.find("script-src 'self';"), std::string::npos) << csp;
  EXPECT_NE(csp.find("img-src 'self' data: blob: https://tiles.example.gov.cn;"), std::string::npos) << csp;
  EXPECT_NE(csp.find("frame-ancestors 'self'"), std::string::npos) << csp;
  EXPECT_TRUE(cli.Get("/healthz")->get_header_value("Content-Security-Policy").empty()) << "pages only";
}

// A self-signed certificate for 127.0.0.1 (openssl, Debian's openssl package).
void make_certificate(const std::filesystem::path& dir) {
  const std::string cmd = fmt::format(
      "openssl req -x509 -newkey rsa:2048 -nodes -keyout {0}/key.pem -out {0}/cert.pem -days 2 "
      "-subj /CN=gridwatch-test -addext subjectAltName=IP:127.0.0.1 >{0}/openssl.log 2>&1",
      dir.string());
  ASSERT_EQ(std::system(cmd.c_str()), 0) << read_file(dir / "openssl.log");
}

// With http.tls the center speaks HTTPS only: a client that trusts the certificate is answered,
// a plain HTTP request on the same port is not.
TEST_F(Abuse, WithACertificateTheCenterSpeaksHttpsOnly) {
  make_certificate(dir_);
  cfg_.tls_cert = dir_ / "cert.pem";
  cfg_.tls_key = dir_ / "key.pem";
  const int port = start();
  httplib::SSLClient tls("127.0.0.1", port);
  tls.set_ca_cert_path((dir_ / "cert.pem").string());
  tls.enable_server_certificate_verification(true);
  auto ok = tls.Get("/healthz");
  ASSERT_TRUE(ok) << httplib::to_string(ok.error()) << " (" << tls.get_openssl_verify_result() << ")";
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(ok->get_header_value("X-Content-Type-Options"), "nosniff");
  auto api = tls.Post("/api/v1/media", httplib::Headers{{"Authorization", std::string("Bearer ") + kAdminToken}},
                      "not an image", "image/png");
  ASSERT_TRUE(api);
  EXPECT_EQ(api->status, 400) << api->body;  // the request went through TLS to the handler
  httplib::Client plain("127.0.0.1", port);
  plain.set_read_timeout(5);
  auto refused = plain.Get("/healthz");
  EXPECT_FALSE(refused) << "plain HTTP answered " << refused->status;
  // An event stream over TLS: what it sent until `until` appeared (or it timed out).
  auto read_events = [port](const std::string& until, time_t timeout_s) {
    std::string got;
    httplib::SSLClient stream("127.0.0.1", port);
    stream.enable_server_certificate_verification(false);
    stream.set_read_timeout(timeout_s);
    (void)stream.Get("/api/v1/events", httplib::Headers{{"Authorization", std::string("Bearer ") + kAdminToken}},
                     [&](const char* data, size_t n) {
                       got.append(data, n);
                       return got.find(until) == std::string::npos;
                     });
    return got;
  };
  // It opens and says hello.
  const std::string head = read_events("gridwatch live events", 5);
  EXPECT_NE(head.find("gridwatch live events"), std::string::npos) << head;
  // And stays open after it went quiet: a ticket posted a second later reaches it.
  std::string events;
  std::thread poster([&] {
    std::this_thread::sleep_for(std::chrono::seconds{1});
    httplib::SSLClient post("127.0.0.1", port);
    post.enable_server_certificate_verification(false);
    (void)post.Post("/open311/v2/requests.json",
                    form_encode({{"api_key", kKey}, {"service_code", "sanitation.dumped_waste"}, {"lat", "39.9"},
                                 {"long", "116.4"}, {"description", "over TLS"}}),
                    "application/x-www-form-urlencoded");
  });
  events = read_events("sanitation.dumped_waste", 10);
  poster.join();
  EXPECT_NE(events.find("sanitation.dumped_waste"), std::string::npos) << events;
}

TEST_F(Abuse, ACertificateThatCannotBeUsedStopsTheStartAndSaysWhich) {
  make_certificate(dir_);
  cfg_.tls_cert = dir_ / "cert.pem";
  cfg_.tls_key = dir_ / "openssl.log";  // not a key
  center_ = std::make_unique<center::Center>(cfg_, Catalog::builtin());
  auto st = center_->start();
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().field, "http.tls.key");
  EXPECT_NE(st.error().message.find("cannot use the key " + (dir_ / "openssl.log").string()), std::string::npos)
      << st.error().message;
}

}  // namespace
}  // namespace gridwatch::testing
