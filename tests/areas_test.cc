// Areas in the center: loaded from GeoJSON into PostGIS at start, served at /api/v1/areas, and
// the assignment index agreeing with PostGIS ST_Covers on the same polygons.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <regex>

#include <fmt/format.h>

#include "gridwatch/geo/areas.h"
#include "gridwatch/platform/mqtt.h"
#include "center_under_test.h"
#include "support.h"
#include "test_data.h"

namespace gridwatch::testing {
namespace {

using json = nlohmann::json;

TEST(CenterAreasRealData, LoadedIntoPostgisServedAndAgreeingWithStCovers) {
  GW_NEED_DATA(nyc_file, "boundaries/nyc-community-districts.geojson");
  auto svc = services();
  ASSERT_FALSE(svc.pg_conninfo.empty());
  auto dir = temp_dir("areas");
  CenterUnderTest center(dir, {.id = fmt::format("areas-{}", getpid()),
                               .prefix = unique_prefix(),
                               .sections = fmt::format("areas:\n  - file: {}\n    level: community_district\n    id_property: BoroCD\n"
                                                       "  - level: grid\n    synthetic_cell_m: 1000\n    within: [\"101\", \"102\"]\n",
                                                       nyc_file)});
  const int port = center.port();
  for (int run = 0; run < 2; ++run) {
    ASSERT_TRUE(center.start());
    auto r = http_get(port, "/api/v1/areas?level=0");
    ASSERT_EQ(r.status, 200);
    const json fc = json::parse(r.body);
    // NYC's community districts: three-digit BoroCD.
    size_t nyc = 0;
    for (const json& f : fc["features"]) nyc += std::regex_match(f["id"].get<std::string>(), std::regex("[1-5][0-9][0-9]"));
    EXPECT_EQ(nyc, 71u);
    // Synthetic 1 km cells in two Manhattan districts, each naming its parent.
    r = http_get(port, "/api/v1/areas?level=1");
    ASSERT_EQ(r.status, 200);
    const json cells = json::parse(r.body);
    std::map<std::string, int> per_parent;
    for (const json& f : cells["features"]) {
      const std::string parent = f["properties"]["parent"].get<std::string>();
      if (parent.size() != 3) continue;  // only the cells of NYC's districts
      ++per_parent[parent];
      EXPECT_EQ(f["properties"]["level_name"], "grid");
      EXPECT_NE(f["properties"]["name"].get<std::string>().find("synthetic"), std::string::npos);
    }
    EXPECT_EQ(per_parent.size(), 2u);
    EXPECT_GE(per_parent["101"], 3);
    EXPECT_GE(per_parent["102"], 3);
    EXPECT_EQ(http_get(port, "/api/v1/areas?level=x").status, 400);
    EXPECT_EQ(http_get(port, "/api/v1/areas?lvl=0").status, 400);
    center.stop(std::chrono::seconds{10});
  }
  // The second start found every area unchanged.
  std::string log = center.log();
  const size_t all = 71 + static_cast<size_t>(std::stoi(
                              sql(svc.pg_conninfo, "SELECT count(*) FROM areas WHERE level = 1 AND parent IN ('101', '102')")[0][0]));
  EXPECT_NE(log.find(fmt::format("areas: {} stored, {} new or changed", all, all)), std::string::npos) << log;
  EXPECT_NE(log.find(fmt::format("areas: {} stored, 0 new or changed", all)), std::string::npos) << log;
  auto rows = sql(svc.pg_conninfo, "SELECT count(*), min(ST_SRID(geom)) FROM areas WHERE level = 0 AND code ~ '^[1-5][0-9][0-9]$'");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0][0], "71");
  EXPECT_EQ(rows[0][1], "4326");

  // 100,000 random points: our index and PostGIS ST_Covers give the same area for every one.
  auto layer = geo::load_layer(nyc_file, {.id_property = "BoroCD"});
  ASSERT_TRUE(layer.has_value());
  double minx = 1e9, miny = 1e9, maxx = -1e9, maxy = -1e9;
  for (const auto& a : *layer) {
    minx = std::min(minx, a.bbox[0]);
    miny = std::min(miny, a.bbox[1]);
    maxx = std::max(maxx, a.bbox[2]);
    maxy = std::max(maxy, a.bbox[3]);
  }
  auto idx = geo::AreaIndex::build({std::move(*layer)});
  ASSERT_TRUE(idx.has_value());
  std::mt19937_64 rng(2026);
  std::uniform_real_distribution<double> ux(minx, maxx), uy(miny, maxy);
  const int n = 100000;
  std::string xs = "{", ys = "{";
  std::vector<std::string> ours(n);
  for (int i = 0; i < n; ++i) {
    double x = ux(rng), y = uy(rng);
    xs += fmt::format("{}{:.17g}", i ? "," : "", x);
    ys += fmt::format("{}{:.17g}", i ? "," : "", y);
    const geo::Area* a = (*idx)->locate(LonLat{.lon = x, .lat = y});
    ours[static_cast<size_t>(i)] = a ? a->code : "";
  }
  xs += "}";
  ys += "}";
  auto theirs = sql(svc.pg_conninfo, R"sql(
    SELECT p.i, coalesce(string_agg(a.code, '|' ORDER BY a.code), '')
    FROM unnest($1::float8[], $2::float8[]) WITH ORDINALITY AS p(x, y, i)
    LEFT JOIN areas a ON a.level = 0 AND a.code ~ '^[1-5][0-9][0-9]$'
                     AND ST_Covers(a.geom, ST_SetSRID(ST_MakePoint(p.x, p.y), 4326))
    GROUP BY p.i ORDER BY p.i)sql",
                    {xs, ys});
  ASSERT_EQ(theirs.size(), static_cast<size_t>(n));
  int differ = 0, inside = 0;
  for (int i = 0; i < n; ++i) {
    const std::string& t = theirs[static_cast<size_t>(i)][1];
    inside += !t.empty();
    if (t != ours[static_cast<size_t>(i)]) {
      if (++differ <= 5) ADD_FAILURE() << "point " << i << ": index " << ours[static_cast<size_t>(i)] << ", PostGIS " << t;
    }
  }
  EXPECT_EQ(differ, 0);
  EXPECT_GT(inside, 30000);  // a real share of the points is inside some district
  std::filesystem::remove_all(dir);
}

