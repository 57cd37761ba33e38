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
  EXPECT_EQ(m->id_column, "Unique Key");
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

TEST(Dataset, ATicketTwiceIsKeptOnceAndATicketLabelledTwoWaysIsLeftOut) {
  auto m = parse_dataset_mapping("columns: {id: id, category: type, text: body}\n", "m.yaml", ".");
  ASSERT_TRUE(m.has_value());
  std::istringstream csv(
      "id,body,type\n"
      "7,bins full,sanitation\n"
      "8,insurance online,labour\n"
      "7,bins full,sanitation\n"  // the same ticket again: kept once
      "9,road dug up,transport\n"
      "8,insurance online,building\n"  // ticket 8 labelled two ways: both rows left out
      "8,insurance online,labour\n"
      "10,bins full,transport\n");  // the same text as 7 but another ticket: kept
  std::vector<std::pair<size_t, std::string>> skipped;
  auto d = load_dataset(csv, *m, [&](size_t line, const std::string& why) { skipped.emplace_back(line, why); });
  ASSERT_TRUE(d.has_value());
  std::vector<std::string> labels;
  for (const auto& e : d->examples) labels.push_back(e.text + "|" + e.label);
  EXPECT_EQ(labels, (std::vector<std::string>{"bins full|sanitation", "road dug up|transport", "bins full|transport"}));
  EXPECT_EQ(d->rows, 7u);
  EXPECT_EQ(d->repeats, 1u);
  EXPECT_EQ(d->skipped, 3u);
  ASSERT_EQ(skipped.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(skipped[i].first, std::vector<size_t>({3, 6, 7})[i]);
    EXPECT_EQ(skipped[i].second, "ticket \"8\" is labelled \"building\", \"labour\" (its label is not known)");
  }
  // Without an id column every row is a ticket of its own.
  auto plain = parse_dataset_mapping("columns: {category: type, text: body}\n", "m.yaml", ".");
  std::istringstream again(csv.str());
  auto all = load_dataset(again, *plain, {});
  ASSERT_TRUE(all.has_value());
  EXPECT_EQ(all->examples.size(), 7u);
  EXPECT_EQ(all->repeats, 0u);
}

TEST(Dataset, AMissingColumnFailsTheFile) {
  auto m = parse_dataset_mapping("columns: {category: type, text: body}\n", "m.yaml", ".");
  ASSERT_TRUE(m.has_value());
  std::istringstream csv("id,text,type\n1,a,b\n");
  EXPECT_THAT(load_dataset(csv, *m, {}), FailsWith(ErrorCode::kInvalidArgument, "columns", "no column \"body\""));
}

}  // namespace
}  // namespace gridwatch::classify
