#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include "gridwatch/domain/catalog.h"
#include "matchers.h"
#include "test_data.h"

namespace gridwatch {
namespace {

using testing::FailsWith;

TEST(Catalog, BuiltinHasTheTenArchitectureCategories) {
  const Catalog& c = Catalog::builtin();
  for (const char* code :
       {"sanitation.bin_overflow", "sanitation.dumped_waste", "traffic.illegal_parking",
        "traffic.bike_clutter", "fire.blocked_lane", "water.waterlogging",
        "utilities.manhole_cover", "environment.noise", "environment.odor", "utilities.heating"}) {
    const Category* cat = c.find(code);
    ASSERT_NE(cat, nullptr) << code;
    EXPECT_FALSE(cat->name.zh.empty()) << code;
    EXPECT_FALSE(cat->name.en.empty()) << code;
    EXPECT_FALSE(cat->department.zh.empty()) << code;
    EXPECT_GT(cat->respond_within.count(), 0) << code;
    EXPECT_GE(cat->resolve_within, cat->respond_within) << code;
    EXPECT_GT(cat->merge_radius_m, 0) << code;
  }
  EXPECT_EQ(c.find("sanitation.bin_overflow")->taxonomy_code, "030302");
  EXPECT_EQ(c.find("fire.blocked_lane")->default_priority, Priority::kUrgent);
  EXPECT_EQ(c.find("nope.nothing"), nullptr);
}

// Every category of the built-in catalog names a taxonomy leaf by a six-digit code (two digits
// per level; a leaf is below the top level, so the second pair is not 00) and its name.
TEST(Catalog, TaxonomyCodesAreSixDigitLeavesWithNames) {
  const std::regex six_digits("[0-9]{6}");
  ASSERT_FALSE(Catalog::builtin().all().empty());
  for (const Category& cat : Catalog::builtin().all()) {
    EXPECT_TRUE(std::regex_match(cat.taxonomy_code, six_digits))
        << cat.code << " -> " << cat.taxonomy_code;
    EXPECT_NE(cat.taxonomy_code.substr(2, 2), "00") << cat.code << " -> " << cat.taxonomy_code;
    EXPECT_FALSE(cat.taxonomy_name.empty()) << cat.code;
  }
  EXPECT_EQ(Catalog::builtin().find("environment.noise")->taxonomy_code, "040201");
  EXPECT_EQ(Catalog::builtin().find("environment.noise")->taxonomy_name, "噪声污染");
}

// Every taxonomy code of the catalog is a real leaf of the 12345 taxonomy, with the same name.
TEST(CatalogRealData, TaxonomyCodesAreLeavesOfTheStandard) {
  GW_NEED_DATA(csv, "taxonomy/12345-categories-db44t2479-2024.csv");
  std::ifstream in(csv);
  ASSERT_TRUE(in) << csv << " cannot be read";
  // level_3_code -> level_3_name, or the level-2 name where the level-2 node is itself the leaf
  // (990100..999900 have no level-3 name).
  std::map<std::string, std::string> leaves;
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::vector<std::string> cols;
    std::stringstream ss(line);
    std::string col;
    while (cols.size() < 7 && std::getline(ss, col, ',')) cols.push_back(col);
    if (cols.size() == 7) leaves[cols[5]] = cols[6].empty() ? cols[4] : cols[6];
    if (cols.size() == 6) leaves[cols[5]] = cols[4];  // an empty last column
  }
  ASSERT_GT(leaves.size(), 500u);
  for (const Category& cat : Catalog::builtin().all()) {
    auto it = leaves.find(cat.taxonomy_code);
    ASSERT_NE(it, leaves.end()) << cat.code << " -> " << cat.taxonomy_code;
    EXPECT_EQ(it->second, cat.taxonomy_name) << cat.code;
  }
}

constexpr std::string_view kOne = R"(version: 1
categories:
  - code: sanitation.bin_overflow
    name: {zh: 垃圾桶满溢, en: Overflowing bin}
    department: {code: sanitation, zh: 环卫中心, en: Sanitation service}
    sla: {respond: 2h, resolve: 12h}
    merge: {radius_m: 50, window: 24h}
    priority: normal
    taxonomy: {code: "030302", name: 市容环卫}
)";

TEST(Catalog, LoadsAFileOfItsOwn) {
  auto c = Catalog::load_text(kOne, "one.yaml");
  ASSERT_TRUE(c.has_value()) << c.error().message;
  ASSERT_EQ(c->all().size(), 1u);
  EXPECT_EQ(c->all()[0].merge_window, std::chrono::hours{24});
}

