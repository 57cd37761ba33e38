// The migrations the center applies are the SQL files of center/sql/, as they are in the tree:
// numbered 1, 2, 3 ... without gaps, every file listed, each embedded word for word.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "migrations.h"

namespace gridwatch::center {
namespace {

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(Migrations, TheEmbeddedTextIsTheFilesInOrder) {
  const std::filesystem::path root = GRIDWATCH_SOURCE_DIR;
  ASSERT_FALSE(migrations().empty());
  int expected = 1;
  std::set<std::string> listed;
  for (const Migration& m : migrations()) {
    EXPECT_EQ(m.version, expected++) << m.file;
    const std::filesystem::path file = root / m.file;
    ASSERT_TRUE(std::filesystem::exists(file)) << file;
    EXPECT_EQ(read_file(file), m.sql) << m.file << " changed since the build, or was edited after it shipped";
    EXPECT_EQ(std::string(m.sql).rfind("-- Migration " + std::to_string(m.version) + ": " + m.name + "\n", 0), 0u)
        << m.file;
    listed.insert(file.filename().string());
  }
  // Every .sql file in center/sql/ is a listed migration (none forgotten in CMakeLists.txt).
  for (const auto& entry : std::filesystem::directory_iterator(root / "center" / "sql")) {
    if (entry.path().extension() != ".sql") continue;
    EXPECT_TRUE(listed.contains(entry.path().filename().string())) << entry.path() << " is not in GW_CENTER_MIGRATIONS";
  }
}

}  // namespace
}  // namespace gridwatch::center
