// The analytics API on real PostGIS (the dispatch fixture's four streets and 250 m grid): 13 weeks
// of history written into the store (a steady background of bin cases on a lattice), a hot spot
// planted at one spot and growing week by week, a jump in one street's parking cases today; the
// answers find each, and only them.
#include <cmath>

#include <fmt/ranges.h>

#include "dispatch_fixture.h"

namespace gridwatch::testing {
namespace {

// Whether the ring of a GeoJSON polygon holds the point (ray casting).
bool contains(const json& geometry, LonLat p) {
  const json& ring = geometry["type"] == "MultiPolygon" ? geometry["coordinates"][0][0] : geometry["coordinates"][0];
  bool in = false;
  for (size_t i = 0, j = ring.size() - 1; i < ring.size(); j = i++) {
    const double xi = ring[i][0], yi = ring[i][1], xj = ring[j][0], yj = ring[j][1];
    if ((yi > p.lat) != (yj > p.lat) && p.lon < (xj - xi) * (p.lat - yi) / (yj - yi) + xi) in = !in;
  }
  return in;
}

class Analytics : public Dispatch {
 protected:
  // Cases for the store as history: `n` of `category` at `p`, opened `days_ago`; written by flush().
  void history(const std::string& category, LonLat p, int n, double days_ago) {
    rows_.push_back(fmt::format("('{}', {:.7f}, {:.7f}, {}, {})", category, p.lon, p.lat, n,
                                static_cast<int64_t>(days_ago * 24 * 3600)));
  }
  // One statement for them all, each case in the areas its point is in.
  void flush() {
    sql(svc_.pg_conninfo,
        fmt::format("INSERT INTO orders (id, category, priority, status, source_kind, geom, observed_at, opened_at, "
                    "state, areas) "
                    "SELECT '{}-h' || row_number() OVER (), v.category, 'normal', 'open', 'hotline', "
                    "ST_SetSRID(ST_MakePoint(v.lon, v.lat), 4326), now() - make_interval(secs => v.ago), "
                    "now() - make_interval(secs => v.ago), 'new', "
                    "(SELECT jsonb_object_agg(a.level_name, a.code) FROM areas a "
                    " WHERE ST_Intersects(a.geom, ST_SetSRID(ST_MakePoint(v.lon, v.lat), 4326))) "
                    "FROM (VALUES {}) v (category, lon, lat, n, ago), generate_series(1, v.n)",
                    tag_, fmt::join(rows_, ", ")));
    rows_.clear();
  }
  std::vector<std::string> rows_;
};

TEST_F(Analytics, FindAPlantedGrowingHotSpotAndAJumpInOneStreetsCounts) {
  // 19 weeks of history: the 13 up to now, and the 13 up to the end of last month (which ended up
  // to 31 days ago). Background: a lattice of 330 points ~55 m apart over the four streets, one
  // bin case at each every week (the same every week), and noise cases at 24 spots every 4 days.
  constexpr int kWeeks = 19;
  for (int col = 0; col < 33; ++col)
    for (int row = 0; row < 10; ++row)
      for (int w = 0; w < kWeeks; ++w)
        history("sanitation.bin_overflow", at(0, 0.0003 + 0.0006 * col, 0.00025 + 0.0005 * row), 1, 7.0 * w + 2.5);
  for (int s = 0; s < 24; ++s)
    for (int d = s % 4; d < 7 * kWeeks; d += 4)
      history("environment.noise", at(s % 4, 0.0006 + 0.0009 * (s / 4 % 5), 0.0007 + 0.0011 * (s / 4 % 4)), 1, d + 0.3);
  // The planted spot in street B: 16 cases a week until 13 weeks ago, then two more each week, 40
  // in the last.
  const LonLat spot = at(1, 0.0025, 0.0025);
  for (int w = 13 - kWeeks; w < 13; ++w)
    history("sanitation.dumped_waste", spot, 16 + 2 * std::max(w, 0), 7.0 * (12 - w) + 3.5);
  // Street C: about one parking case every three days, then 9 today.
  const LonLat lane = at(2, 0.004, 0.001);
  for (int d = 1; d <= 28; d += 3) history("traffic.illegal_parking", lane, 1, d + 0.25);
  history("traffic.illegal_parking", lane, 9, 0);
  flush();

  // Hot spots of the last 28 days on 50 m hexagons of sanitation: the planted spot, nothing far.
  auto r = http_get(port_, "/api/v1/analytics/hotspots?cells=hex&size=50&category=sanitation");
  ASSERT_EQ(r.status, 200) << r.body;
  json j = json::parse(r.body);
  EXPECT_EQ(j["type"], "FeatureCollection");
  EXPECT_GT(j["cell_count"].get<int>(), 100) << r.body.substr(0, 300);
  EXPECT_EQ(j["cells"], "hex");
  bool found = false;
  for (const json& f : j["features"]) {
    if (f["properties"]["spot"] != "hot") continue;
    const bool here = contains(f["geometry"], spot);
    found = found || here;
    if (here) {
      EXPECT_GE(f["properties"]["count"].get<double>(), 34 + 36 + 38 + 40);
      EXPECT_GT(f["properties"]["z"].get<double>(), 4);
      EXPECT_LT(f["properties"]["p"].get<double>(), 1e-4);
    }
    // Every hot cell is the spot or next to it (a hexagon's neighbours are < 100 m away).
    const json& c = f["geometry"]["coordinates"][0][0];
    EXPECT_LT(std::abs(c[0].get<double>() - spot.lon) + std::abs(c[1].get<double>() - spot.lat), 0.003) << f.dump();
  }
  EXPECT_TRUE(found) << r.body.substr(0, 2000);

  // The same on the grid cells (polygons of an area level, neighbours by touching).
  r = http_get(port_, "/api/v1/analytics/hotspots?cells=grid&category=sanitation.dumped_waste");
  ASSERT_EQ(r.status, 200) << r.body;
  j = json::parse(r.body);
  EXPECT_EQ(j["cases"].get<double>(), 34 + 36 + 38 + 40);

  // Emerging, 13 weeks: the spot is an intensifying hot spot, its counts rising week by week.
  r = http_get(port_, "/api/v1/analytics/emerging?cells=hex&size=50&category=sanitation");
  ASSERT_EQ(r.status, 200) << r.body;
  j = json::parse(r.body);
  EXPECT_EQ(j["steps"], 13);
  EXPECT_EQ(j["step"], "week");
  std::string kind;
  for (const json& f : j["features"])
    if (contains(f["geometry"], spot)) {
      kind = f["properties"]["class"];
      EXPECT_GT(f["properties"]["trend"]["tau"].get<double>(), 0.5);
      EXPECT_EQ(f["properties"]["name_zh"], "加剧热点");
      const json& counts = f["properties"]["counts"];
      ASSERT_EQ(counts.size(), 13u);
      EXPECT_LT(counts[0].get<double>(), counts[12].get<double>());
    }
  EXPECT_EQ(kind, "intensifying_hot") << r.body.substr(0, 2000);
  EXPECT_GE(j["classes"]["intensifying_hot"].get<int>(), 1);

  // Anomalies today per category group and street: the parking jump in street C, alarmed.
  r = http_get(port_, "/api/v1/analytics/anomalies?level=street&tz=UTC");
  ASSERT_EQ(r.status, 200) << r.body;
  j = json::parse(r.body);
  EXPECT_EQ(j["baseline_days"], 28);
  bool alarm = false;
  for (const json& it : j["items"])
    if (it["group"] == "traffic" && it["area"] == street(2)) {
      alarm = it["alarm"];
      EXPECT_EQ(it["today"].get<double>(), 9);
      EXPECT_NEAR(it["expected"].get<double>(), 10.0 / 28.0, 0.08);  // one in three days (10 in 28)
      EXPECT_LT(it["upper"].get<double>(), 9);
      EXPECT_EQ(it["area_name"], "街道 C");
    }
  EXPECT_TRUE(alarm) << r.body;
  EXPECT_GE(j["alarms"].get<int>(), 1);

  // 每月一题 of last month (the default): sanitation leads (the largest share, and a spot hot in
  // all 13 weeks); a dispatcher picks it, and it is tracked from that month on.
  const std::string this_month = format_rfc3339(now_utc()).substr(0, 7);
  const int y = std::stoi(this_month.substr(0, 4)), m = std::stoi(this_month.substr(5, 2));
  const std::string month = m == 1 ? fmt::format("{}-12", y - 1) : fmt::format("{}-{:02}", y, m - 1);
  r = http_get(port_, "/api/v1/analytics/monthly-problems?tz=UTC&cells=hex&size=50");
  ASSERT_EQ(r.status, 200) << r.body;
  j = json::parse(r.body);
  EXPECT_EQ(j["month"], month);
  ASSERT_GE(j["candidates"].size(), 3u) << r.body;
  const json& top = j["candidates"][0];
  EXPECT_EQ(top["group"], "sanitation");
  EXPECT_EQ(top["rank"], 1);
  // The 13 weeks end with the month; each holds one of the planted spot's weeks (12 when a week's
  // cases fall on the boundary).
  const int weeks = top["recurring_weeks"];
  EXPECT_GE(weeks, 12);
  EXPECT_DOUBLE_EQ(top["recurrence"].get<double>(), weeks / 13.0);
  EXPECT_DOUBLE_EQ(top["dissatisfaction"].get<double>(), 0.5);  // nobody evaluated
  EXPECT_NEAR(top["score"].get<double>(), top["share"].get<double>() * weeks / 13.0 * 0.5, 1e-12);
  EXPECT_GE(top["spots"]["features"].size(), 1u);
  EXPECT_EQ(top["weekly"].size(), 13u);
  EXPECT_GT(top["score"].get<double>(), j["candidates"][1]["score"].get<double>());
  auto pick = [&](const std::string& group, const char* token) {
    return http_request(port_, "POST", "/api/v1/analytics/monthly-problems/picks",
                        json({{"month", month}, {"group", group}, {"note", "垃圾偷倒 dumped rubble by the market"}}).dump(),
                        token);
  };
  EXPECT_EQ(pick("sanitation", kStreetA).status, 403);
  auto none = pick("water", kDispatcher);
  EXPECT_EQ(none.status, 400);
  EXPECT_NE(none.body.find("\\\"water\\\" is not among the top 5 candidates of " + month), std::string::npos) << none.body;
  auto picked = pick("sanitation", kDispatcher);
  ASSERT_EQ(picked.status, 201) << picked.body;
  EXPECT_EQ(json::parse(picked.body)["picked_by"], "disp");
  r = http_get(port_, "/api/v1/analytics/monthly-problems?tz=UTC&cells=hex&size=50&month=" + month);
  j = json::parse(r.body);
  ASSERT_EQ(j["picked"].size(), 1u) << r.body;
  EXPECT_EQ(j["picked"][0]["group"], "sanitation");
  EXPECT_EQ(j["picked"][0]["note"], "垃圾偷倒 dumped rubble by the market");
  ASSERT_EQ(j["picked"][0]["months"].size(), 1u);
  EXPECT_EQ(j["picked"][0]["months"][0]["month"], month);
  EXPECT_GT(j["picked"][0]["months"][0]["cases"].get<int>(), 0);
}

TEST_F(Analytics, FitsLargerHexagonsToALargeAreaUnlessTheSizeWasAsked) {
  // Two cases of a past month 1° apart and in no area: the map's area is their extent (~10,000
  // km², some 60,000 hexagons of the default 250 m edge: more than 20,000).
  const LonLat a = at(0, 0.5, 0.5), b = at(0, 1.5, 1.5);
  history("sanitation.bin_overflow", a, 1, 400);
  history("sanitation.bin_overflow", b, 1, 400);
  flush();
  const double area_m2 = std::stod(sql(svc_.pg_conninfo,
                                       fmt::format("SELECT ST_Area(ST_MakeEnvelope({:.7f}, {:.7f}, {:.7f}, {:.7f}, 4326)::geography)",
                                                   a.lon, a.lat, b.lon, b.lat))[0][0]);
  const double default_cells = area_m2 / (3 * std::sqrt(3.0) / 2 * 250 * 250);
  ASSERT_GT(default_cells, 50000);
  // The documented rule: 250 m × √(hexagons / 18,000), rounded up to 50 m.
  const double fitted = std::ceil(250 * std::sqrt(default_cells / 18000) / 50) * 50;
  const std::string window = "from=" + format_rfc3339(now_utc() - std::chrono::days{410}) +
                             "&to=" + format_rfc3339(now_utc() - std::chrono::days{390});
  auto r = http_get(port_, "/api/v1/analytics/hotspots?cells=hex&" + window);
  ASSERT_EQ(r.status, 200) << r.body;
  json j = json::parse(r.body);
  EXPECT_EQ(j["size_m"], fitted) << r.body.substr(0, 300);
  EXPECT_GT(j["cell_count"].get<int>(), 15000);
  EXPECT_LE(j["cell_count"].get<int>(), 20000);
  EXPECT_EQ(j["cases"], 2);
  // The size asked is kept, and refused for this area.
  auto asked = http_get(port_, "/api/v1/analytics/hotspots?cells=hex&size=250&" + window);
  EXPECT_EQ(asked.status, 400);
  EXPECT_NE(asked.body.find("hexagons of 250 m would make about"), std::string::npos) << asked.body;
  EXPECT_NE(asked.body.find("\"parameter\":\"size\""), std::string::npos) << asked.body;
}

TEST_F(Analytics, RefusesWhatItCannotAnswerAndNamesTheParameter) {
  expect_refusals({{"hotspots?cells=districts", "cells", "cells is hex or an area level (street, grid)"},
                   {"hotspots?size=10", "size", "size is a hexagon's edge in metres, from 50 to 5000"},
                   {"hotspots?q=0.9", "q", "q is a false discovery rate"},
                   {"hotspots?category=nothing", "category", "category \\\"nothing\\\" is neither a category nor a group"},
                   {"hotspots?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z", "to", "to must be later than from"},
                   {"hotspots?window=7", "window", "unknown parameter \\\"window\\\""},
                   {"emerging?step=month", "step", "step is day or week"},
                   {"emerging?steps=2", "steps", "steps is a whole number from 3 to 60"},
                   {"anomalies?day=2026-02-30", "day", "day is a date YYYY-MM-DD"},
                   {"anomalies?level=city", "level", "level is an area level (street, grid)"},
                   {"anomalies?tz=Mars/Olympus", "tz", "unknown time zone"},
                   {"hotspots?area=nowhere", "area", "no area \\\"nowhere\\\""},
                   {"monthly-problems?category=sanitation", "category", "unknown parameter \\\"category\\\""},
                   {"hotspots?cells=street&area=" + cell(0, 0, 0), "cells", "no areas of level \\\"street\\\" in area"}},
                  [&](const std::string& q) { return http_get(port_, "/api/v1/analytics/" + q); });
  // A pick's note is a text.
  auto note = http_request(port_, "POST", "/api/v1/analytics/monthly-problems/picks",
                           json({{"month", "2026-11"}, {"group", "sanitation"}, {"note", 5}}).dump(), kDispatcher);
  EXPECT_EQ(note.status, 400);
  EXPECT_NE(note.body.find("note is a text of at most 2000 characters"), std::string::npos) << note.body;
  // A worker reads no rates and no analytics.
  auto w = http_request(port_, "GET", "/api/v1/analytics/hotspots", "", kWorker1);
  EXPECT_EQ(w.status, 403);
  EXPECT_NE(w.body.find("may not read the analytics"), std::string::npos) << w.body;
  // Nothing in the window: an answer with no spots, not an error.
  auto empty = http_get(port_, "/api/v1/analytics/hotspots?cells=grid&from=2020-01-01T00:00:00Z&to=2020-02-01T00:00:00Z");
  ASSERT_EQ(empty.status, 200) << empty.body;
  EXPECT_EQ(json::parse(empty.body)["hot"], 0);
  EXPECT_EQ(json::parse(empty.body)["cases"], 0);
}

}  // namespace
}  // namespace gridwatch::testing
