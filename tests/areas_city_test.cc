// Areas in the center on a small city the test draws: districts sharing edges, one with a hole
// (half of it an enclave of another district), one in two parts, and synthetic grid cells.
// Loaded into PostGIS and served, the assignment index agreeing with PostGIS ST_Covers (and its
// boundary rule on the edges, where ST_Covers names both sides), orders placed at ingest.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>

#include <fmt/format.h>

#include "gridwatch/geo/areas.h"
#include "gridwatch/platform/mqtt.h"
#include "center_under_test.h"
#include "support.h"

namespace gridwatch::testing {
namespace {

using json = nlohmann::json;

// In units of 0.01 degree from (30.0, 10.0), a place no other test uses:
//
//   3 +---------------------------+
//     |            N              |
//   2 +-------------+-------------+           N is one MultiPolygon: the strip along the north
//     |  W  +--+--+ |             |           and the island at [5, 6] x [0, 1].
//     |     |K |  | |      E      |           W has a hole [0.5, 1.5] x [0.5, 1.5]; its west
//     |     +--+--+ |             |   +----+  half is the enclave K, its east half no district.
//     |             |             |   | N  |
//   0 +-------------+-------------+   +----+
//     0     0.5  1.5 2            4   5    6
//
// Codes start with a tag unique to the run (the database outlives the run).
struct City {
  std::string tag;
  static constexpr double kX0 = 30.0, kY0 = 10.0, kUnit = 0.01;
  static double x(double i) { return kX0 + i * kUnit; }
  static double y(double j) { return kY0 + j * kUnit; }
  static LonLat at(double i, double j) { return LonLat{.lon = x(i), .lat = y(j)}; }
  std::string code(const std::string& name) const { return tag + name; }

  // A rectangle as a closed ring: counter-clockwise, or clockwise for a hole.
  static std::vector<std::pair<double, double>> rect(double i0, double j0, double i1, double j1, bool hole = false) {
    if (hole) return {{i0, j0}, {i0, j1}, {i1, j1}, {i1, j0}, {i0, j0}};
    return {{i0, j0}, {i1, j0}, {i1, j1}, {i0, j1}, {i0, j0}};
  }
  // Every ring of every district, for the boundary points.
  static std::vector<std::vector<std::pair<double, double>>> rings() {
    return {rect(0, 0, 2, 2), rect(0.5, 0.5, 1.5, 1.5, true), rect(2, 0, 4, 2), rect(0, 2, 4, 3), rect(5, 0, 6, 1),
            rect(0.5, 0.5, 1.0, 1.5)};
  }
  static std::string ring_json(const std::vector<std::pair<double, double>>& ring) {
    std::string out = "[";
    for (const auto& [i, j] : ring) out += fmt::format("{}[{:.17g}, {:.17g}]", out.size() > 1 ? ", " : "", x(i), y(j));
    return out + "]";
  }
  std::string feature(const std::string& name, const std::string& label, const std::string& type,
                      const std::string& coordinates) const {
    return fmt::format(R"({{"type": "Feature", "properties": {{"code": "{}", "name": "{}"}},
     "geometry": {{"type": "{}", "coordinates": {}}}}})",
                       code(name), label, type, coordinates);
  }
  std::string geojson() const {
    const auto r = rings();
    return fmt::format(R"({{"type": "FeatureCollection", "features": [
    {},
    {},
    {},
    {}]}})",
                       feature("W", "West, with a hole", "Polygon", fmt::format("[{}, {}]", ring_json(r[0]), ring_json(r[1]))),
                       feature("E", "East", "Polygon", fmt::format("[{}]", ring_json(r[2]))),
                       feature("N", "North and the island", "MultiPolygon",
                               fmt::format("[[{}], [{}]]", ring_json(r[3]), ring_json(r[4]))),
                       feature("K", "Enclave", "Polygon", fmt::format("[{}]", ring_json(r[5]))));
  }
  // The center's "areas:" section: the districts, and 500 m grid cells in W and N.
  std::string areas_yaml(const std::filesystem::path& file) const {
    return fmt::format("areas:\n  - file: {}\n    level: district\n    id_property: code\n"
                       "  - level: grid\n    synthetic_cell_m: 500\n    within: [\"{}\", \"{}\"]\n",
                       file.string(), code("W"), code("N"));
  }
};

City make_city() {
  std::random_device rd;
  return City{.tag = fmt::format("sc{}x{:06x}-", getpid(), rd() & 0xffffff)};
}

