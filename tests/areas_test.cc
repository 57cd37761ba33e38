// Areas in the center: loaded from GeoJSON into PostGIS at start, served at /api/v1/areas, and
// the assignment index agreeing with PostGIS ST_Covers on the same polygons.
#include <gtest/gtest.h>

#include <map>
#include <random>

#include <fmt/format.h>

#include "gridwatch/geo/areas.h"
#include "support.h"

namespace gridwatch::testing {
namespace {

using json = nlohmann::json;

const std::string kNyc = std::string(GRIDWATCH_SHARED_DIR) + "/data/boundaries/nyc-community-districts.geojson";

TEST(CenterAreas, LoadedIntoPostgisServedAndAgreeingWithStCovers) {
  auto svc = services();
  ASSERT_FALSE(svc.pg_conninfo.empty());
  auto dir = temp_dir("areas");
  int port = *platform::free_tcp_port();
  write_file(dir / "center.yaml",
             fmt::format("center:\n  id: areas-{}\nbroker:\n  url: {}\n  topic_prefix: {}\n"
                         "database:\n  conninfo: \"{}\"\nhttp:\n  port: {}\n"
                         "areas:\n  - file: {}\n    level: community_district\n    id_property: BoroCD\n"
                         "  - level: grid\n    synthetic_cell_m: 1000\n    within: [\"101\", \"102\"]\n",
                         getpid(), svc.mqtt_url, unique_prefix(), svc.pg_conninfo, port, kNyc));
  for (int run = 0; run < 2; ++run) {
    auto center = start_gridwatch({"center", "--config", (dir / "center.yaml").string()}, dir / "center.log");
    ASSERT_TRUE(eventually([&] { return http_get(port, "/healthz").status == 200; })) << read_file(dir / "center.log");
    auto r = http_get(port, "/api/v1/areas?level=0");
    ASSERT_EQ(r.status, 200);
    const json fc = json::parse(r.body);
    EXPECT_EQ(fc["features"].size(), 71u);
    // Synthetic 1 km cells in two Manhattan districts, each naming its parent.
    r = http_get(port, "/api/v1/areas?level=1");
    ASSERT_EQ(r.status, 200);
    const json cells = json::parse(r.body);
    std::map<std::string, int> per_parent;
    for (const json& f : cells["features"]) {
      ++per_parent[f["properties"]["parent"].get<std::string>()];
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
  std::string log = read_file(dir / "center.log");
  const size_t all = 71 + static_cast<size_t>(std::stoi(
                              sql(svc.pg_conninfo, "SELECT count(*) FROM areas WHERE level = 1 AND parent IN ('101', '102')")[0][0]));
  EXPECT_NE(log.find(fmt::format("areas: {} stored, {} new or changed", all, all)), std::string::npos) << log;
  EXPECT_NE(log.find(fmt::format("areas: {} stored, 0 new or changed", all)), std::string::npos) << log;
  auto rows = sql(svc.pg_conninfo, "SELECT count(*), min(ST_SRID(geom)) FROM areas WHERE level = 0 AND code ~ '^[1-5][0-9][0-9]$'");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0][0], "71");
  EXPECT_EQ(rows[0][1], "4326");

  // 100,000 random points: our index and PostGIS ST_Covers give the same area for every one.
  auto layer = geo::load_layer(kNyc, {.id_property = "BoroCD"});
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

}  // namespace
}  // namespace gridwatch::testing
