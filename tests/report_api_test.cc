// Reports on real PostGIS (the dispatch fixture's four streets): five weeks of generated history
// written into the store, one case left open and late; the report's figures equal those counted
// here from the same cases, the units are ranked by their score, and refusals name the parameter.
#include <map>

#include "dispatch_fixture.h"
#include "gridwatch/center/history.h"
#include "gridwatch/center/report.h"

namespace gridwatch::testing {
namespace {

class Reports : public Dispatch {};

TEST_F(Reports, FiguresEqualTheCasesCountedByHandAndUnitsAreRankedByScore) {
  center::HistoryOptions o;
  o.to = *parse_rfc3339("2026-11-30T00:00:00Z");
  o.from = o.to - std::chrono::days{35};
  o.per_day = 12;
  o.seed = 7;
  o.west = at(0, 0.0003, 0).lon;
  o.east = at(3, 0.0047, 0).lon;
  o.south = kLat0 + 0.0003;
  o.north = kLat0 + 0.0047;
  std::vector<center::HistoryCase> cases = center::generate_history(o, Catalog::builtin());
  for (auto& c : cases) c.id = tag_ + "-" + c.id;
  auto written = center_->store().insert_history(cases, "street");
  ASSERT_TRUE(written.has_value()) << written.error().message;
  ASSERT_EQ(*written, cases.size());
  // One case of the week still being worked on and past its resolve due.
  const Timestamp from = *parse_rfc3339("2026-11-23T00:00:00Z"), to = o.to;
  std::string late;
  for (const auto& c : cases)
    if (c.opened >= from && c.opened < to) late = c.id;
  ASSERT_FALSE(late.empty());
  sql(svc_.pg_conninfo, "UPDATE orders SET state = 'in_progress', status = 'open', resolved_at = NULL, "
                        "resolve_due = now() - interval '1 hour' WHERE id = $1", {late});

  // The same week's figures by hand.
  double n = 0, proactive = 0, evaluated = 0, satisfied = 0, due = 0, on_time = 0, before = 0;
  std::map<std::string, double> per_category;
  for (const auto& c : cases) {
    if (c.opened >= from - std::chrono::days{7} && c.opened < from) before += 1;
    if (c.opened < from || c.opened >= to) continue;
    n += 1;
    proactive += c.source_kind != "hotline" ? 1 : 0;
    evaluated += c.satisfaction.empty() ? 0 : 1;
    satisfied += c.satisfaction == "satisfied" ? 1 : 0;
    due += 1;
    on_time += c.responded <= c.dispatched + c.respond_within ? 1 : 0;
    per_category[c.category] += 1;
  }
  ASSERT_GT(n, 50);

  auto r = http_get(port_, "/api/v1/report?kind=weekly&from=2026-11-23&tz=UTC");
  ASSERT_EQ(r.status, 200) << r.body;
  const json j = json::parse(r.body);
  EXPECT_EQ(j["label"], "2026-11-23 – 2026-11-29");
  EXPECT_EQ(j["totals"]["cases"].get<double>(), n);
  EXPECT_EQ(j["previous"]["cases"].get<double>(), before);
  EXPECT_DOUBLE_EQ(j["totals"]["proactive_share"].get<double>(), proactive / n);
  EXPECT_DOUBLE_EQ(j["totals"]["satisfaction_rate"].get<double>(), satisfied / evaluated);
  EXPECT_DOUBLE_EQ(j["totals"]["response_rate"].get<double>(), on_time / due);
  EXPECT_DOUBLE_EQ(j["totals"]["resolution_rate"].get<double>(), (n - 1) / n) << "the late case is not resolved";
  EXPECT_EQ(j["handling"]["open"], 1);
  EXPECT_EQ(j["handling"]["overdue"], 1);
  EXPECT_EQ(j["handling"]["by_kind"]["hotline"].get<double>(), n - proactive);
  EXPECT_GT(j["handling"]["median_respond_hours"].get<double>(), 0);

  // Categories, busiest first, with the same counts.
  ASSERT_FALSE(j["categories"].empty());
  double last = 1e9;
  for (const json& c : j["categories"]) {
    EXPECT_EQ(c["cases"].get<double>(), per_category[c["category"]]) << c.dump();
    EXPECT_LE(c["cases"].get<double>(), last);
    last = c["cases"].get<double>();
  }
  EXPECT_EQ(j["categories"][0]["name_zh"], Catalog::builtin().find(j["categories"][0]["category"].get<std::string>())->name.zh);

  // Units: the four streets, ranked by score (best first), named, each score from its rates.
  const json& rows = j["units"]["rows"];
  EXPECT_EQ(j["units"]["level"], "street");
  ASSERT_EQ(rows.size(), 4u) << j["units"].dump();
  double total = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(rows[i]["rank"], i + 1);
    EXPECT_EQ(rows[i]["name"].get<std::string>().rfind("街道 ", 0), 0u) << rows[i].dump();
    EXPECT_DOUBLE_EQ(rows[i]["score"].get<double>(), center::unit_score(rows[i]).get<double>());
    if (i > 0) {
      EXPECT_LE(rows[i]["score"].get<double>(), rows[i - 1]["score"].get<double>());
    }
    total += rows[i]["cases"].get<double>();
  }
  EXPECT_EQ(total, n) << "every case is in one street";

  // The trend: 28 days to the end, each day's cases as counted.
  ASSERT_EQ(j["daily"].size(), 28u);
  EXPECT_EQ(j["daily"][27]["day"], "2026-11-29");
  // Hot spots read (hexagons of the configured size) and the 12 weeks of growing problems.
  EXPECT_GT(j["hotspots"]["cells"].get<int>(), 10) << j["hotspots"].dump();
  EXPECT_EQ(j["emerging"]["weeks"], 12);
  EXPECT_FALSE(j.contains("anomalies")) << "a weekly report has none";

  // A daily report has the day's unusual counts; spatial=false leaves out the cells.
  r = http_get(port_, "/api/v1/report?kind=daily&from=2026-11-29&tz=UTC&spatial=false");
  ASSERT_EQ(r.status, 200) << r.body;
  const json day = json::parse(r.body);
  EXPECT_EQ(day["anomalies"]["baseline_days"], 28);
  EXPECT_EQ(day["anomalies"]["level"], "street");
  EXPECT_FALSE(day.contains("hotspots"));
}

TEST_F(Reports, RefusalsNameTheParameterAndWorkersMayNotRead) {
  auto r = http_get(port_, "/api/v1/report?kind=yearly");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(json::parse(r.body)["parameter"], "kind") << r.body;
  r = http_get(port_, "/api/v1/report?level=city");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("level is an area level"), std::string::npos) << r.body;
  r = http_request(port_, "GET", "/api/v1/report", "", kWorker1);
  EXPECT_EQ(r.status, 403) << r.body;
}

}  // namespace
}  // namespace gridwatch::testing
