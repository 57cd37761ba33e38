#include "gridwatch/classify/dataset.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

#include "matchers.h"

namespace gridwatch::classify {
namespace {

using ::gridwatch::testing::FailsWith;

TEST(DatasetMapping, TextColumnsCategoriesAndUnmapped) {
  auto m = parse_dataset_mapping(R"(
source: nyc311
columns: {id: Unique Key, category: Complaint Type, text: [Descriptor, Incident Address]}
categories: {Noise - Residential: environment.noise}
unmapped: general.other
keywords: {environment.noise: [loud music, banging]}
)", "m.yaml", ".");
  ASSERT_TRUE(m.has_value()) << m.error().message;
  EXPECT_EQ(m->text_columns, (std::vector<std::string>{"Descriptor", "Incident Address"}));
  EXPECT_EQ(m->category_column, "Complaint Type");
  EXPECT_EQ(m->unmapped, std::optional<std::string>("general.other"));
  EXPECT_EQ(m->keywords["environment.noise"].size(), 2u);
}

TEST(DatasetMapping, AnImportMappingWithoutTextUsesTheDescription) {
  auto m = parse_dataset_mapping("columns: {category: type, description: [a, b]}\n", "m.yaml", ".");
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->text_columns, (std::vector<std::string>{"a", "b"}));
  EXPECT_THAT(parse_dataset_mapping("columns: {category: type}\n", "m.yaml", "."),
              FailsWith(ErrorCode::kConfig, "columns.text", "complaint text"));
  EXPECT_THAT(parse_dataset_mapping("columns: {category: type, text: t}\ncolour: red\n", "m.yaml", "."),
              FailsWith(ErrorCode::kConfig, "colour", "unknown key"));
}

TEST(Dataset, BadRowsAreReportedWithTheirLineAndTheRestIsRead) {
  auto m = parse_dataset_mapping(
      "columns: {category: type, text: [title, detail]}\ncategories: {Noise: environment.noise}\n", "m.yaml", ".");
  ASSERT_TRUE(m.has_value());
  std::istringstream csv(
      "id,title,detail,type\n"
      "1,Loud,music at night,Noise\n"
      "2,,,Noise\n"
      "3,Pothole,big one,Street Condition\n"
      "4,too,few\n"
      "5,Bang,,Noise\n");
  std::vector<std::pair<size_t, std::string>> skipped;
  auto d = load_dataset(csv, *m, [&](size_t line, const std::string& why) { skipped.emplace_back(line, why); });
  ASSERT_TRUE(d.has_value());
  ASSERT_EQ(d->examples.size(), 2u);
  EXPECT_EQ(d->examples[0].text, "Loud / music at night");
  EXPECT_EQ(d->examples[0].label, "environment.noise");
  EXPECT_EQ(d->examples[1].text, "Bang");
  EXPECT_EQ(d->rows, 5u);
  ASSERT_EQ(skipped.size(), 3u);
  EXPECT_EQ(skipped[0], (std::pair<size_t, std::string>{3, "no text"}));
  EXPECT_EQ(skipped[1].first, 4u);
  EXPECT_THAT(skipped[1].second, ::testing::HasSubstr("not in the mapping's categories"));
  EXPECT_EQ(skipped[2], (std::pair<size_t, std::string>{5, "3 fields where the header has 4"}));
}

TEST(Dataset, AMissingColumnFailsTheFile) {
  auto m = parse_dataset_mapping("columns: {category: type, text: body}\n", "m.yaml", ".");
  ASSERT_TRUE(m.has_value());
  std::istringstream csv("id,text,type\n1,a,b\n");
  EXPECT_THAT(load_dataset(csv, *m, {}), FailsWith(ErrorCode::kInvalidArgument, "columns", "no column \"body\""));
}

}  // namespace
}  // namespace gridwatch::classify
