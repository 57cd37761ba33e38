// What the maps read from the dispatch fixture's center: vector tiles (cases, clusters, the map's
// filters) and the map view of /api/v1/orders.
#include <algorithm>
#include <cmath>
#include <set>
#include <vector>

#include "dispatch_fixture.h"
#include "mvt.h"

namespace gridwatch::testing {
namespace {

// Where `p` is on the web map at zoom z, in tiles (the integer part is the tile's x and y).
std::pair<double, double> tile_xy(LonLat p, int z) {
  const double n = std::pow(2.0, z), lat = p.lat * M_PI / 180;
  return {(p.lon + 180) / 360 * n, (1 - std::log(std::tan(lat) + 1 / std::cos(lat)) / M_PI) / 2 * n};
}

// The centre of the 512-unit square of zoom z's tile (what the tiles cluster up to zoom 13) that
// holds `p`.
LonLat square_centre(LonLat p, int z) {
  const auto [x, y] = tile_xy(p, z);
  const double n = std::pow(2.0, z), cx = (std::floor(x * 8) + 0.5) / 8, cy = (std::floor(y * 8) + 0.5) / 8;
  return {.lon = cx / n * 360 - 180, .lat = std::atan(std::sinh(M_PI * (1 - 2 * cy / n))) * 180 / M_PI};
}

// The web-map tile (z, x, y) that holds `p`.
std::string tile_of(LonLat p, int z) {
  const auto [x, y] = tile_xy(p, z);
  return fmt::format("/tiles/{}/{}/{}.mvt", z, static_cast<int>(x), static_cast<int>(y));
}

// The features of the tiles' layer "cases" nearest `p` (within `px` of a 512 px tile), read from
// p's tile at zoom z with `filters`.
std::vector<MvtPoint> near(int port, LonLat p, int z, const std::string& filters, double px, const char* token) {
  auto r = http_request(port, "GET", tile_of(p, z) + filters, "", token);
  EXPECT_TRUE(r.status == 200 || r.status == 204) << r.status << " " << r.body;
  const auto [x, y] = tile_xy(p, z);
  std::vector<MvtPoint> out;
  for (MvtPoint f : mvt_points(r.body, "cases"))
    if (std::hypot(static_cast<double>(f.x) / 8 - (x - std::floor(x)) * 512,
                   static_cast<double>(f.y) / 8 - (y - std::floor(y)) * 512) <= px)
      out.push_back(std::move(f));
  return out;
}

TEST_F(Dispatch, VectorTilesHoldTheOpenCasesTheCallerMaySee) {
  const LonLat p = at(2, 0.0011, 0.0012), q = at(0, 0.0004, 0.0006);  // street c; worker 1's grid
  const std::string there = ticket("sanitation.dumped_waste", p);
  const std::string mine = ticket("sanitation.dumped_waste", q);
  auto r = http_request(port_, "GET", tile_of(p, 16), "", kDispatcher);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find(there), std::string::npos) << "the case's id is a string value of the tile";
  EXPECT_NE(r.body.find("sanitation.dumped_waste"), std::string::npos);
  EXPECT_NE(r.body.find("cases"), std::string::npos);  // the layer's name
  // A tile with nothing in it, a tile a worker may not see, the worker's own (token in the query).
  EXPECT_EQ(http_request(port_, "GET", tile_of({.lon = p.lon + 1, .lat = p.lat + 1}, 16), "", kDispatcher).status, 204);
  EXPECT_EQ(http_request(port_, "GET", tile_of(p, 16), "", kWorker1).status, 204);
  r = http_request(port_, "GET", tile_of(q, 16) + "?access_token=" + kWorker1, "", "");
  ASSERT_EQ(r.status, 200);
  EXPECT_NE(r.body.find(mine), std::string::npos);
  EXPECT_EQ(r.body.find(there), std::string::npos);
  // Bad tiles and no token are refused.
  EXPECT_EQ(http_request(port_, "GET", "/tiles/23/0/0.mvt", "", kDispatcher).status, 400);
  EXPECT_EQ(http_request(port_, "GET", "/tiles/2/4/0.mvt", "", kDispatcher).status, 400);
  EXPECT_EQ(http_request(port_, "GET", tile_of(p, 16), "", "").status, 401);
}

TEST_F(Dispatch, TilesClusterTheCasesUpToZoom13AndFilterAsTheMapDoes) {
  // 30 cases within ~15 m of p (10 by cameras, proactive and late, 20 parking tickets, 4 of
  // them dispatched and one accepted), 1,234 within ~15 m of r, one alone at q (far from both):
  // north of the streets, where no other test writes, p and r each at the centre of a cluster's
  // square at zoom 12 (~1.1 km x 1 km), so that nothing splits them.
  const LonLat p = square_centre(at(1, 0.0021, 0.0223), 12), r = square_centre(at(1, 0.0021, 0.0346), 12),
               q = at(1, 0.0021, 0.0473);
  std::vector<std::string> rows;
  for (int i = 0; i < 30; ++i)
    rows.push_back(fmt::format("('{}-t{}', '{}', '{}', {:.7f}, {:.7f}, {}, '{}')", tag_, i,
                               i < 10 ? "sanitation.bin_overflow" : "traffic.illegal_parking",
                               i < 10 ? "camera" : "hotline", p.lon + 0.00003 * (i % 5), p.lat + 0.00003 * (i / 5),
                               i < 10 ? "true" : "false", i == 29 ? "accepted" : i >= 25 ? "dispatched" : "new"));
  rows.push_back(fmt::format("('{}-alone', 'environment.noise', 'hotline', {:.7f}, {:.7f}, false, 'new')", tag_, q.lon, q.lat));
  sql(svc_.pg_conninfo,
      fmt::format("INSERT INTO orders (id, category, priority, status, source_kind, geom, observed_at, opened_at, state, "
                  "proactive, overdue_resolve_at) "
                  "SELECT v.id, v.category, 'normal', 'open', v.source, ST_SetSRID(ST_MakePoint(v.lon, v.lat), 4326), "
                  "now(), now(), v.state, v.proactive, CASE WHEN v.proactive THEN now() END "
                  "FROM (VALUES {}) v (id, category, source, lon, lat, proactive, state)",
                  fmt::join(rows, ", ")));
  sql(svc_.pg_conninfo,
      fmt::format("INSERT INTO orders (id, category, priority, status, source_kind, geom, observed_at, opened_at, state) "
                  "SELECT '{}-many-' || i, 'sanitation.dumped_waste', 'normal', 'open', 'hotline', "
                  "ST_SetSRID(ST_MakePoint({:.7f} + (i % 37) * 0.000004, {:.7f} + (i / 37) * 0.000004), 4326), "
                  "now(), now(), 'new' FROM generate_series(1, 1234) i",
                  tag_, r.lon, r.lat));

  // Zoom 12: p's 30 are one cluster where they are, with the map's cluster properties.
  auto at_p = near(port_, p, 12, "", 4, kDispatcher);
  ASSERT_EQ(at_p.size(), 1u);
  EXPECT_EQ(at_p[0].integer("point_count"), 30);
  EXPECT_EQ(at_p[0].text("point_count_abbreviated"), "30");
  EXPECT_FALSE(at_p[0].has("id"));
  auto at_r = near(port_, r, 12, "", 4, kDispatcher);
  ASSERT_EQ(at_r.size(), 1u);
  EXPECT_EQ(at_r[0].integer("point_count"), 1234);
  EXPECT_EQ(at_r[0].text("point_count_abbreviated"), "1.2k");
  // The case alone is itself, with the map's properties.
  auto at_q = near(port_, q, 12, "", 2, kDispatcher);
  ASSERT_EQ(at_q.size(), 1u);
  EXPECT_EQ(at_q[0].text("id"), tag_ + "-alone");
  EXPECT_EQ(at_q[0].text("category"), "environment.noise");
  EXPECT_EQ(at_q[0].text("source"), "hotline");
  EXPECT_EQ(at_q[0].text("state"), "new");
  EXPECT_FALSE(at_q[0].flag("overdue"));
  EXPECT_FALSE(at_q[0].has("point_count"));

  // The map's filters: each cluster counts only the cases that pass.
  const struct {
    std::string filters;
    int64_t count;
  } filtered[] = {{"?category=traffic.illegal_parking", 20},
                  {"?source=camera", 10},
                  {"?source=hotline,patrol&state=dispatched", 4},
                  {"?overdue=true", 10},
                  {"?proactive=true&category=sanitation.bin_overflow,traffic.illegal_parking", 10},
                  {"?state=new,dispatched&overdue=false&proactive=false", 29}};
  for (const auto& f : filtered) {
    auto got = near(port_, p, 12, f.filters, 4, kDispatcher);
    ASSERT_EQ(got.size(), 1u) << f.filters;
    EXPECT_EQ(got[0].integer("point_count"), f.count) << f.filters;
  }
  // One case passing is itself; none passing, nothing there.
  auto one = near(port_, p, 12, "?state=accepted", 4, kDispatcher);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].text("id"), tag_ + "-t29");
  EXPECT_EQ(one[0].text("state"), "accepted");
  EXPECT_FALSE(one[0].has("point_count"));
  EXPECT_TRUE(near(port_, p, 12, "?state=resolved", 4, kDispatcher).empty());
  EXPECT_TRUE(near(port_, q, 12, "?category=sanitation.bin_overflow", 4, kDispatcher).empty());

  // Above zoom 13 every case is itself: p's 30 at zoom 14, each once, in the tiles around p.
  std::set<std::string> tiles, ids;
  for (double dx : {0.0, 0.00015})
    for (double dy : {0.0, 0.0002}) tiles.insert(tile_of({.lon = p.lon + dx, .lat = p.lat + dy}, 14));
  int cases_at_14 = 0;
  for (const std::string& t : tiles) {
    auto got = http_request(port_, "GET", t, "", kDispatcher);
    for (const MvtPoint& f : mvt_points(got.body, "cases")) {
      EXPECT_FALSE(f.has("point_count")) << t;
      if (f.text("id").starts_with(tag_ + "-t")) {
        ++cases_at_14;
        ids.insert(f.text("id"));
        EXPECT_EQ(f.flag("overdue"), f.flag("proactive")) << f.text("id");
      }
    }
  }
  EXPECT_EQ(cases_at_14, 30);
  EXPECT_EQ(ids.size(), 30u);

  // A case on the edge between two tiles is in one of them only.
  const auto [ex, ey] = tile_xy(q, 14);
  const LonLat edge{.lon = std::ceil(ex) / std::pow(2.0, 14) * 360 - 180, .lat = q.lat};
  sql(svc_.pg_conninfo,
      fmt::format("INSERT INTO orders (id, category, priority, status, source_kind, geom, observed_at, opened_at, state) "
                  "VALUES ('{}-edge', 'environment.noise', 'normal', 'open', 'hotline', "
                  "ST_SetSRID(ST_MakePoint({:.12f}, {:.12f}), 4326), now(), now(), 'new')",
                  tag_, edge.lon, edge.lat));
  int on_edge = 0;
  for (int x : {static_cast<int>(ex), static_cast<int>(ex) + 1}) {
    auto got = http_request(port_, "GET", fmt::format("/tiles/14/{}/{}.mvt", x, static_cast<int>(ey)), "", kDispatcher);
    for (const MvtPoint& f : mvt_points(got.body, "cases")) on_edge += f.text("id") == tag_ + "-edge" ? 1 : 0;
  }
  EXPECT_EQ(on_edge, 1);

  // Filters a tile cannot take are refused, naming the parameter.
  expect_refusals({{"?category=nothing", "category", "unknown category \\\"nothing\\\""},
                   {"?state=lost", "state", "unknown state \\\"lost\\\""},
                   {"?source=fax", "source", "unknown source \\\"fax\\\" (known: hotline, camera, sensor, patrol)"},
                   {"?overdue=yes", "overdue", "overdue is true or false"},
                   {"?bbox=1,2,3,4", "bbox", "unknown parameter \\\"bbox\\\""}},
                  [&](const std::string& query) { return http_request(port_, "GET", tile_of(p, 12) + query, "", kDispatcher); });
}