CenterSpec city_center(const std::string& prefix, const std::string& areas) {
  return {.id = fmt::format("city-{}", getpid()), .prefix = prefix, .sections = areas};
}

// For each point, the codes (sorted, joined by '|') of the areas of `level` starting with `tag`
// that PostGIS says cover it; "" for none.
std::vector<std::string> postgis_covers(const std::string& conninfo, const std::vector<LonLat>& points, int level,
                                        const std::string& tag) {
  std::string xs = "{", ys = "{";
  for (size_t i = 0; i < points.size(); ++i) {
    xs += fmt::format("{}{:.17g}", i ? "," : "", points[i].lon);
    ys += fmt::format("{}{:.17g}", i ? "," : "", points[i].lat);
  }
  xs += "}";
  ys += "}";
  auto rows = sql(conninfo, R"sql(
    SELECT p.i, coalesce(string_agg(a.code, '|' ORDER BY a.code), '')
    FROM unnest($1::float8[], $2::float8[]) WITH ORDINALITY AS p(x, y, i)
    LEFT JOIN areas a ON a.level = $3::int AND left(a.code, length($4)) = $4
                     AND ST_Covers(a.geom, ST_SetSRID(ST_MakePoint(p.x, p.y), 4326))
    GROUP BY p.i ORDER BY p.i)sql",
                  {xs, ys, std::to_string(level), tag});
  std::vector<std::string> out;
  for (auto& r : rows) out.push_back(r[1]);
  return out;
}

