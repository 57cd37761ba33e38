// The read API's query parsers, without a server or a database: what each accepts, its defaults,
// and the parameter and message of each refusal.
#include "gridwatch/center/queries.h"

#include <gtest/gtest.h>

#include "matchers.h"

namespace gridwatch::center {
namespace {

using gridwatch::testing::FailsWith;

const Timestamp kNow = *parse_rfc3339("2026-11-23T08:00:00Z");

TEST(OrderQueryParse, DefaultsAndEveryFilter) {
  auto plain = parse_order_query({}, Catalog::builtin());
  ASSERT_TRUE(plain.has_value());
  EXPECT_EQ(plain->limit, 1000);
  EXPECT_FALSE(plain->map_fields);
  EXPECT_FALSE(plain->near.has_value());

  auto q = parse_order_query({{"status", "open,cleared"},
                              {"state", "new,dispatched"},
                              {"category", "sanitation.bin_overflow,water.waterlogging"},
                              {"bbox", "116.3,39.8,116.5,40.0"},
                              {"since", "2026-11-23T00:00:00Z"},
                              {"near", "116.41,39.91"},
                              {"radius_m", "2000"},
                              {"limit", "50"}},
                             Catalog::builtin());
  ASSERT_TRUE(q.has_value()) << q.error().message;
  EXPECT_EQ(q->statuses, (std::vector<std::string>{"open", "cleared"}));
  EXPECT_EQ(q->states, (std::vector<std::string>{"new", "dispatched"}));
  EXPECT_EQ(q->categories.size(), 2u);
  EXPECT_EQ(*q->bbox, (std::array<double, 4>{116.3, 39.8, 116.5, 40.0}));
  EXPECT_EQ(*q->since, *parse_rfc3339("2026-11-23T00:00:00Z"));
  EXPECT_DOUBLE_EQ(q->near->lon, 116.41);
  EXPECT_DOUBLE_EQ(q->radius_m, 2000);
  EXPECT_EQ(q->limit, 50);

  auto map = parse_order_query({{"fields", "map"}}, Catalog::builtin());
  ASSERT_TRUE(map.has_value());
  EXPECT_TRUE(map->map_fields);
  EXPECT_EQ(map->limit, 100'000) << "a wall map of every open case";
}

TEST(OrderQueryParse, EachRefusalNamesItsParameter) {
  const Catalog& c = Catalog::builtin();
  EXPECT_THAT(parse_order_query({{"colour", "red"}}, c),
              FailsWith(ErrorCode::kInvalidArgument, "colour", "unknown parameter \"colour\" (known: status, state"));
  EXPECT_THAT(parse_order_query({{"status", "open,gone"}}, c),
              FailsWith(ErrorCode::kInvalidArgument, "status", "unknown status \"gone\" (known: open, cleared)"));
  EXPECT_THAT(parse_order_query({{"state", "asleep"}}, c),
              FailsWith(ErrorCode::kInvalidArgument, "state", "unknown state \"asleep\""));
  EXPECT_THAT(parse_order_query({{"category", "nope.nothing"}}, c),
              FailsWith(ErrorCode::kInvalidArgument, "category", "unknown category \"nope.nothing\""));
  EXPECT_THAT(parse_order_query({{"bbox", "116.5,39.8,116.3,40.0"}}, c),
              FailsWith(ErrorCode::kInvalidArgument, "bbox", "min <= max"));
  EXPECT_THAT(parse_order_query({{"bbox", "1,2,3"}}, c), FailsWith(ErrorCode::kInvalidArgument, "bbox", "min_lon,min_lat"));
  EXPECT_THAT(parse_order_query({{"near", "116.41,39.91"}}, c),
              FailsWith(ErrorCode::kInvalidArgument, "radius_m", "near and radius_m go together"));
  EXPECT_THAT(parse_order_query({{"radius_m", "10"}}, c),
              FailsWith(ErrorCode::kInvalidArgument, "near", "near and radius_m go together"));
  EXPECT_THAT(parse_order_query({{"near", "200,39.91"}, {"radius_m", "10"}}, c),
              FailsWith(ErrorCode::kInvalidArgument, "near", "near must be lon,lat in WGS-84 degrees"));
  EXPECT_THAT(parse_order_query({{"near", "116.41,39.91"}, {"radius_m", "50001"}}, c),
              FailsWith(ErrorCode::kInvalidArgument, "radius_m", "at most 50000"));
  EXPECT_THAT(parse_order_query({{"since", "yesterday"}}, c), FailsWith(ErrorCode::kInvalidArgument, "since", ""));
  EXPECT_THAT(parse_order_query({{"fields", "all"}}, c), FailsWith(ErrorCode::kInvalidArgument, "fields", "fields must be map"));
  EXPECT_THAT(parse_order_query({{"limit", "10001"}}, c),
              FailsWith(ErrorCode::kInvalidArgument, "limit", "limit must be a whole number from 1 to 10000"));
  EXPECT_TRUE(parse_order_query({{"limit", "10001"}, {"fields", "map"}}, c).has_value()) << "a map may ask for more";
  EXPECT_THAT(parse_order_query({{"limit", "100001"}, {"fields", "map"}}, c),
              FailsWith(ErrorCode::kInvalidArgument, "limit", "from 1 to 100000"));
}

std::shared_ptr<const geo::AreaIndex> two_districts() {
  auto layer = geo::parse_layer(
      R"({"type":"FeatureCollection","features":[
        {"type":"Feature","id":"D1","properties":{"name":"D1"},"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1],[0,0]]]}},
        {"type":"Feature","id":"D2","properties":{"name":"D2"},"geometry":{"type":"Polygon","coordinates":[[[1,0],[2,0],[2,1],[1,1],[1,0]]]}}]})",
      {.level_name = "district"});
  EXPECT_TRUE(layer.has_value());
  auto idx = geo::AreaIndex::build({std::move(*layer)});
  EXPECT_TRUE(idx.has_value());
  return *idx;
}

TEST(StatsQueryParse, DefaultsToTheLastThirtyDaysAndRefusesWhatItCannotGroupBy) {
  const auto areas = two_districts();
  const std::vector<std::string> by = {"unit", "department", "district"};
  auto q = parse_stats_query({}, by, *areas, kNow);
  ASSERT_TRUE(q.has_value());
  EXPECT_EQ(q->to, kNow);
  EXPECT_EQ(q->from, kNow - std::chrono::days{30});
  EXPECT_EQ(q->time_zone, "UTC");
  auto full = parse_stats_query({{"by", "district"}, {"period", "week"}, {"tz", "Asia/Shanghai"}, {"area", "D2"},
                                 {"from", "2026-11-01T00:00:00Z"}, {"to", "2026-11-15T00:00:00Z"}},
                                by, *areas, kNow);
  ASSERT_TRUE(full.has_value()) << full.error().message;
  EXPECT_EQ(full->by, "district");
  EXPECT_EQ(full->period, "week");
  EXPECT_EQ(full->area_level, "district");
  EXPECT_EQ(full->area_code, "D2");
  EXPECT_EQ(full->now, kNow);
  EXPECT_THAT(parse_stats_query({{"by", "street"}}, by, *areas, kNow),
              FailsWith(ErrorCode::kInvalidArgument, "by", "cannot group by \"street\" (known: unit, department, district)"));
  EXPECT_THAT(parse_stats_query({{"period", "year"}}, by, *areas, kNow),
              FailsWith(ErrorCode::kInvalidArgument, "period", "period must be day, week or month"));
  EXPECT_THAT(parse_stats_query({{"from", "2026-11-15T00:00:00Z"}, {"to", "2026-11-01T00:00:00Z"}}, by, *areas, kNow),
              FailsWith(ErrorCode::kInvalidArgument, "to", "to must be later than from"));
  EXPECT_THAT(parse_stats_query({{"tz", "Mars/Olympus"}}, by, *areas, kNow),
              FailsWith(ErrorCode::kInvalidArgument, "tz", "unknown time zone \"Mars/Olympus\""));
  EXPECT_THAT(parse_stats_query({{"area", "D9"}}, by, *areas, kNow),
              FailsWith(ErrorCode::kInvalidArgument, "area", "no area \"D9\""));
  EXPECT_THAT(parse_stats_query({{"level", "1"}}, by, *areas, kNow),
              FailsWith(ErrorCode::kInvalidArgument, "level", "unknown parameter \"level\" (known: by, period, from"));
}

TEST(RequestQueryParse, TheSpecsDefaultsAndRefusals) {
  const Catalog& c = Catalog::builtin();
  auto q = parse_request_query({}, c, 50, kNow);
  ASSERT_TRUE(q.has_value());
  EXPECT_EQ(*q->start, kNow - std::chrono::days{90}) << "without dates: the last 90 days";
  EXPECT_FALSE(q->end.has_value());
  EXPECT_EQ(q->page, 1);
  EXPECT_EQ(q->page_size, 50);
  auto ended = parse_request_query({{"end_date", "2026-11-01T00:00:00Z"}, {"locale", "zh"}, {"jurisdiction_id", "bj"}},
                                   c, 50, kNow);
  ASSERT_TRUE(ended.has_value());
  EXPECT_FALSE(ended->start.has_value()) << "an end date alone: no default start";
  auto full = parse_request_query({{"service_request_id", "h1,h2"}, {"service_code", "environment.noise"},
                                   {"status", "closed"}, {"page", "3"}, {"page_size", "1000"}},
                                  c, 50, kNow);
  ASSERT_TRUE(full.has_value()) << full.error().message;
  EXPECT_EQ(full->ids, (std::vector<std::string>{"h1", "h2"}));
  EXPECT_EQ(*full->status, "closed");
  EXPECT_EQ(full->page, 3);
  EXPECT_EQ(full->page_size, 1000);
  EXPECT_THAT(parse_request_query({{"page_size", "1001"}}, c, 50, kNow),
              FailsWith(ErrorCode::kInvalidArgument, "page_size", "page_size must be a whole number from 1 to 1000"));
  EXPECT_THAT(parse_request_query({{"status", "pending"}}, c, 50, kNow),
              FailsWith(ErrorCode::kInvalidArgument, "status", "status must be open or closed"));
  EXPECT_THAT(parse_request_query({{"service_code", "no.such"}}, c, 50, kNow),
              FailsWith(ErrorCode::kInvalidArgument, "service_code", "service_code \"no.such\" is not a service"));
  EXPECT_THAT(parse_request_query({{"service_request_id", "a b"}}, c, 50, kNow),
              FailsWith(ErrorCode::kInvalidArgument, "service_request_id", "service_request_id: malformed id"));
  EXPECT_THAT(parse_request_query({{"start_date", "soon"}}, c, 50, kNow),
              FailsWith(ErrorCode::kInvalidArgument, "start_date", "start_date: "));
  EXPECT_THAT(parse_request_query({{"api_key", "x"}}, c, 50, kNow),
              FailsWith(ErrorCode::kInvalidArgument, "api_key", "unknown parameter \"api_key\""));
}

TEST(ReportQueryParse, DefaultsAreTheLastWholeDayWeekAndMonthInTheLocalZone) {
  const auto areas = two_districts();
  const AnalyticsDefaults d;  // Asia/Shanghai; kNow is Monday 2026-11-23, 16:00 there
  auto daily = parse_report_query({{"kind", "daily"}}, *areas, d, kNow);
  ASSERT_TRUE(daily.has_value());
  EXPECT_EQ(format_rfc3339(daily->from), "2026-11-21T16:00:00Z");
  EXPECT_EQ(format_rfc3339(daily->to), "2026-11-22T16:00:00Z");
  EXPECT_EQ(daily->label, "2026-11-22");
  EXPECT_EQ(daily->first_day, "2026-11-22");
  EXPECT_EQ(daily->level, "district") << "one level loaded: it ranks";
  auto weekly = parse_report_query({}, *areas, d, kNow);
  ASSERT_TRUE(weekly.has_value());
  EXPECT_EQ(weekly->kind, ReportKind::kWeekly);
  EXPECT_EQ(format_rfc3339(weekly->from), "2026-11-15T16:00:00Z");
  EXPECT_EQ(format_rfc3339(weekly->to), "2026-11-22T16:00:00Z");
  EXPECT_EQ(weekly->label, "2026-11-16 – 2026-11-22");
  auto monthly = parse_report_query({{"kind", "monthly"}}, *areas, d, kNow);
  ASSERT_TRUE(monthly.has_value());
  EXPECT_EQ(format_rfc3339(monthly->from), "2026-09-30T16:00:00Z");
  EXPECT_EQ(format_rfc3339(monthly->to), "2026-10-31T16:00:00Z");
  EXPECT_EQ(monthly->label, "2026-10");
  EXPECT_TRUE(monthly->spatial);
}

TEST(ReportQueryParse, DatesIncludeTheLastDayAndOneBoundTakesTheKindsSpan) {
  const auto areas = two_districts();
  const AnalyticsDefaults d;
  auto nov = parse_report_query({{"kind", "monthly"}, {"from", "2026-11-01"}, {"to", "2026-11-30"}}, *areas, d, kNow);
  ASSERT_TRUE(nov.has_value());
  EXPECT_EQ(format_rfc3339(nov->to), "2026-11-30T16:00:00Z");
  EXPECT_EQ(nov->label, "2026-11");
  auto week = parse_report_query({{"from", "2026-11-02"}}, *areas, d, kNow);
  ASSERT_TRUE(week.has_value());
  EXPECT_EQ(format_rfc3339(week->to), "2026-11-08T16:00:00Z");
  auto month_to = parse_report_query({{"kind", "monthly"}, {"to", "2026-11-15"}}, *areas, d, kNow);
  ASSERT_TRUE(month_to.has_value());
  EXPECT_EQ(month_to->label, "2026-10-16 – 2026-11-15");
  // A month's last day (or first) as the one bound: that calendar month; a day the month before
  // has not: its last day.
  auto label = [&](const QueryParams& p) {
    auto r = parse_report_query(p, *areas, d, kNow);
    return r ? r->label : r.error().message;
  };
  EXPECT_EQ(label({{"kind", "monthly"}, {"to", "2026-11-30"}}), "2026-11");
  EXPECT_EQ(label({{"kind", "monthly"}, {"to", "2026-03-31"}}), "2026-03");
  EXPECT_EQ(label({{"kind", "monthly"}, {"from", "2026-02-01"}}), "2026-02");
  EXPECT_EQ(label({{"kind", "monthly"}, {"to", "2026-03-30"}}), "2026-03-01 – 2026-03-30") << "Feb has no 30th";
  EXPECT_EQ(label({{"kind", "monthly"}, {"from", "2026-01-31"}}), "2026-01-31 – 2026-02-27");
  // The trend's days: at least 28, every one; the last day's baseline the 28 local days before it.
  EXPECT_EQ(week->trend_days.size(), 28u);
  EXPECT_EQ(week->trend_days.back(), "2026-11-08");
  EXPECT_EQ(nov->trend_days.size(), 30u);
  EXPECT_EQ(nov->trend_days.front(), "2026-11-01");
  EXPECT_EQ(nov->last_day, "2026-11-30");
  EXPECT_EQ(format_rfc3339(nov->last_day_from), "2026-11-01T16:00:00Z");
  EXPECT_EQ(format_rfc3339(nov->last_day_to), "2026-11-30T16:00:00Z");
  auto instants = parse_report_query({{"kind", "span"}, {"from", "2026-11-20T00:00:00Z"}, {"to", "2026-11-23T08:00:00Z"},
                                      {"tz", "UTC"}, {"area", "D2"}, {"spatial", "false"}},
                                     *areas, d, kNow);
  ASSERT_TRUE(instants.has_value());
  EXPECT_EQ(instants->label, "2026-11-20T00:00:00Z – 2026-11-23T08:00:00Z");
  EXPECT_EQ(instants->area_level, "district");
  EXPECT_EQ(instants->area_code, "D2");
  EXPECT_FALSE(instants->spatial);
}

TEST(ReportQueryParse, RefusalsNameTheParameter) {
  const auto areas = two_districts();
  const AnalyticsDefaults d;
  using E = ErrorCode;
  EXPECT_THAT(parse_report_query({{"kind", "yearly"}}, *areas, d, kNow), FailsWith(E::kInvalidArgument, "kind", "daily, weekly"));
  EXPECT_THAT(parse_report_query({{"from", "2026-13-01"}}, *areas, d, kNow),
              FailsWith(E::kInvalidArgument, "from", "a date YYYY-MM-DD or an RFC 3339 time"));
  EXPECT_THAT(parse_report_query({{"from", "2026-11-10"}, {"to", "2026-11-09"}}, *areas, d, kNow),
              FailsWith(E::kInvalidArgument, "to", "later than from"));
  EXPECT_THAT(parse_report_query({{"kind", "span"}, {"from", "2026-11-10"}}, *areas, d, kNow),
              FailsWith(E::kInvalidArgument, "to", "both from and to"));
  EXPECT_THAT(parse_report_query({{"from", "2025-01-01"}, {"to", "2026-11-01"}}, *areas, d, kNow),
              FailsWith(E::kInvalidArgument, "to", "at most 400 days"));
  EXPECT_THAT(parse_report_query({{"level", "street"}}, *areas, d, kNow),
              FailsWith(E::kInvalidArgument, "level", "level is an area level (district)"));
  EXPECT_THAT(parse_report_query({{"area", "D9"}}, *areas, d, kNow), FailsWith(E::kInvalidArgument, "area", "no area \"D9\""));
  EXPECT_THAT(parse_report_query({{"spatial", "yes"}}, *areas, d, kNow), FailsWith(E::kInvalidArgument, "spatial", "true or false"));
  EXPECT_THAT(parse_report_query({{"tz", "Mars/Base"}}, *areas, d, kNow), FailsWith(E::kInvalidArgument, "tz", "unknown time zone"));
  EXPECT_THAT(parse_report_query({{"format", "pdf"}}, *areas, d, kNow),
              FailsWith(E::kInvalidArgument, "format", "unknown parameter \"format\" (known: kind, from, to"));
}

}  // namespace
}  // namespace gridwatch::center
