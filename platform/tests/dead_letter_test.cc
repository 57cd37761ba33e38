// The dead-letter file: whole JSON lines, and a disk that refuses one is logged and counted
// without stopping the next.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "gridwatch/platform/log.h"

namespace gridwatch::platform {
namespace {

std::filesystem::path fresh_dir(const std::string& name) {
  auto d = std::filesystem::temp_directory_path() / fmt::format("gw-{}-{}", name, getpid());
  std::filesystem::remove_all(d);
  std::filesystem::create_directories(d);
  return d;
}

TEST(DeadLetterFile, KeepsOneJsonLineEachWithTheReasonAndPayload) {
  const auto dir = fresh_dir("dead-letters");
  auto f = DeadLetterFile::open(dir / "sub" / "dead-letter.jsonl");
  ASSERT_TRUE(f.has_value()) << f.error().message;
  (*f)->add("gw/v1/sensors/x/reading", "payload is not valid JSON", "{\"ts\":");
  (*f)->add("gw/v1/sensors/y/reading", "unknown device \"y\"", "line\nbreak");
  EXPECT_EQ((*f)->count(), 2u);
  EXPECT_EQ((*f)->lost(), 0u);
  std::ifstream in(dir / "sub" / "dead-letter.jsonl");
  std::string line;
  ASSERT_TRUE(std::getline(in, line));
  auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["source"], "gw/v1/sensors/x/reading");
  EXPECT_EQ(j["reason"], "payload is not valid JSON");
  EXPECT_EQ(j["payload"], "{\"ts\":");
  ASSERT_TRUE(std::getline(in, line));
  EXPECT_EQ(nlohmann::json::parse(line)["payload"], "line\nbreak");
  EXPECT_FALSE(std::getline(in, line));
  std::filesystem::remove_all(dir);
}

TEST(DeadLetterFile, AFullDiskIsCountedAsLostAndTheFileGoesOn) {
  // /dev/full accepts opens and fails every write with ENOSPC.
  if (!std::filesystem::exists("/dev/full")) GTEST_SKIP() << "no /dev/full";
  const auto dir = fresh_dir("dead-letters-full");
  std::filesystem::create_symlink("/dev/full", dir / "dead-letter.jsonl");
  auto f = DeadLetterFile::open(dir / "dead-letter.jsonl");
  ASSERT_TRUE(f.has_value()) << f.error().message;
  (*f)->add("open311", "api_key is required", "a=b");
  (*f)->add("open311", "api_key is required", "c=d");
  EXPECT_EQ((*f)->count(), 0u);
  EXPECT_EQ((*f)->lost(), 2u) << "each refused write counted, the second tried as well";
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace gridwatch::platform