// Every order is placed in the areas at ingest: district and synthetic grid cell of Beijing, from
// `districts` (GCJ-02).
void expect_orders_placed_in_beijing(const std::string& districts) {
  using namespace std::chrono_literals;
  auto svc = services();
  ASSERT_FALSE(svc.mqtt_url.empty());
  auto dir = temp_dir("placed");
  const std::string prefix = unique_prefix();
  CenterUnderTest center(dir, {.id = fmt::format("placed-{}", getpid()),
                               .prefix = prefix,
                               .sections = fmt::format("areas:\n  - file: {}\n    level: district\n    crs: gcj02\n"
                                                       "  - level: grid\n    synthetic_cell_m: 500\n    within: [\"110101\"]\n",
                                                       districts)});
  const int port = center.port();
  ASSERT_TRUE(center.start());
  auto pub = platform::MqttClient::create(mqtt_options(svc, fmt::format("t-placed-{}", getpid())));
  ASSERT_TRUE(pub.has_value());
  ASSERT_TRUE((*pub)->connect(10s).has_value());
  auto order = [&](const std::string& id, double lon, double lat) {
    return nlohmann::json({{"schema", "gw.order/1"}, {"event", "open"}, {"id", id},
                           {"category", "general.other"},  // never merged: each order stays its own case
                           {"source", {{"kind", "camera"}, {"agent_id", "box-1"}}},
                           {"location", {{"lon", lon}, {"lat", lat}}},
                           {"observed_at", "2026-11-23T08:00:00Z"}})
        .dump();
  };
  static int calls = 0;  // the plain and the real-data test may run in one process
  const std::string tag = fmt::format("{}x{}", getpid(), calls++);
  const std::string topic = prefix + "/orders/box-1";
  ASSERT_TRUE((*pub)->publish_and_wait(topic, order("tiananmen-" + tag, 116.3913, 39.9075), 1, false, 5s).has_value());
  ASSERT_TRUE((*pub)->publish_and_wait(topic, order("haidian-" + tag, 116.3103, 39.9925), 1, false, 5s).has_value());
  ASSERT_TRUE((*pub)->publish_and_wait(topic, order("nowhere-" + tag, 10.0, 10.0), 1, false, 5s).has_value());
  auto get = [&](const std::string& id) {
    nlohmann::json j;
    EXPECT_TRUE(eventually([&] {
      auto r = http_get(port, "/api/v1/orders/" + id);
      if (r.status != 200) return false;
      j = nlohmann::json::parse(r.body);
      return true;
    })) << id;
    return j["properties"];
  };
  auto t = get("tiananmen-" + tag);
  EXPECT_EQ(t["areas"]["district"], "110101");
  ASSERT_TRUE(t["areas"]["grid"].is_string()) << t.dump();
  EXPECT_EQ(t["areas"]["grid"].get<std::string>().rfind("110101-g", 0), 0u);
  EXPECT_EQ(t["area_code"], t["areas"]["grid"]);
  auto h = get("haidian-" + tag);
  EXPECT_EQ(h["areas"]["district"], "110108");  // no grid cells cut there
  EXPECT_FALSE(h["areas"].contains("grid"));
  EXPECT_EQ(h["area_code"], "110108");
  auto n = get("nowhere-" + tag);
  EXPECT_TRUE(n["areas"].is_null());
  EXPECT_TRUE(n["area_code"].is_null());
  center.stop(std::chrono::seconds{10});
  std::filesystem::remove_all(dir);
}

// On the districts of the echarts npm package (every clone has them).
TEST(CenterAreas, OrdersArePlacedInTheirDistrictAndGridCell) {
  ASSERT_TRUE(std::filesystem::exists(echarts_beijing_map())) << echarts_beijing_map() << ": run npm ci in web/";
  expect_orders_placed_in_beijing(echarts_beijing_map());
}

TEST(CenterAreasRealData, OrdersArePlacedInTheirDistrictAndGridCell) {
  GW_NEED_DATA(districts, "boundaries/beijing-districts-gcj02.json");
  expect_orders_placed_in_beijing(districts);
}

}  // namespace
}  // namespace gridwatch::testing
