// Reports on real PostGIS (the dispatch fixture's four streets): five weeks of generated history
// written into the store, one case left open and late; the report's figures equal those counted
// here from the same cases, the units are ranked by their score, and refusals name the parameter.
#include <cstdlib>
#include <map>

#include "dispatch_fixture.h"
#include "gridwatch/center/history.h"
#include "gridwatch/center/report.h"

namespace gridwatch::testing {
namespace {

class Reports : public Dispatch {
 protected:
  // Generated history over the four streets, written into the store: the cases (ids tagged).
  std::vector<center::HistoryCase> seed(Timestamp to, int days, double per_day, uint64_t seed, const std::string& tag) {
    center::HistoryOptions o;
    o.to = to;
    o.from = to - std::chrono::days{days};
    o.per_day = per_day;
    o.seed = seed;
    o.west = at(0, 0.0003, 0).lon;
    o.east = at(3, 0.0047, 0).lon;
    o.south = kLat0 + 0.0003;
    o.north = kLat0 + 0.0047;
    std::vector<center::HistoryCase> cases = center::generate_history(o, Catalog::builtin());
    for (auto& c : cases) c.id = tag_ + tag + c.id;
    auto written = center_->store().insert_history(cases, "street");
    EXPECT_TRUE(written.has_value()) << written.error().message;
    EXPECT_EQ(written.value_or(0), cases.size());
    return cases;
  }
};

TEST_F(Reports, FiguresEqualTheCasesCountedByHandAndUnitsAreRankedByScore) {
  const Timestamp from = *parse_rfc3339("2026-11-23T00:00:00Z"), to = *parse_rfc3339("2026-11-30T00:00:00Z");
  std::vector<center::HistoryCase> cases = seed(to, 35, 12, 7, "-");
  // A jump on the last day: 10 parking cases in street A on 11-29 (its daily report alarms).
  std::vector<center::HistoryCase> jump;
  const Category* parking = Catalog::builtin().find("traffic.illegal_parking");
  ASSERT_NE(parking, nullptr);
  for (int i = 0; i < 10; ++i) {
    const Timestamp opened = *parse_rfc3339("2026-11-29T10:00:00Z") + std::chrono::minutes{7 * i};
    jump.push_back({.id = fmt::format("{}-jump-{}", tag_, i), .category = parking->code,
                    .department = parking->department_code, .priority = "normal", .source_kind = "hotline",
                    .description = "jump", .at = at(0, 0.001 + 0.0001 * i, 0.002), .opened = opened,
                    .dispatched = opened + std::chrono::minutes{5}, .responded = opened + std::chrono::minutes{20},
                    .resolved = opened + std::chrono::hours{3}, .respond_within = parking->respond_within,
                    .resolve_within = parking->resolve_within, .satisfaction = ""});
  }
  ASSERT_EQ(center_->store().insert_history(jump, "street").value_or(0), jump.size());
  cases.insert(cases.end(), jump.begin(), jump.end());
  // One case of the week still being worked on and past its resolve due.
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
    // Every street has evaluations: the score is the three rates weighed 0.10 / 0.45 / 0.45.
    EXPECT_NEAR(rows[i]["score"].get<double>(),
                0.10 * rows[i]["response_rate"].get<double>() + 0.45 * rows[i]["resolution_rate"].get<double>() +
                    0.45 * rows[i]["satisfaction_rate"].get<double>(),
                1e-12);
    if (i > 0) {
      EXPECT_LE(rows[i]["score"].get<double>(), rows[i - 1]["score"].get<double>());
    }
    total += rows[i]["cases"].get<double>();
  }
  EXPECT_EQ(total, n) << "every case is in one street";

