// Test helpers: where the real data of the real-data tests lives, decided at run time.
//
// Real data (boundaries, 311 tickets, sensor series, a clip, a detector, the Open311 schemas)
// comes from other public repositories and is not part of the project. Its folder is
// $GRIDWATCH_TEST_DATA, else ../shared/data beside the checkout. A test that needs a file of it
// belongs to a suite whose name ends in "RealData" (CTest gives those the label `realdata`) and
// starts with GW_NEED_DATA, which skips the test with one line naming the file when it is missing:
//
//   TEST(AreaIndexRealData, NycTicketsLandInTheirCommunityBoard) {
//     GW_NEED_DATA(csv, "tickets/nyc-311-sample-2011.csv");
//     std::ifstream in(csv);
//
// Every behaviour tested on real data also has a test on data the project makes itself.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>

namespace gridwatch::testing {

// The folder of the real data: $GRIDWATCH_TEST_DATA when set (even if it does not exist, so a
// wrong setting shows as skips naming it), else ../shared/data beside the source tree.
inline std::filesystem::path test_data_dir() {
  if (const char* env = std::getenv("GRIDWATCH_TEST_DATA"); env && *env) return env;
  return std::filesystem::path(GRIDWATCH_SOURCE_DIR).parent_path() / "shared" / "data";
}

// The full path of `relative` under test_data_dir(), or nullopt when there is no such file or
// folder.
inline std::optional<std::string> test_data(const std::string& relative) {
  std::filesystem::path p = test_data_dir() / relative;
  std::error_code ec;
  if (!std::filesystem::exists(p, ec)) return std::nullopt;
  return p.string();
}

// The full path of `relative` in the outside tools beside the real data (validators such as
// tools/validate.py: test_data_dir().parent_path() / "tools"), or nullopt when it is missing.
inline std::optional<std::string> test_tools(const std::string& relative) {
  std::filesystem::path p = test_data_dir().parent_path() / "tools" / relative;
  std::error_code ec;
  if (!std::filesystem::exists(p, ec)) return std::nullopt;
  return p.string();
}

// The skip message for a missing file: "needs NAME (GRIDWATCH_TEST_DATA)".
inline std::string needs_data_message(const std::string& relative) {
  return "needs " + std::filesystem::path(relative).filename().string() + " (GRIDWATCH_TEST_DATA)";
}

}  // namespace gridwatch::testing

// Declares `const std::string var` = the path of `relative` under the real-data folder, or skips
// the test with "needs FILE (GRIDWATCH_TEST_DATA)" when it is missing.
#define GW_NEED_DATA(var, relative)                                               \
  const auto var##_found = ::gridwatch::testing::test_data(relative);             \
  if (!var##_found) GTEST_SKIP() << ::gridwatch::testing::needs_data_message(relative); \
  const std::string var = *var##_found

// As GW_NEED_DATA, for a file of the outside tools (test_tools()).
#define GW_NEED_TOOL(var, relative)                                               \
  const auto var##_found = ::gridwatch::testing::test_tools(relative);            \
  if (!var##_found) GTEST_SKIP() << ::gridwatch::testing::needs_data_message(relative); \
  const std::string var = *var##_found
