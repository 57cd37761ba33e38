// The migrations the center applies are the SQL files of center/sql/, as they are in the tree:
// numbered 1, 2, 3 ... without gaps, every file listed, each embedded word for word.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "migrations.h"
#include "sql_queries.h"

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

// The store's queries are the files of center/sql/queries/ word for word, each says what it is
// for, and every file is embedded.
TEST(Queries, TheEmbeddedTextIsTheFiles) {
  const std::filesystem::path dir = std::filesystem::path(GRIDWATCH_SOURCE_DIR) / "center" / "sql" / "queries";
  std::set<std::string> embedded;
  for (const auto& [name, text] : sql::kAll) {
    const std::filesystem::path file = dir / (std::string(name) + ".sql");
    ASSERT_TRUE(std::filesystem::exists(file)) << file;
    EXPECT_EQ(read_file(file), text) << file << " changed since the build";
    const std::string t(text);
    EXPECT_EQ(t.rfind("-- ", 0), 0u) << file << ": the first line says what the query is for";
    // A pattern's placeholders are filled everywhere, comments too: a fragment there would end
    // the comment at its first line and leave the rest as SQL.
    EXPECT_EQ(t.substr(0, t.find('\n')).find('{'), std::string::npos) << file << ": no braces in the first line";
    embedded.insert(std::string(name));
  }
  size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".sql") continue;
    ++files;
    EXPECT_TRUE(embedded.contains(entry.path().stem().string())) << entry.path() << " is not embedded (re-run cmake)";
  }
  EXPECT_EQ(files, std::size(sql::kAll));
}

}  // namespace
}  // namespace gridwatch::center