  // The trend: 28 days to the end, each day's cases as counted (days without a case too).
  ASSERT_EQ(j["daily"].size(), 28u);
  EXPECT_EQ(j["daily"][0]["day"], "2026-11-02");
  EXPECT_EQ(j["daily"][27]["day"], "2026-11-29");
  std::map<std::string, double> per_day;
  for (const auto& c : cases) {
    const std::string day = format_rfc3339(c.opened).substr(0, 10);
    per_day[day] += 1;
  }
  for (const json& d : j["daily"]) EXPECT_EQ(d["cases"].get<double>(), per_day[d["day"].get<std::string>()]) << d.dump();
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
  EXPECT_EQ(day["anomalies"]["day"], "2026-11-29");
  EXPECT_FALSE(day.contains("hotspots"));
  // The jump is the day's alarm: parking in street A, all ten cases and then some of the background.
  bool jumped = false;
  for (const json& a : day["anomalies"]["alarms"])
    jumped = jumped || (a["group"] == "traffic" && a["area"] == street(0) && a["today"].get<double>() >= 10);
  EXPECT_TRUE(jumped) << day["anomalies"].dump();
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

// `gridwatch report` on the same database: the JSON equals the API's figures, the PDF (printed by
// Chromium) has every section, a bad option exits 2 naming it.
TEST_F(Reports, TheCommandWritesJsonHtmlAndPdf) {
  seed(*parse_rfc3339("2026-10-31T00:00:00Z"), 14, 8, 11, "-cli-");
  write_file(dir_ / "report.yaml",
             fmt::format("center:\n  id: report-{}\nbroker:\n  url: {}\ndatabase:\n  conninfo: \"{}\"\n"
                         "areas:\n  - file: {}\n    level: street\n    id_property: code\n"
                         "analytics:\n  time_zone: UTC\n",
                         tag_, broker_url_and_account(svc_), svc_.pg_conninfo, (dir_ / "streets.geojson").string()));
  const std::string config = (dir_ / "report.yaml").string();
  const std::string web = std::string(GRIDWATCH_SOURCE_DIR) + "/web/dist";
  const std::string json_out = (dir_ / "week.json").string();
  auto [code, out] = run_gridwatch({"report", "weekly", "--config", config, "--from", "2026-10-24", "--out", json_out});
  ASSERT_EQ(code, 0) << out;
  EXPECT_NE(out.find(json_out), std::string::npos) << "prints the file's path: " << out;
  const json file = json::parse(read_file(json_out));
  auto api = http_get(port_, "/api/v1/report?kind=weekly&from=2026-10-24&tz=UTC");
  ASSERT_EQ(api.status, 200) << api.body;
  const json j = json::parse(api.body);
  EXPECT_EQ(file["label"], "2026-10-24 – 2026-10-30");
  EXPECT_EQ(file["totals"], j["totals"]);
  EXPECT_EQ(file["units"]["rows"], j["units"]["rows"]);
  EXPECT_GT(file["totals"]["cases"].get<int>(), 20);

  std::tie(code, out) = run_gridwatch({"report", "weekly", "--config", config, "--from", "2026-10-32", "--out", json_out});
  EXPECT_EQ(code, 2);
  EXPECT_NE(out.find("--from: from is a date YYYY-MM-DD or an RFC 3339 time"), std::string::npos) << out;
  std::tie(code, out) = run_gridwatch({"report", "weekly", "--config", config, "--out", (dir_ / "week.txt").string()});
  EXPECT_EQ(code, 2);
  EXPECT_NE(out.find("ends in .html, .pdf or .json"), std::string::npos) << out;

  const std::string html = (dir_ / "week.html").string();
  std::tie(code, out) = run_gridwatch({"report", "weekly", "--config", config, "--from", "2026-10-24", "--out", html,
                                       "--web-root", (dir_ / "no-pages").string()});
  ASSERT_EQ(code, 0) << out;
  EXPECT_NE(read_file(html).find("Charts not drawn"), std::string::npos) << "no chart script: the page says so";

  if (!std::filesystem::exists("/usr/bin/chromium") || !std::filesystem::exists("/usr/bin/pdftotext"))
    GTEST_SKIP() << "the PDF needs Debian's chromium and poppler-utils (scripts/install-deps.sh installs both)";
  const std::string pdf = (dir_ / "week.pdf").string();
  std::tie(code, out) = run_gridwatch({"report", "weekly", "--config", config, "--from", "2026-10-24", "--out", pdf,
                                       "--web-root", web});
  ASSERT_EQ(code, 0) << out;
  ASSERT_EQ(std::system(fmt::format("/usr/bin/pdftotext -layout '{}' '{}.txt'", pdf, pdf).c_str()), 0);
  const std::string text = read_file(pdf + ".txt");
  for (const char* heading : {"接诉即办周报", "一、总体情况 Overview", "二、热点与趋势 Hot spots and trends",
                              "三、办理与时效 Handling and SLA", "四、单位排名 Ranking of units", "五、未诉先办 Proactive share"})
    EXPECT_NE(text.find(heading), std::string::npos) << heading << "\n" << text.substr(0, 2000);
  EXPECT_NE(text.find("街道 A"), std::string::npos) << "the ranking names the streets";
  EXPECT_FALSE(std::filesystem::exists(pdf + ".html")) << "the page printed is removed";
}

}  // namespace
}  // namespace gridwatch::testing
