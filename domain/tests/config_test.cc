#include <gtest/gtest.h>

#include "gridwatch/domain/config.h"
#include "matchers.h"

namespace gridwatch {
namespace {

using testing::FailsWith;

struct Sample {
  std::string name;
  double level = 0;
  Duration every{};
};

Result<Sample> read_sample(std::string_view text) {
  return read_config_text<Sample>(text, "sample.yaml", [](const ConfigNode& root) {
    root.allow_only({"name", "limits"});
    Sample s;
    s.name = root.string("name");
    ConfigNode limits = root.at("limits");
    limits.allow_only({"level", "every"});
    s.level = limits.number("level", 0.0, 100.0);
    s.every = limits.duration("every", std::chrono::seconds{10}, std::chrono::seconds{1},
                              std::chrono::hours{1});
    return s;
  });
}

TEST(Config, ReadsValidFile) {
  auto s = read_sample("name: a\nlimits:\n  level: 42.5\n  every: 30s\n");
  ASSERT_TRUE(s.has_value()) << s.error().message;
  EXPECT_EQ(s->name, "a");
  EXPECT_DOUBLE_EQ(s->level, 42.5);
  EXPECT_EQ(s->every, std::chrono::seconds{30});
}

TEST(Config, UnknownKeyNamesFileLineAndKey) {
  auto s = read_sample("name: a\nlimits:\n  level: 1\n  levle: 2\n");
  EXPECT_THAT(s, FailsWith(ErrorCode::kConfig, "limits.levle", "sample.yaml:4: limits.levle: unknown key"));
}

TEST(Config, WrongTypeNamesFileLineAndKey) {
  auto s = read_sample("name: a\nlimits:\n  level: high\n");
  EXPECT_THAT(s, FailsWith(ErrorCode::kConfig, "limits.level",
                           "sample.yaml:3: limits.level: expected a number, got \"high\""));
}

TEST(Config, OutOfRangeAndMissing) {
  EXPECT_THAT(read_sample("name: a\nlimits:\n  level: 101\n"),
              FailsWith(ErrorCode::kConfig, "limits.level", "out of range [0, 100]"));
  EXPECT_THAT(read_sample("limits:\n  level: 1\n"),
              FailsWith(ErrorCode::kConfig, "name", "required key is missing"));
  EXPECT_THAT(read_sample("name: a\nlimits:\n  level: 1\n  every: 2d\n"),
              FailsWith(ErrorCode::kConfig, "limits.every", "out of range [1s, 1h]"));
}

TEST(Config, SyntaxErrorHasLine) {
  EXPECT_THAT(read_sample("name: a\nlimits: [1,\n"),
              FailsWith(ErrorCode::kConfig, "", "YAML syntax error"));
}

TEST(Config, MissingFile) {
  auto r = read_config_file<int>("/nonexistent/x.yaml", [](const ConfigNode&) { return 1; });
  EXPECT_THAT(r, FailsWith(ErrorCode::kConfig, "", "/nonexistent/x.yaml: cannot open file"));
}

}  // namespace
}  // namespace gridwatch
