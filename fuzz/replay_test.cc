// Every fuzz target (fuzz/targets) on every file of its seed corpus (fuzz/corpus/NAME) and of
// its regressions (fuzz/regressions/NAME: inputs that once crashed it, kept when fixed), in the
// ordinary build: the properties hold and nothing crashes, without clang.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>

#include "fuzz_target.h"

namespace gridwatch::fuzz {

namespace {
std::map<std::string, Target>& targets() {
  static std::map<std::string, Target> t;
  return t;
}
}  // namespace

bool register_target(const char* name, Target target) {
  targets().emplace(name, target);
  return true;
}

void broken(const char* what) { throw std::logic_error(what); }

namespace {

std::string read(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

TEST(FuzzReplay, EveryTargetHasASeedCorpus) {
  const std::filesystem::path root = GRIDWATCH_FUZZ_DIR;
  ASSERT_GE(targets().size(), 9u);
  for (const auto& [name, target] : targets()) {
    const auto dir = root / "corpus" / name;
    ASSERT_TRUE(std::filesystem::is_directory(dir)) << "no seed corpus " << dir;
    EXPECT_FALSE(std::filesystem::is_empty(dir)) << dir;
  }
}

TEST(FuzzReplay, EveryCorpusAndRegressionFilePassesItsTarget) {
  const std::filesystem::path root = GRIDWATCH_FUZZ_DIR;
  size_t files = 0;
  for (const auto& [name, target] : targets()) {
    for (const char* kind : {"corpus", "regressions"}) {
      const auto dir = root / kind / name;
      if (!std::filesystem::is_directory(dir)) continue;
      for (const auto& entry : std::filesystem::directory_iterator(dir)) {
        const std::string bytes = read(entry.path());
        try {
          target(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
        } catch (const std::exception& e) {
          ADD_FAILURE() << name << " on " << entry.path() << ": " << e.what();
        }
        ++files;
      }
    }
  }
  EXPECT_GT(files, 20u);
}

}  // namespace
}  // namespace gridwatch::fuzz