TEST(CenterAreas, SyntheticCityLoadedIntoPostgisServedAndAgreeingWithStCovers) {
  auto svc = services();
  ASSERT_FALSE(svc.pg_conninfo.empty());
  auto dir = temp_dir("city");
  const City city = make_city();
  write_file(dir / "city.geojson", city.geojson());
  CenterUnderTest center(dir, city_center(unique_prefix(), city.areas_yaml(dir / "city.geojson")));
  const int port = center.port();

  // What the center should cut: the same cells as geo::synthetic_grid on the same districts.
  auto districts = geo::load_layer(dir / "city.geojson", {.id_property = "code"});
  ASSERT_TRUE(districts.has_value()) << districts.error().message;
  ASSERT_EQ(districts->size(), 4u);
  std::vector<geo::Area> parents;
  for (const geo::Area& a : *districts)
    if (a.code == city.code("W") || a.code == city.code("N")) parents.push_back(a);
  auto cells = geo::synthetic_grid(parents, 500);
  ASSERT_TRUE(cells.has_value());
  std::map<std::string, std::string> expected_cells;  // code -> parent
  for (const geo::Area& c : *cells) expected_cells[c.code] = c.parent;
  const size_t all = 4 + expected_cells.size();

  for (int run = 0; run < 2; ++run) {
    ASSERT_TRUE(center.start());
    auto r = http_get(port, "/api/v1/areas?level=0");
    ASSERT_EQ(r.status, 200);
    const json districts_served = json::parse(r.body);
    std::map<std::string, json> mine;  // the areas of this city
    for (const json& f : districts_served["features"])
      if (f["id"].get<std::string>().rfind(city.tag, 0) == 0) mine[f["id"]] = f;
    ASSERT_EQ(mine.size(), 4u) << r.body.substr(0, 2000);
    // Served as MultiPolygons: W with its hole, N in two parts.
    const json& w = mine[city.code("W")]["geometry"];
    EXPECT_EQ(w["type"], "MultiPolygon");
    ASSERT_EQ(w["coordinates"].size(), 1u);
    EXPECT_EQ(w["coordinates"][0].size(), 2u) << "the outline and the hole";
    EXPECT_EQ(mine[city.code("N")]["geometry"]["coordinates"].size(), 2u);
    EXPECT_EQ(mine[city.code("K")]["properties"]["name"], "Enclave");
    EXPECT_EQ(mine[city.code("E")]["properties"]["level_name"], "district");
    EXPECT_TRUE(mine[city.code("E")]["properties"]["parent"].is_null());

    r = http_get(port, "/api/v1/areas?level=1");
    ASSERT_EQ(r.status, 200);
    const json cells_served = json::parse(r.body);
    std::map<std::string, std::string> served_cells;
    for (const json& f : cells_served["features"]) {
      if (f["id"].get<std::string>().rfind(city.tag, 0) != 0) continue;
      served_cells[f["id"]] = f["properties"]["parent"];
      EXPECT_EQ(f["properties"]["level_name"], "grid");
      EXPECT_NE(f["properties"]["name"].get<std::string>().find("synthetic"), std::string::npos);
    }
    EXPECT_EQ(served_cells, expected_cells);
    center.stop(std::chrono::seconds{10});
  }
  // Every cell of W and N; none in the hole (W keeps 5 x 5 cells less the hole's).
  std::map<std::string, int> per_parent;
  for (const auto& [code, parent] : expected_cells) ++per_parent[parent];
  EXPECT_EQ(per_parent.size(), 2u);
  EXPECT_GE(per_parent[city.code("W")], 16);
  EXPECT_LT(per_parent[city.code("W")], 25);
  // The second start found every area unchanged.
  const std::string log = center.log();
  EXPECT_NE(log.find(fmt::format("areas: {} stored, {} new or changed", all, all)), std::string::npos) << log;
  EXPECT_NE(log.find(fmt::format("areas: {} stored, 0 new or changed", all)), std::string::npos) << log;
  auto rows = sql(svc.pg_conninfo, "SELECT count(*), min(ST_SRID(geom)) FROM areas WHERE left(code, length($1)) = $1",
                  {city.tag});
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0][0], std::to_string(all));
  EXPECT_EQ(rows[0][1], "4326");

  auto idx = geo::AreaIndex::build({std::move(*districts), std::move(*cells)});
  ASSERT_TRUE(idx.has_value());
  auto ours = [&](LonLat p, size_t level) {
    const geo::Area* a = (*idx)->locate(p, level);
    return a ? a->code : std::string();
  };

  // 20,000 random points over the city and around it: the same district and the same cell as
  // ST_Covers for every one.
  std::mt19937_64 rng(2026);
  std::uniform_real_distribution<double> ui(-0.5, 6.5), uj(-0.5, 3.5);
  std::vector<LonLat> points;
  for (int i = 0; i < 20000; ++i) points.push_back(City::at(ui(rng), uj(rng)));
  for (int level : {0, 1}) {
    const auto theirs = postgis_covers(svc.pg_conninfo, points, level, city.tag);
    ASSERT_EQ(theirs.size(), points.size());
    int differ = 0, inside = 0;
    for (size_t i = 0; i < points.size(); ++i) {
      inside += !theirs[i].empty();
      if (theirs[i] != ours(points[i], static_cast<size_t>(level)) && ++differ <= 5)
        ADD_FAILURE() << "level " << level << " point " << i << ": index " << ours(points[i], static_cast<size_t>(level))
                      << ", PostGIS " << theirs[i];
    }
    EXPECT_EQ(differ, 0) << "level " << level;
    EXPECT_GT(inside, level == 0 ? 8000 : 4000) << "level " << level;  // districts cover 11 of the 28 square units
  }

  // Points exactly on the edges and corners (every eighth of a unit along each ring). ST_Covers
  // names every district touching the point; the index picks one of them by the boundary rule:
  // the district just north-east of the point (east of a north-south edge, north of an east-west
  // one), which is what ST_Covers says a hair north-east of it.
  std::vector<LonLat> edge, nudged;
  for (const auto& ring : City::rings())
    for (size_t k = 0; k + 1 < ring.size(); ++k)
      for (int s = 0; s < 8; ++s) {
        const double t = s / 8.0;
        const double i = ring[k].first + t * (ring[k + 1].first - ring[k].first);
        const double j = ring[k].second + t * (ring[k + 1].second - ring[k].second);
        edge.push_back(City::at(i, j));
        nudged.push_back(LonLat{.lon = City::x(i) + 1e-9, .lat = City::y(j) + 1e-9});
      }
  const auto covers = postgis_covers(svc.pg_conninfo, edge, 0, city.tag);
  const auto beside = postgis_covers(svc.pg_conninfo, nudged, 0, city.tag);
  ASSERT_EQ(covers.size(), edge.size());
  ASSERT_EQ(beside.size(), edge.size());
  int both = 0;
  for (size_t k = 0; k < edge.size(); ++k) {
    const std::string o = ours(edge[k], 0);
    EXPECT_EQ(o, beside[k]) << fmt::format("({:.17g}, {:.17g}): ST_Covers {}", edge[k].lon, edge[k].lat, covers[k]);
    if (!o.empty()) {
      EXPECT_NE(covers[k].find(o), std::string::npos) << o << " vs ST_Covers " << covers[k];
    }
    both += covers[k].find('|') != std::string::npos;
  }
  EXPECT_GT(both, 20) << "points on shared edges, where ST_Covers names two districts";
  // The rule spelled out: the W|E edge goes east, the W|N edge north, the hole's west edge to K,
  // K's east edge to the empty half of the hole, the hole's east edge to W.
  EXPECT_EQ(ours(City::at(2, 1), 0), city.code("E"));
  EXPECT_EQ(ours(City::at(1, 2), 0), city.code("N"));
  EXPECT_EQ(ours(City::at(0.5, 1), 0), city.code("K"));
  EXPECT_EQ(ours(City::at(1, 1), 0), "");
  EXPECT_EQ(ours(City::at(1.5, 1), 0), city.code("W"));
  EXPECT_EQ(ours(City::at(5.5, 0.5), 0), city.code("N"));
  std::filesystem::remove_all(dir);
}