TEST(Catalog, ErrorsNameLineAndKey) {
  std::string bad(kOne);
  bad.replace(bad.find("priority: normal"), 16, "priority: asap");
  EXPECT_THAT(Catalog::load_text(bad, "c.yaml"),
              FailsWith(ErrorCode::kConfig, "categories[0].priority", "c.yaml:8:"));
  std::string unknown(kOne);
  unknown += "    colour: red\n";
  EXPECT_THAT(Catalog::load_text(unknown, "c.yaml"),
              FailsWith(ErrorCode::kConfig, "categories[0].colour", "unknown key"));
  std::string tax(kOne);
  tax.replace(tax.find("\"030302\""), 8, "\"3302\"");
  EXPECT_THAT(Catalog::load_text(tax, "c.yaml"),
              FailsWith(ErrorCode::kConfig, "categories[0].taxonomy.code", "six digits"));
  std::string dup(kOne);
  dup += dup.substr(dup.find("  - code"));
  EXPECT_THAT(Catalog::load_text(dup, "c.yaml"),
              FailsWith(ErrorCode::kConfig, "categories[1].code", "duplicate code"));
}

TEST(Catalog, UrgentCapsComeFromTheFileOrDefaultToTwoAndTwentyFourHours) {
  auto plain = Catalog::load_text(kOne, "c.yaml");
  ASSERT_TRUE(plain.has_value());
  EXPECT_EQ(plain->urgent_respond_within(), std::chrono::hours{2});
  EXPECT_EQ(plain->urgent_resolve_within(), std::chrono::hours{24});
  std::string own(kOne);
  own.replace(own.find("categories:"), 11, "urgent_sla: {respond: 30m, resolve: 6h}\ncategories:");
  auto strict = Catalog::load_text(own, "c.yaml");
  ASSERT_TRUE(strict.has_value()) << strict.error().message;
  EXPECT_EQ(strict->urgent_respond_within(), std::chrono::minutes{30});
  EXPECT_EQ(strict->urgent_resolve_within(), std::chrono::hours{6});
  std::string backwards(kOne);
  backwards.replace(backwards.find("categories:"), 11, "urgent_sla: {respond: 6h, resolve: 1h}\ncategories:");
  EXPECT_THAT(Catalog::load_text(backwards, "c.yaml"),
              FailsWith(ErrorCode::kConfig, "urgent_sla.resolve", "must not be shorter than respond"));
  std::string odd(kOne);
  odd.replace(odd.find("categories:"), 11, "urgent_sla: {respond: 1h, fix: 2h}\ncategories:");
  EXPECT_THAT(Catalog::load_text(odd, "c.yaml"), FailsWith(ErrorCode::kConfig, "urgent_sla.fix", "unknown key"));
  EXPECT_EQ(Catalog::builtin().urgent_resolve_within(), std::chrono::hours{24}) << "data/categories.yaml";
}

TEST(Catalog, VerificationIsTheResidentsWithinADayUnlessTheCategorySaysOtherwise) {
  auto plain = Catalog::load_text(kOne, "c.yaml");
  ASSERT_TRUE(plain.has_value());
  EXPECT_EQ(plain->all()[0].verify_by, VerifyBy::kResident);
  EXPECT_EQ(plain->all()[0].verify_within, std::chrono::hours{24});
  std::string own(kOne);
  own += "    verify: worker\n";
  own.replace(own.find("resolve: 12h}"), 13, "resolve: 12h, verify: 90m}");
  auto worker = Catalog::load_text(own, "c.yaml");
  ASSERT_TRUE(worker.has_value()) << worker.error().message;
  EXPECT_EQ(worker->all()[0].verify_by, VerifyBy::kWorker);
  EXPECT_EQ(worker->all()[0].verify_within, std::chrono::minutes{90});
  std::string odd(kOne);
  odd += "    verify: neighbour\n";
  EXPECT_THAT(Catalog::load_text(odd, "c.yaml"), FailsWith(ErrorCode::kConfig, "categories[0].verify", "worker"));
  // The shipped catalog: street problems by a worker, what a sensor sees by the sensor, what only
  // the caller can tell by the resident.
  EXPECT_EQ(Catalog::builtin().find("utilities.manhole_cover")->verify_by, VerifyBy::kWorker);
  EXPECT_EQ(Catalog::builtin().find("water.waterlogging")->verify_by, VerifyBy::kSensor);
  EXPECT_EQ(Catalog::builtin().find("utilities.heating")->verify_by, VerifyBy::kResident);
}

TEST(Catalog, MergeWithNamesAnotherCategoryAndWorksBothWays) {
  const Catalog& c = Catalog::builtin();
  const Category* lane = c.find("fire.blocked_lane");
  const Category* parking = c.find("traffic.illegal_parking");
  const Category* noise = c.find("environment.noise");
  ASSERT_TRUE(lane && parking && noise);
  EXPECT_TRUE(Catalog::compatible(*lane, *parking));
  EXPECT_TRUE(Catalog::compatible(*parking, *lane));
  EXPECT_TRUE(Catalog::compatible(*noise, *noise));
  EXPECT_FALSE(Catalog::compatible(*noise, *parking));
  std::string bad(kOne);
  bad.replace(bad.find("window: 24h}"), 12, "window: 24h, with: [sanitation.nothing]}");
  EXPECT_THAT(Catalog::load_text(bad, "c.yaml"),
              FailsWith(ErrorCode::kConfig, "categories[0].merge.with", "sanitation.nothing"));
}

}  // namespace
}  // namespace gridwatch
