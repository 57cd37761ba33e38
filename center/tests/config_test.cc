#include <gtest/gtest.h>

#include <cctype>

#include <fmt/format.h>

#include "gridwatch/center/config.h"
#include "gridwatch/platform/secrets.h"

namespace gridwatch::center {
namespace {

TEST(CenterConfig, DefaultsAndOverrides) {
  auto c = parse_center_config("http:\n  port: 18080\ndatabase:\n  pool_size: 2\n", "center.yaml");
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->http_port, 18080);
  EXPECT_EQ(c->pool_size, 2);
  EXPECT_EQ(c->topic_prefix, "gw/v1");
  EXPECT_EQ(c->share_group, "center");
}

TEST(CenterConfig, HttpsTakesACertificateAndItsKeyBesideTheFile) {
  auto c = parse_center_config("http:\n  tls: {cert: tls/center.crt, key: tls/center.key}\n", "/etc/gridwatch/center.yaml");
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->tls_cert, "/etc/gridwatch/tls/center.crt");
  EXPECT_EQ(c->tls_key, "/etc/gridwatch/tls/center.key");
  auto bad = parse_center_config("http:\n  tls: {cert: tls/center.crt}\n", "center.yaml");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().field, "http.tls.key");
}

TEST(CenterConfig, UnknownKeyAndWrongType) {
  auto c = parse_center_config("http:\n  port: 18080\n  prot: 1\n", "center.yaml");
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().code, ErrorCode::kConfig);
  EXPECT_EQ(c.error().field, "http.prot");
  EXPECT_NE(c.error().message.find("center.yaml:3: http.prot: unknown key"), std::string::npos)
      << c.error().message;
  c = parse_center_config("http:\n  port: eighty\n", "center.yaml");
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().field, "http.port");
  EXPECT_NE(c.error().message.find("center.yaml:2: http.port: expected a whole number"),
            std::string::npos)
      << c.error().message;
  c = parse_center_config("http:\n  port: 70000\n", "center.yaml");
  ASSERT_FALSE(c.has_value());
  EXPECT_NE(c.error().message.find("out of range [0, 65535]"), std::string::npos);
  c = parse_center_config("broker:\n  topic_prefix: gw/#\n", "center.yaml");
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().field, "broker.topic_prefix");
}

TEST(CenterConfig, ABrokerOfSeveralNodesMosquittoOrRabbitmq) {
  auto c = parse_center_config("broker:\n  url: tcp://a:1883\n  failover_urls: [tcp://b:1883, tcp://c:1883]\n", "center.yaml");
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->broker_kind, CenterConfig::BrokerKind::kMosquitto);
  EXPECT_EQ(c->broker_failover_urls, (std::vector<std::string>{"tcp://b:1883", "tcp://c:1883"}));
  c = parse_center_config(
      "broker:\n  kind: rabbitmq\n  url: amqp://n1:5672\n  failover_urls: [amqp://n2:5672/gw]\n  username: c\n  password: p\n",
      "center.yaml");
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->broker_kind, CenterConfig::BrokerKind::kRabbitmq);
  EXPECT_EQ(c->broker_url, "amqp://n1:5672");
  EXPECT_EQ(c->broker_failover_urls, std::vector<std::string>{"amqp://n2:5672/gw"});
  c = parse_center_config("broker:\n  kind: rabbitmq\n", "center.yaml");
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->broker_url, "amqp://127.0.0.1:5672") << "RabbitMQ's default port";

  struct Refused {
    const char* yaml;
    const char* field;
    const char* says;
  };
  for (const Refused& r : {
           Refused{"broker:\n  kind: kafka\n", "broker.kind", "is not one of"},
           Refused{"broker:\n  kind: rabbitmq\n  url: tcp://n1:1883\n", "broker.url", "must start with amqp://"},
           Refused{"broker:\n  kind: rabbitmq\n  url: amqp://u:p@n1:5672\n", "broker.url", "give the account as username"},
           Refused{"broker:\n  kind: rabbitmq\n  url: amqp://n1\n  failover_urls: [amqp://n1]\n", "broker.failover_urls",
                   "is url itself"},
           Refused{"broker:\n  kind: rabbitmq\n  url: amqp://n1\n  failover_urls: [tcp://n2:1883]\n",
                   "broker.failover_urls", "must start with amqp://"},
           Refused{"broker:\n  kind: rabbitmq\n  tls:\n    ca_file: ca.pem\n", "broker.tls", "amqps:// is not supported"},
           Refused{"broker:\n  url: tcp://a\n  failover_urls: [amqp://b]\n", "broker.failover_urls", "must start with tcp://"},
       }) {
    auto bad = parse_center_config(r.yaml, "center.yaml");
    ASSERT_FALSE(bad.has_value()) << r.yaml;
    EXPECT_EQ(bad.error().field, r.field) << r.yaml;
    EXPECT_NE(bad.error().message.find(r.says), std::string::npos) << bad.error().message;
  }
}

