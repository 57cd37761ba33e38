#include <gtest/gtest.h>

#include "gridwatch/rules/schedule.h"

namespace gridwatch::rules {
namespace {

Timestamp t(const char* s) { return *parse_rfc3339(s); }

TEST(Schedule, WeekdayMorningInShanghai) {
  auto s = Schedule::create(0x1f, 7 * 60, 9 * 60, "Asia/Shanghai");
  ASSERT_TRUE(s.has_value()) << s.error().message;
  // Monday 2026-11-23, 07:00-09:00 CST = 23:00 Sunday - 01:00 Monday UTC.
  EXPECT_FALSE((*s)->contains(t("2026-11-22T22:59:59Z")));
  EXPECT_TRUE((*s)->contains(t("2026-11-22T23:00:00Z")));
  EXPECT_TRUE((*s)->contains(t("2026-11-23T00:59:59Z")));
  EXPECT_FALSE((*s)->contains(t("2026-11-23T01:00:00Z")));
  EXPECT_EQ((*s)->next_change(t("2026-11-22T12:00:00Z")), t("2026-11-22T23:00:00Z"));
  EXPECT_EQ((*s)->next_change(t("2026-11-22T23:30:00Z")), t("2026-11-23T01:00:00Z"));
  // Saturday 2026-11-28 morning is not in; the next start is Monday 2026-11-30 07:00 CST.
  EXPECT_FALSE((*s)->contains(t("2026-11-28T00:00:00Z")));
  EXPECT_EQ((*s)->next_change(t("2026-11-27T02:00:00Z")), t("2026-11-29T23:00:00Z"));
}

TEST(Schedule, WindowPastMidnightBelongsToTheDayItStarts) {
  // Friday 22:00 - 06:00 (night market noise), UTC.
  auto s = Schedule::create(1 << 4, 22 * 60, 6 * 60, "UTC");
  ASSERT_TRUE(s.has_value());
  EXPECT_TRUE((*s)->contains(t("2026-11-27T23:00:00Z")));   // Friday night
  EXPECT_TRUE((*s)->contains(t("2026-11-28T05:59:00Z")));   // Saturday early morning
  EXPECT_FALSE((*s)->contains(t("2026-11-28T23:00:00Z")));  // Saturday night
  EXPECT_FALSE((*s)->contains(t("2026-11-27T05:00:00Z")));  // Friday early morning
  EXPECT_EQ((*s)->next_change(t("2026-11-27T23:00:00Z")), t("2026-11-28T06:00:00Z"));
}

TEST(Schedule, DaylightSavingZones) {
  // 08:00-09:00 New York: 13:00Z in winter, 12:00Z in summer (DST ends 2026-11-01).
  auto s = Schedule::create(0x7f, 8 * 60, 9 * 60, "America/New_York");
  ASSERT_TRUE(s.has_value());
  EXPECT_TRUE((*s)->contains(t("2026-11-23T13:30:00Z")));
  EXPECT_FALSE((*s)->contains(t("2026-11-23T12:30:00Z")));
  EXPECT_TRUE((*s)->contains(t("2026-07-01T12:30:00Z")));
  EXPECT_EQ((*s)->next_change(t("2026-10-31T14:00:00Z")), t("2026-11-01T13:00:00Z"));
}

TEST(Schedule, RefusesWhatCannotWork) {
  EXPECT_EQ(Schedule::create(0, 0, 60, "UTC").error().field, "days");
  EXPECT_EQ(Schedule::create(1, 60, 60, "UTC").error().field, "to");
  EXPECT_EQ(Schedule::create(1, 0, 60, "Europe/Atlantis").error().field, "timezone");
  EXPECT_EQ(*parse_time_of_day("07:30"), 450);
  EXPECT_EQ(*parse_time_of_day("24:00"), 1440);
  EXPECT_FALSE(parse_time_of_day("24:01").has_value());
  EXPECT_FALSE(parse_time_of_day("7:30").has_value());
}

}  // namespace
}  // namespace gridwatch::rules
