// The promise of merge.h: reports of one problem at one place at the same moment never open two
// cases. Sixteen residents post the same overflowing bin through Open311 at once, against a center
// in this process (16 HTTP threads, 16 database connections) on the fixture's PostGIS.
#include <gtest/gtest.h>

#include <barrier>
#include <set>
#include <thread>

#include <fmt/format.h>

#include "gridwatch/center/center.h"
#include "gridwatch/domain/catalog.h"
#include "center_config.h"
#include "support.h"

namespace gridwatch::testing {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

TEST(MergeRace, SixteenReportsAtOnePlaceAtOnceAreOneCase) {
  const std::string tag = fmt::format("race{}", getpid());
  center::CenterConfig cfg = center_config(tag, unique_prefix(), "race", "race-test-key-0123456789");
  cfg.pool_size = 16;
  cfg.http_threads = 16;
  center::Center center(cfg, Catalog::builtin());
  ASSERT_TRUE(center.start().has_value());
  // A place of this process's own, far from other tests' cases; each report a few metres apart
  // (within the bin category's 50 m).
  const double lon = 117.60 + (getpid() % 2000) * 1e-4, lat = 40.70;
  constexpr int kReports = 16;
  std::barrier start(kReports);
  std::vector<std::string> ids(kReports);
  std::vector<std::thread> residents;
  for (int i = 0; i < kReports; ++i)
    residents.emplace_back([&, i] {
      const std::string form = form_encode({{"api_key", "race-test-key-0123456789"},
                                            {"service_code", "sanitation.bin_overflow"},
                                            {"lat", fmt::format("{:.7f}", lat + i * 1e-5)},
                                            {"long", fmt::format("{:.7f}", lon)},
                                            {"description", fmt::format("bin overflowing, resident {}", i)}});
      start.arrive_and_wait();  // all at once
      auto r = http_post(center.http_port(), "/open311/v2/requests.json", form);
      if (r.status == 200) ids[static_cast<size_t>(i)] = json::parse(r.body)[0]["service_request_id"];
    });
  for (auto& t : residents) t.join();
  std::set<std::string> cases;
  for (const std::string& id : ids) {
    ASSERT_FALSE(id.empty()) << "a report was refused";
    auto c = http_get(center.http_port(), "/api/v1/orders/" + id);
    ASSERT_EQ(c.status, 200) << c.body;
    cases.insert(json::parse(c.body)["id"].get<std::string>());
  }
  EXPECT_EQ(cases.size(), 1u) << "reports of one bin opened " << cases.size() << " cases";
  auto one = json::parse(http_get(center.http_port(), "/api/v1/orders/" + *cases.begin()).body);
  EXPECT_EQ(one["properties"]["source_count"], kReports);
  center.stop();
}

}  // namespace
}  // namespace gridwatch::testing