TEST(CenterConfig, TheWebPagesBaseMapAndReportKey) {
  constexpr const char* kKeys = "open311:\n  api_keys:\n    - {name: residents, key: residents-key-0123456789}\n";
  auto c = parse_center_config(std::string(kKeys) + R"(web:
  root: dist
  buildings: buildings.csv
  report_key: residents
  tiles: {url: "https://tiles.example.gov.cn/{z}/{x}/{y}.png", crs: gcj02, attribution: "© city"}
)",
                               "/etc/gridwatch/center.yaml");
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->web.root, "/etc/gridwatch/dist");
  EXPECT_EQ(c->web.buildings, "/etc/gridwatch/buildings.csv");
  EXPECT_EQ(c->web.report_key, "residents");
  EXPECT_EQ(c->web.tile_type, "raster");
  EXPECT_EQ(c->web.tile_crs, "gcj02");
  // The report page's key must be one of the center's Open311 keys.
  c = parse_center_config(std::string(kKeys) + "web:\n  report_key: kiosk\n", "center.yaml");
  ASSERT_FALSE(c.has_value());
  EXPECT_NE(c.error().message.find("center.yaml:5: web.report_key: names no open311.api_keys entry \"kiosk\""),
            std::string::npos)
      << c.error().message;
  c = parse_center_config("web:\n  tiles: {url: \"https://tiles.example/tile.png\"}\n", "center.yaml");
  ASSERT_FALSE(c.has_value());
  EXPECT_NE(c.error().message.find("a raster tile URL has {z}, {x} and {y}"), std::string::npos) << c.error().message;
  c = parse_center_config("web:\n  tiles: {url: \"https://t/{z}/{x}/{y}.png\", crs: bd09}\n", "center.yaml");
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().field, "web.tiles.crs");
  c = parse_center_config("web:\n  port: 80\n", "center.yaml");
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().field, "web.port");
}

