#include <gtest/gtest.h>

#include "gridwatch/domain/time.h"
#include "matchers.h"

namespace gridwatch {
namespace {

using testing::FailsWith;
using namespace std::chrono;

TEST(Rfc3339, ParsesUtcAndOffsetsToTheSameInstant) {
  auto a = parse_rfc3339("2026-11-23T08:00:00Z");
  auto b = parse_rfc3339("2026-11-23T16:00:00+08:00");
  ASSERT_TRUE(a.has_value());
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(*a, *b);
  EXPECT_EQ(format_rfc3339(*a), "2026-11-23T08:00:00Z");
}

TEST(Rfc3339, KeepsMilliseconds) {
  auto a = parse_rfc3339("2026-11-23T08:00:00.25Z");
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(format_rfc3339(*a), "2026-11-23T08:00:00.250Z");
  EXPECT_EQ(*parse_rfc3339(format_rfc3339(*a)), *a);
}

TEST(Rfc3339, RejectsMalformed) {
  EXPECT_THAT(parse_rfc3339("2026-11-23 08:00"), FailsWith(ErrorCode::kParse, "", "RFC 3339"));
  EXPECT_THAT(parse_rfc3339("2026-02-30T00:00:00Z"), FailsWith(ErrorCode::kParse, "", "no such date"));
  EXPECT_THAT(parse_rfc3339("2026-11-23T08:00:00"), FailsWith(ErrorCode::kParse, "", "missing zone"));
  EXPECT_THAT(parse_rfc3339("2026-11-23T25:00:00Z"), FailsWith(ErrorCode::kParse, "", "out of range"));
  EXPECT_THAT(parse_rfc3339("2026-11-23T08:00:00Zjunk"), FailsWith(ErrorCode::kParse, "", "trailing"));
}

TEST(Duration, ParsesUnitsAndFormatsBack) {
  EXPECT_EQ(*parse_duration("500ms"), milliseconds{500});
  EXPECT_EQ(*parse_duration("45s"), seconds{45});
  EXPECT_EQ(*parse_duration("30m"), minutes{30});
  EXPECT_EQ(*parse_duration("2h"), hours{2});
  EXPECT_EQ(*parse_duration("7d"), days{7});
  EXPECT_EQ(format_duration(hours{24}), "1d");
  EXPECT_EQ(format_duration(seconds{90}), "90s");
  EXPECT_THAT(parse_duration("2 hours"), FailsWith(ErrorCode::kParse, "", "unit must be"));
  EXPECT_THAT(parse_duration("h"), FailsWith(ErrorCode::kParse, "", "not a duration"));
}

}  // namespace
}  // namespace gridwatch