TEST_F(Dispatch, TheMapViewHoldsOnlyWhatAMapDraws) {
  const std::string id = ticket("sanitation.dumped_waste", at(3, 0.0021, 0.0033), "map view");
  auto r = http_get(port_, fmt::format("/api/v1/orders?fields=map&bbox={:.6f},{:.6f},{:.6f},{:.6f}", lon0_ + 0.015,
                                       kLat0, lon0_ + 0.02, kLat0 + 0.005));
  ASSERT_EQ(r.status, 200) << r.body;
  const json fc = json::parse(r.body);
  const json* f = nullptr;
  for (const json& x : fc["features"])
    if (x["id"] == id) f = &x;
  ASSERT_NE(f, nullptr) << r.body;
  std::vector<std::string> keys;
  for (const auto& [k, v] : (*f)["properties"].items()) keys.push_back(k);
  std::sort(keys.begin(), keys.end());
  EXPECT_EQ(keys, (std::vector<std::string>{"category", "id", "overdue", "preempted", "priority", "proactive",
                                            "reports", "source", "state", "status"}));
  EXPECT_EQ((*f)["properties"]["source"], "hotline");
  EXPECT_EQ((*f)["properties"]["overdue"], false);
  EXPECT_EQ((*f)["geometry"]["type"], "Point");
  // How many pass, without the cases: the same filters, no limit, the caller's scope.
  ticket("sanitation.dumped_waste", at(0, 0.0004, 0.0006), "worker 1's grid");
  const std::string box = fmt::format("bbox={:.6f},{:.6f},{:.6f},{:.6f}", lon0_, kLat0, lon0_ + 0.02, kLat0 + 0.005);
  for (const char* token : {kDispatcher, kWorker1}) {
    const size_t listed =
        json::parse(http_request(port_, "GET", "/api/v1/orders?fields=map&limit=100000&" + box, "", token).body)["features"]
            .size();
    r = http_request(port_, "GET", "/api/v1/orders?fields=count&limit=1&" + box, "", token);
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(json::parse(r.body), json({{"count", listed}})) << token;
    EXPECT_GE(listed, 1u) << token;
  }
  EXPECT_LT(json::parse(http_request(port_, "GET", "/api/v1/orders?fields=count&" + box, "", kWorker1).body)["count"],
            json::parse(http_get(port_, "/api/v1/orders?fields=count&" + box).body)["count"]);
  // A map may ask for up to 100,000 cases; the full view stays at 10,000.
  EXPECT_EQ(http_get(port_, "/api/v1/orders?fields=map&limit=100000").status, 200);
  EXPECT_EQ(http_get(port_, "/api/v1/orders?limit=20000").status, 400);
  r = http_get(port_, "/api/v1/orders?fields=all");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("\"parameter\":\"fields\""), std::string::npos) << r.body;
}

}  // namespace
}  // namespace gridwatch::testing