// An Open311 key given by its SHA-256 only: the configuration holds no secret, the key still
// finds its entry (and only it), and the report page cannot be handed a key the center does not have.
TEST(CenterConfig, AnOpen311KeyByItsDigest) {
  const std::string key = "hotline-key-0123456789";
  const std::string digest = platform::sha256_hex(key);
  std::string upper = digest;
  for (char& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  auto c = parse_center_config(fmt::format("open311:\n  api_keys:\n    - {{name: hotline, key_sha256: {}}}\n"
                                           "    - {{name: kiosk, key: kiosk-key-0123456789}}\n",
                                           upper),
                               "center.yaml");
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_TRUE(c->api_keys[0].key.empty());
  const ApiKey* found = find_api_key(c->api_keys, key);
  ASSERT_NE(found, nullptr);
  EXPECT_EQ(found->name, "hotline");
  const ApiKey* kiosk = find_api_key(c->api_keys, "kiosk-key-0123456789");
  ASSERT_NE(kiosk, nullptr);
  EXPECT_EQ(kiosk->name, "kiosk");
  EXPECT_EQ(find_api_key(c->api_keys, digest), nullptr) << "the digest is not the key";
  EXPECT_EQ(find_api_key(c->api_keys, ""), nullptr);

  c = parse_center_config(fmt::format("open311:\n  api_keys:\n    - {{name: a, key_sha256: {0}}}\n"
                                      "    - {{name: b, key: {1}}}\n",
                                      digest, key),
                          "center.yaml");
  ASSERT_FALSE(c.has_value());
  EXPECT_NE(c.error().message.find("\"b\" repeats the name or key of \"a\""), std::string::npos) << c.error().message;
  c = parse_center_config("open311:\n  api_keys:\n    - {name: a, key_sha256: abc}\n", "center.yaml");
  ASSERT_FALSE(c.has_value());
  EXPECT_NE(c.error().message.find("must be a SHA-256 in hex (64 digits)"), std::string::npos) << c.error().message;
  c = parse_center_config(fmt::format("open311:\n  api_keys:\n    - {{name: a, key: {}, key_sha256: {}}}\n", key, digest),
                          "center.yaml");
  ASSERT_FALSE(c.has_value());
  EXPECT_NE(c.error().message.find("give one of key, key_file and key_sha256"), std::string::npos) << c.error().message;
  c = parse_center_config(
      fmt::format("open311:\n  api_keys:\n    - {{name: qr, key_sha256: {}}}\nweb:\n  report_key: qr\n", digest),
      "center.yaml");
  ASSERT_FALSE(c.has_value());
  EXPECT_NE(c.error().message.find("web.report_key: \"qr\" is configured by its key_sha256 only"), std::string::npos)
      << c.error().message;
}

// The pages may load from the center, the tile server and the origins named, and from nowhere else.
TEST(CenterConfig, ThePagesPolicyNamesTheTileServerAndTheOriginsGiven) {
  auto c = parse_center_config(R"(web:
  tiles: {url: "https://{s}.tiles.example.gov.cn:8443/{z}/{x}/{y}.png"}
  origins: ["https://glyphs.example.gov.cn"]
)",
                               "center.yaml");
  ASSERT_TRUE(c.has_value()) << c.error().message;
  const std::string csp = content_security_policy(c->web);
  EXPECT_NE(csp.find("connect-src 'self' https://glyphs.example.gov.cn https://*.tiles.example.gov.cn:8443;"),
            std::string::npos)
      << csp;
  EXPECT_NE(csp.find("script-src 'self';"), std::string::npos) << csp;
  EXPECT_NE(csp.find("object-src 'none'"), std::string::npos) << csp;
  // Without a tile server: the center only.
  EXPECT_NE(content_security_policy({}).find("connect-src 'self';"), std::string::npos);
  // An origin is an origin: no path, nothing that would end the directive.
  for (const char* bad : {"https://a.example/path", "a.example", "https://a.example; script-src *"}) {
    auto r = parse_center_config(fmt::format("web:\n  origins: [\"{}\"]\n", bad), "center.yaml");
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_NE(r.error().message.find("is not an origin (scheme://host[:port], no path)"), std::string::npos)
        << r.error().message;
  }
}

TEST(CenterConfig, RateLimitsAndTheCapOfKeptRefusals) {
  auto c = parse_center_config("limits:\n  per_address: {rate: 0.5, burst: 4}\n  per_key: {rate: 0}\n  refusals_kept: 3\n",
                               "center.yaml");
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_DOUBLE_EQ(c->per_address.rate, 0.5);
  EXPECT_DOUBLE_EQ(c->per_address.burst, 4);
  EXPECT_FALSE(c->per_key.enabled());
  EXPECT_EQ(c->refusals_kept, 3u);
  auto d = parse_center_config("center:\n  id: c1\n", "center.yaml");
  ASSERT_TRUE(d.has_value());
  EXPECT_DOUBLE_EQ(d->per_address.rate, 1);
  EXPECT_DOUBLE_EQ(d->per_key.rate, 50);
  auto bad = parse_center_config("limits:\n  per_address: {rate: 1, every: 2}\n", "center.yaml");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().field, "limits.per_address.every");
}

TEST(CenterConfig, DispatchSuggestions) {
  auto c = parse_center_config(
      "classify:\n  model: models/m.bin\n  auto_threshold: 0.9\n  safety_words: [化学品]\n", "/etc/gw/center.yaml");
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->classify.model, std::filesystem::path("/etc/gw/models/m.bin"));
  EXPECT_EQ(c->classify.auto_threshold, std::optional<double>(0.9));
  EXPECT_EQ(c->classify.safety_words, std::vector<std::string>{"化学品"});
  auto none = parse_center_config("center:\n  id: c1\n", "center.yaml");
  ASSERT_TRUE(none.has_value());
  EXPECT_TRUE(none->classify.model.empty());
  EXPECT_FALSE(none->classify.auto_threshold.has_value());
  auto high = parse_center_config("classify:\n  model: m.bin\n  auto_threshold: 1.5\n", "center.yaml");
  ASSERT_FALSE(high.has_value());
  EXPECT_EQ(high.error().field, "classify.auto_threshold");
  auto unknown = parse_center_config("classify:\n  modle: m.bin\n", "center.yaml");
  ASSERT_FALSE(unknown.has_value());
  EXPECT_EQ(unknown.error().field, "classify.modle");
}

