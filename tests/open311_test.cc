// Open311 GeoReport v2 on a running center, checked with the official schemas and the outside
// validator in ../shared/tools.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include "gridwatch/domain/catalog.h"
#include "gridwatch/platform/process.h"
#include "support.h"

namespace gridwatch::testing {
namespace {

using json = nlohmann::json;
const std::string kTools = std::string(GRIDWATCH_SHARED_DIR) + "/tools";
const std::string kSchemas = std::string(GRIDWATCH_SHARED_DIR) + "/data/open311";

class Open311 : public ::testing::Test {
 protected:
  void SetUp() override {
    auto svc = services();
    ASSERT_FALSE(svc.pg_conninfo.empty());
    dir_ = temp_dir("open311");
    port_ = *platform::free_tcp_port();
    write_file(dir_ / "center.yaml",
               fmt::format("center:\n  id: o311-{}\nbroker:\n  url: {}\n  topic_prefix: {}\n"
                           "database:\n  conninfo: \"{}\"\nhttp:\n  port: {}\n",
                           getpid(), svc.mqtt_url, unique_prefix(), svc.pg_conninfo, port_));
    center_.emplace(start_gridwatch({"center", "--config", (dir_ / "center.yaml").string()}, dir_ / "center.log"));
    ASSERT_TRUE(eventually([&] { return http_get(port_, "/healthz").status == 200; })) << read_file(dir_ / "center.log");
  }
  void TearDown() override {
    center_.reset();
    std::filesystem::remove_all(dir_);
  }
  // validate.py KIND on a body: exit status 0 when valid.
  Status validate(const std::string& kind, const std::string& body) {
    const auto file = dir_ / fmt::format("{}.json", kind);
    write_file(file, body);
    platform::SpawnOptions o;
    o.log_file = dir_ / "validate.log";
    return platform::run_to_completion({"/usr/bin/python3", kTools + "/validate.py", kSchemas, kind, file.string()}, o,
                                       std::chrono::seconds{60});
  }
  std::filesystem::path dir_;
  int port_ = 0;
  std::optional<platform::ChildProcess> center_;
};

TEST_F(Open311, ServicesAndDefinitionsValidateAgainstTheOfficialSchemas) {
  auto r = http_get(port_, "/open311/v2/services.json");
  ASSERT_EQ(r.status, 200);
  ASSERT_TRUE(validate("services", r.body).has_value()) << read_file(dir_ / "validate.log") << r.body;
  const json list = json::parse(r.body);
  ASSERT_EQ(list.size(), Catalog::builtin().all().size());
  EXPECT_EQ(list[0]["service_code"], Catalog::builtin().all()[0].code);
  EXPECT_EQ(list[0]["service_name"], Catalog::builtin().all()[0].name.en);
  for (const json& s : list) {
    ASSERT_TRUE(s["metadata"].get<bool>());
    auto d = http_get(port_, fmt::format("/open311/v2/services/{}.json", s["service_code"].get<std::string>()));
    ASSERT_EQ(d.status, 200) << s["service_code"];
    ASSERT_TRUE(validate("service-definition", d.body).has_value()) << read_file(dir_ / "validate.log") << d.body;
  }
  // Chinese names on request; no extension means JSON.
  auto zh = json::parse(http_get(port_, "/open311/v2/services?locale=zh").body);
  EXPECT_EQ(zh[0]["service_name"], Catalog::builtin().all()[0].name.zh);
  EXPECT_EQ(http_get(port_, "/open311/v2/services.json?locale=fr").status, 400);
}

TEST_F(Open311, XmlCarriesTheSameContentAndErrorsFollowTheSpec) {
  auto xml = http_get(port_, "/open311/v2/services.xml");
  ASSERT_EQ(xml.status, 200);
  write_file(dir_ / "services.xml", xml.body);
  // Well-formed, and one <service> with the same code per catalog entry.
  platform::SpawnOptions o;
  o.log_file = dir_ / "xml.log";
  const char* check = R"(import sys, xml.dom.minidom as m
d = m.parse(sys.argv[1])
codes = [e.firstChild.data for e in d.getElementsByTagName('service_code')]
sys.exit(0 if codes == sys.argv[2].split(',') else 1))";
  std::string codes;
  for (const Category& c : Catalog::builtin().all()) codes += (codes.empty() ? "" : ",") + c.code;
  EXPECT_TRUE(platform::run_to_completion({"/usr/bin/python3", "-c", check, (dir_ / "services.xml").string(), codes}, o,
                                          std::chrono::seconds{30})
                  .has_value())
      << read_file(dir_ / "xml.log") << xml.body;
  auto def = http_get(port_, "/open311/v2/services/sanitation.bin_overflow.xml");
  EXPECT_EQ(def.status, 200);
  EXPECT_NE(def.body.find("<service_code>sanitation.bin_overflow</service_code>"), std::string::npos) << def.body;
  EXPECT_NE(def.body.find("<key>high</key>"), std::string::npos) << def.body;
  // Unknown service: 404 in the spec's error format, in the asked format.
  auto missing = http_get(port_, "/open311/v2/services/no.such.json");
  EXPECT_EQ(missing.status, 404);
  const json err = json::parse(missing.body);
  ASSERT_TRUE(err.is_array());
  EXPECT_EQ(err[0]["code"], 404);
  EXPECT_NE(err[0]["description"].get<std::string>().find("no service \"no.such\""), std::string::npos);
  auto missing_xml = http_get(port_, "/open311/v2/services/no.such.xml");
  EXPECT_EQ(missing_xml.status, 404);
  EXPECT_NE(missing_xml.body.find("<errors><error><code>404</code>"), std::string::npos) << missing_xml.body;
}

}  // namespace
}  // namespace gridwatch::testing
