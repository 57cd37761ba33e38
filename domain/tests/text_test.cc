#include <gtest/gtest.h>

#include "gridwatch/domain/text.h"

namespace gridwatch {
namespace {

TEST(Text, TrimBlanksDropsSpacesTabsAndCarriageReturnsAroundOnly) {
  EXPECT_EQ(trim_blanks(" \t116.39 \r"), "116.39");
  EXPECT_EQ(trim_blanks("\r\n"), "\n");  // a line feed is not a blank here: lines are split before
  EXPECT_EQ(trim_blanks("西直门 内大街"), "西直门 内大街");
  EXPECT_EQ(trim_blanks(" \t \r"), "");
  EXPECT_EQ(trim_blanks(""), "");
}

}  // namespace
}  // namespace gridwatch