TEST(CenterConfig, AnalyticsDefaults) {
  auto c = parse_center_config(R"(areas:
  - file: streets.json
    level: street
  - level: grid
    synthetic_cell_m: 250
analytics:
  time_zone: Asia/Urumqi
  hexagon_m: 400
  q: 0.1
  anomaly_level: street
)",
                               "/etc/gw/center.yaml");
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->analytics.time_zone, "Asia/Urumqi");
  EXPECT_EQ(c->analytics.hexagon_m, 400);
  EXPECT_EQ(c->analytics.q, 0.1);
  EXPECT_EQ(c->analytics.anomaly_level, "street");
  auto none = parse_center_config("center:\n  id: c1\n", "center.yaml");
  ASSERT_TRUE(none.has_value());
  EXPECT_EQ(none->analytics.time_zone, "Asia/Shanghai");
  EXPECT_EQ(none->analytics.hexagon_m, 250);
  EXPECT_EQ(none->analytics.q, 0.05);
  struct Bad {
    const char* yaml;
    const char* field;
  } bad[] = {{"analytics:\n  time_zone: Moon/Base\n", "analytics.time_zone"},
             {"analytics:\n  hexagon_m: 10\n", "analytics.hexagon_m"},
             {"analytics:\n  hexagon_m: 5001\n", "analytics.hexagon_m"},
             {"analytics:\n  q: 0.9\n", "analytics.q"},
             {"analytics:\n  anomaly_level: city\n", "analytics.anomaly_level"},
             {"analytics:\n  hexagon: 250\n", "analytics.hexagon"}};
  for (const Bad& b : bad) {
    auto r = parse_center_config(b.yaml, "center.yaml");
    ASSERT_FALSE(r.has_value()) << b.yaml;
    EXPECT_EQ(r.error().field, b.field) << r.error().message;
  }
}

TEST(CenterConfig, AreaLayersFromFilesAndSyntheticCells) {
  auto c = parse_center_config(R"(areas:
  - file: districts.json
    level: district
    crs: gcj02
  - level: grid
    synthetic_cell_m: 500
    within: [110101, "110102"]
)",
                               "/etc/gridwatch/center.yaml");
  ASSERT_TRUE(c.has_value()) << c.error().message;
  ASSERT_EQ(c->areas.size(), 2u);
  EXPECT_EQ(c->areas[0].file, "/etc/gridwatch/districts.json");
  EXPECT_EQ(c->areas[0].options.crs, geo::Crs::kGcj02);
  EXPECT_EQ(c->areas[1].synthetic_cell_m, 500);
  EXPECT_EQ(c->areas[1].synthetic_within, (std::vector<std::string>{"110101", "110102"}));
  EXPECT_EQ(c->areas[1].options.level_name, "grid");

  struct Case {
    std::string yaml, field, message;
  };
  for (const Case& k : std::vector<Case>{
           {"areas:\n  - level: grid\n    synthetic_cell_m: 500\n", "areas[0].synthetic_cell_m",
            "center.yaml:3: areas[0].synthetic_cell_m: a synthetic layer needs a layer above it"},
           {"areas:\n  - level: d\n", "areas[0].file", "either a file or synthetic_cell_m"},
           {"areas:\n  - file: a.json\n    level: d\n    synthetic_cell_m: 5\n",
            "areas[0].synthetic_cell_m", "either a file or synthetic_cell_m"},
           {"areas:\n  - file: a.json\n    level: d\n  - level: g\n    synthetic_cell_m: 5\n",
            "areas[1].synthetic_cell_m", "out of range"},
           {"areas:\n  - file: a.json\n    level: d\n  - level: g\n    synthetic_cell_m: 500\n    crs: gcj02\n",
            "areas[1].crs", "does not apply to a synthetic layer"},
           {"areas:\n  - file: a.json\n    level: d\n  - level: g\n    synthetic_cell_m: 500\n    within: 110101\n",
            "areas[1].within", "expected a list"},
           {"areas:\n  - file: a.json\n    level: d\n    within: [1]\n", "areas[0].within",
            "applies to synthetic layers only"},
       }) {
    auto r = parse_center_config(k.yaml, "center.yaml");
    ASSERT_FALSE(r.has_value()) << k.yaml;
    EXPECT_EQ(r.error().field, k.field) << k.yaml;
    EXPECT_NE(r.error().message.find(k.message), std::string::npos) << r.error().message;
  }
}

}  // namespace
}  // namespace gridwatch::center
