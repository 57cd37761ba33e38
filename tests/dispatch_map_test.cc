// What the maps read from the dispatch fixture's center: vector tiles and the map view of
// /api/v1/orders.
#include <algorithm>
#include <cmath>
#include <vector>

#include "dispatch_fixture.h"

namespace gridwatch::testing {
namespace {

// The web-map tile (z, x, y) that holds `p`.
std::string tile_of(LonLat p, int z) {
  const double n = std::pow(2.0, z), lat = p.lat * M_PI / 180;
  const int x = static_cast<int>(std::floor((p.lon + 180) / 360 * n));
  const int y = static_cast<int>(std::floor((1 - std::log(std::tan(lat) + 1 / std::cos(lat)) / M_PI) / 2 * n));
  return fmt::format("/tiles/{}/{}/{}.mvt", z, x, y);
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
  // A map may ask for up to 100,000 cases; the full view stays at 10,000.
  EXPECT_EQ(http_get(port_, "/api/v1/orders?fields=map&limit=100000").status, 200);
  EXPECT_EQ(http_get(port_, "/api/v1/orders?limit=20000").status, 400);
  r = http_get(port_, "/api/v1/orders?fields=all");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("\"parameter\":\"fields\""), std::string::npos) << r.body;
}

}  // namespace
}  // namespace gridwatch::testing