// Orders at ingest: the center's own index places them by the same rule, district and cell.
TEST(CenterAreas, OrdersInTheSyntheticCityArePlacedInTheirDistrictAndCell) {
  using namespace std::chrono_literals;
  auto svc = services();
  ASSERT_FALSE(svc.mqtt_url.empty());
  auto dir = temp_dir("city-orders");
  const City city = make_city();
  write_file(dir / "city.geojson", city.geojson());
  const std::string prefix = unique_prefix();
  CenterUnderTest center(dir, city_center(prefix, city.areas_yaml(dir / "city.geojson")));
  const int port = center.port();
  ASSERT_TRUE(center.start());
  auto pub = platform::MqttClient::create(mqtt_options(svc, fmt::format("t-city-{}", getpid())));
  ASSERT_TRUE(pub.has_value());
  ASSERT_TRUE((*pub)->connect(10s).has_value());
  const std::map<std::string, LonLat> places = {
      {"west", City::at(0.2, 0.2)},       {"shared-edge", City::at(2, 1)}, {"enclave", City::at(0.7, 1)},
      {"empty-hole", City::at(1.25, 1)},  {"island", City::at(5.5, 0.5)},  {"outside", City::at(4.5, 0.5)},
  };
  for (const auto& [name, p] : places) {
    const json order = {{"schema", "gw.order/1"},
                        {"event", "open"},
                        {"id", city.tag + name},
                        {"category", "general.other"},  // never merged into an earlier run's case
                        {"source", {{"kind", "camera"}, {"agent_id", "box-1"}}},
                        {"location", {{"lon", p.lon}, {"lat", p.lat}}},
                        {"observed_at", "2026-11-23T08:00:00Z"}};
    ASSERT_TRUE((*pub)->publish_and_wait(prefix + "/orders/box-1", order.dump(), 1, false, 5s).has_value());
  }
  auto get = [&](const std::string& name) {
    json j;
    EXPECT_TRUE(eventually([&] {
      auto r = http_get(port, "/api/v1/orders/" + city.tag + name);
      if (r.status != 200) return false;
      j = json::parse(r.body);
      return true;
    })) << name;
    return j["properties"];
  };
  const json west = get("west");
  EXPECT_EQ(west["areas"]["district"], city.code("W"));
  ASSERT_TRUE(west["areas"]["grid"].is_string()) << west.dump();
  EXPECT_EQ(west["areas"]["grid"], city.code("W") + "-g00000000");  // the south-west cell
  EXPECT_EQ(west["area_code"], west["areas"]["grid"]);
  const json edge = get("shared-edge");
  EXPECT_EQ(edge["areas"]["district"], city.code("E"));
  EXPECT_FALSE(edge["areas"].contains("grid"));  // no cells cut in E
  EXPECT_EQ(edge["area_code"], city.code("E"));
  EXPECT_EQ(get("enclave")["area_code"], city.code("K"));
  const json hole = get("empty-hole");
  EXPECT_TRUE(hole["areas"].is_null()) << hole.dump();
  EXPECT_TRUE(hole["area_code"].is_null());
  const json island = get("island");
  EXPECT_EQ(island["areas"]["district"], city.code("N"));
  ASSERT_TRUE(island["areas"]["grid"].is_string()) << island.dump();
  EXPECT_EQ(island["areas"]["grid"].get<std::string>().rfind(city.code("N") + "-g", 0), 0u);
  EXPECT_TRUE(get("outside")["area_code"].is_null());
  center.stop(std::chrono::seconds{10});
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace gridwatch::testing
