// A small city drawn by the test: community districts with shared edges, a T-junction, a
// diagonal border, a hole filled by another district, a lake, and a district of two islands,
// written as a GeoJSON file with numeric codes in a property (like NYC's BoroCD), and 311-style
// tickets written as CSV. Each ticket's district is computed from the drawing alone and must be
// the one the index assigns.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>

#include "gridwatch/domain/csv.h"
#include "gridwatch/geo/areas.h"

namespace gridwatch::geo {
namespace {

// The drawing is in ticks of 0.0005 degrees (about 42 m east-west at this latitude) from a
// corner near lower Manhattan. A vertex of two districts is the same double in both because
// both compute it from the same tick.
constexpr double kLon0 = -74.02, kLat0 = 40.70, kTick = 0.0005;
double lon_of(double tx) { return kLon0 + tx * kTick; }
double lat_of(double ty) { return kLat0 + ty * kTick; }

struct Box {
  int x0, y0, x1, y1;
};

//   y=40 +--------------+---------------+
//        |     301      |  302  +----+  |          +----+ y=30
//        |              |       |lake|  |          |501 |
//   y=20 +------+-------+------++----+--+          +----+ y=20
//        | 101  |  102 +----+  |     /  |
//        |      |      |164 |  | 104/   |          +---------+ y=10
//        |      |      +----+  |   / 103|          |   501   |
//   y=0  +------+--------------+--------+          +---------+ y=0
//       x=0    20     26  34  40       60         70        90
//
// 301's south edge runs over 101 and half of 102 (a T-junction at (20, 20)); 103 and 104 split
// a square along its diagonal from (40, 0) to (60, 20); 102 has a hole that is district 164;
// 302 has a lake that is in no district; 501 is a MultiPolygon of two islands.
const Box k101{0, 0, 20, 20}, k102{20, 0, 40, 20}, k164{26, 6, 34, 14}, k10x{40, 0, 60, 20},
    k301{0, 20, 30, 40}, k302{30, 20, 60, 40}, kLake{45, 25, 55, 35}, kIslandA{70, 0, 90, 10},
    kIslandB{70, 20, 80, 30};

std::string ring(const std::vector<std::pair<int, int>>& ticks) {
  std::string s = "[";
  for (size_t i = 0; i <= ticks.size(); ++i) {
    auto [x, y] = ticks[i % ticks.size()];  // closed: the first point again
    s += fmt::format("{}[{},{}]", i ? "," : "", lon_of(x), lat_of(y));
  }
  return s + "]";
}

std::string box_ring(const Box& b, bool clockwise = false) {
  if (clockwise) return ring({{b.x0, b.y0}, {b.x0, b.y1}, {b.x1, b.y1}, {b.x1, b.y0}});
  return ring({{b.x0, b.y0}, {b.x1, b.y0}, {b.x1, b.y1}, {b.x0, b.y1}});
}

std::string feature(int boro_cd, const std::string& name, const std::string& geometry) {
  return fmt::format(
      R"({{"type":"Feature","properties":{{"BoroCD":{},"name":"{}"}},"geometry":{}}})", boro_cd,
      name, geometry);
}

std::string polygon(const std::vector<std::string>& rings) {
  std::string s = R"({"type":"Polygon","coordinates":[)";
  for (size_t i = 0; i < rings.size(); ++i) s += (i ? "," : "") + rings[i];
  return s + "]}";
}

std::string city_geojson() {
  std::vector<std::string> f = {
      feature(101, "Downtown", polygon({box_ring(k101)})),
      feature(102, "Parkside", polygon({box_ring(k102), box_ring(k164, true)})),
      feature(164, "The Park", polygon({box_ring(k164)})),
      feature(103, "Harbour East", polygon({ring({{40, 0}, {60, 0}, {60, 20}})})),
      feature(104, "Harbour West", polygon({ring({{40, 0}, {60, 20}, {40, 20}})})),
      // 301's ring has no vertex at (20, 20), where 101 and 102 meet below it.
      feature(301, "Heights", polygon({box_ring(k301)})),
      feature(302, "Lakeside", polygon({box_ring(k302), box_ring(kLake, true)})),
      fmt::format(R"({{"type":"Feature","properties":{{"BoroCD":501,"name":"Islands"}},"geometry":)"
                  R"({{"type":"MultiPolygon","coordinates":[[{}],[{}]]}}}})",
                  box_ring(kIslandA), box_ring(kIslandB)),
  };
  std::string s = R"({"type":"FeatureCollection","features":[)";
  for (size_t i = 0; i < f.size(); ++i) s += (i ? ",\n" : "") + f[i];
  return s + "]}\n";
}

// Half-open in both directions: a box holds its west and south edges, not its east and north
// ones. That is the documented rule seen from one area: a point on a north-south edge belongs
// to the area east of it, on an east-west edge to the one north of it.
bool in(const Box& b, double x, double y) { return x >= b.x0 && x < b.x1 && y >= b.y0 && y < b.y1; }

// The district of a point in ticks, from the drawing alone; 0 = no district. Points exactly on
// the diagonal are not asked (either of 103 and 104 may take them).
int expected_district(double x, double y) {
  if (in(k164, x, y)) return 164;
  if (in(k101, x, y)) return 101;
  if (in(k102, x, y)) return 102;
  if (in(k10x, x, y)) return x - 40 > y ? 103 : 104;
  if (in(k301, x, y)) return 301;
  if (in(kLake, x, y)) return 0;
  if (in(k302, x, y)) return 302;
  if (in(kIslandA, x, y) || in(kIslandB, x, y)) return 501;
  return 0;
}

// (60, 20), its north-east end, is on the east and north outer edges: in no district.
bool on_diagonal(double x, double y) { return x >= 40 && x < 60 && x - 40 == y; }

// NYC's community board names: "07 BROOKLYN" is BoroCD 307.
const std::map<int, std::string> kBorough = {
    {1, "MANHATTAN"}, {2, "BRONX"}, {3, "BROOKLYN"}, {5, "STATEN ISLAND"}};
std::string board_of(int district) {
  if (district == 0) return "0 Unspecified";
  return fmt::format("{:02} {}", district % 100, kBorough.at(district / 100));
}

struct Ticket {
  double x, y;  // ticks
  std::string kind;
};

TEST(AreaIndex, DrawnCityTicketsLandInTheirDistrict) {
  const auto dir =
      std::filesystem::temp_directory_path() / fmt::format("gw-drawn-city-{}", getpid());
  std::filesystem::create_directories(dir);
  const auto districts_file = dir / "community-districts.geojson";
  std::ofstream(districts_file) << city_geojson();

  // Tickets: on every kind of edge and vertex, in the hole, the lake and on the islands, in the
  // water, outside the city, on the diagonal, and a spread on and off the tick lattice.
  std::vector<Ticket> tickets = {
      {20, 10, "on the 101|102 edge"},
      {40, 10, "on the 102|104 edge"},
      {10, 20, "on the 101/301 edge"},
      {25, 20, "on the 102/301 edge"},
      {35, 20, "on the 104/302 edge"},
      {30, 30, "on the 301|302 edge"},
      {20, 20, "T-junction vertex"},
      {30, 20, "vertex of 102, 301, 302"},
      {40, 20, "vertex of 102, 104, 302"},
      {26, 10, "west edge of the hole"},
      {34, 10, "east edge of the hole"},
      {30, 6, "south edge of the hole"},
      {30, 14, "north edge of the hole"},
      {26, 6, "corner of the hole"},
      {30, 10, "in the hole"},
      {50, 30, "in the lake"},
      {45, 30, "west shore of the lake"},
      {55, 30, "east shore of the lake"},
      {50, 35, "north shore of the lake"},
      {80, 5, "on the first island"},
      {75, 25, "on the second island"},
      {80, 15, "in the water between the islands"},
      {65, 10, "in the water off 103"},
      {0, 10, "west edge of the city"},
      {10, 0, "south edge of the city"},
      {60, 10, "east edge of the city"},
      {10, 40, "north edge of the city"},
      {-30, 50, "far outside"},
      {50, 10, "on the diagonal"},
      {40, 0, "south end of the diagonal"},
  };
  std::mt19937 rng(2011);
  std::uniform_int_distribution<int> lattice_x(-5, 95), lattice_y(-5, 45);
  std::uniform_real_distribution<double> jitter(-0.45, 0.45);
  auto tick_x = [&] { return static_cast<double>(lattice_x(rng)); };
  auto tick_y = [&] { return static_cast<double>(lattice_y(rng)); };
  for (int i = 0; i < 400; ++i) {
    const double x = tick_x();
    tickets.push_back({x, tick_y(), "on the lattice"});
  }
  for (int i = 0; i < 400; ++i) {
    // Off the lattice by at least 0.05 ticks, so never on a straight edge; off the diagonal too.
    const double x = tick_x() + 0.5 + jitter(rng);
    const double y = tick_y() + 0.5 + jitter(rng);
    if (std::abs(x - 40 - y) < 0.01) continue;
    tickets.push_back({x, y, "off the lattice"});
  }

  // The CSV, 311 style: quoted fields with commas, and some rows without coordinates (their
  // board is known, their place is not).
  const auto tickets_file = dir / "tickets.csv";
  size_t without_coords = 0;
  {
    std::ofstream csv(tickets_file);
    csv << "Unique Key,Created Date,Complaint Type,Incident Address,Community "
           "Board,Latitude,Longitude\n";
    for (size_t i = 0; i < tickets.size(); ++i) {
      const Ticket& t = tickets[i];
      const int district = on_diagonal(t.x, t.y) ? 104 : expected_district(t.x, t.y);
      csv << fmt::format(
          "{},01/02/2011 03:04:05 PM,\"Noise - Street/Sidewalk\",\"{}, Main St\",{},{},{}\n",
          100000 + i, i, board_of(district), lat_of(t.y), lon_of(t.x));
      if (i % 7 == 3) {
        csv << fmt::format("{},01/02/2011 03:04:05 PM,Street Condition,,{},,\n", 900000 + i,
                           board_of(district));
        ++without_coords;
      }
    }
  }

  std::vector<std::string> warnings;
  auto layer = load_layer(districts_file,
                          {.level_name = "community_district", .id_property = "BoroCD"}, &warnings);
  ASSERT_TRUE(layer.has_value()) << layer.error().message;
  EXPECT_TRUE(warnings.empty()) << warnings.size() << " warnings, the first: " << warnings.front();
  ASSERT_EQ(layer->size(), 8u);
  std::set<std::string> codes;
  for (const Area& a : *layer) codes.insert(a.code);
  EXPECT_EQ(codes, (std::set<std::string>{"101", "102", "103", "104", "164", "301", "302", "501"}))
      << "numeric BoroCD values are codes without decimals";
  auto idx = AreaIndex::build({std::move(*layer)});
  ASSERT_TRUE(idx.has_value()) << idx.error().message;

  std::ifstream in(tickets_file);
  std::string line;
  std::getline(in, line);
  auto header = split_csv_line(line);
  auto col = [&](const std::string& name) {
    return static_cast<size_t>(std::find(header.begin(), header.end(), name) - header.begin());
  };
  const size_t c_board = col("Community Board"), c_lat = col("Latitude"), c_lon = col("Longitude"),
               c_key = col("Unique Key");
  ASSERT_LT(c_lon, header.size());
  std::map<std::string, int> borough_number;
  for (const auto& [n, name] : kBorough) borough_number[name] = n;
  size_t rows = 0, no_coords = 0, located = 0, outside = 0, diagonal = 0;
  for (size_t i = 0; std::getline(in, line); ++i) {
    auto f = split_csv_line(line);
    ASSERT_EQ(f.size(), header.size()) << line;
    ++rows;
    if (f[c_lat].empty() || f[c_lon].empty()) {
      ++no_coords;
      continue;
    }
    const std::string& board = f[c_board];
    const auto sp = board.find(' ');
    std::string expected;
    if (borough_number.count(board.substr(sp + 1)))
      expected = std::to_string(borough_number.at(board.substr(sp + 1)) * 100 +
                                std::stoi(board.substr(0, sp)));
    const double lon = std::stod(f[c_lon]), lat = std::stod(f[c_lat]);
    const Area* a = (*idx)->locate(LonLat{.lon = lon, .lat = lat});
    const std::string got = a ? a->code : "";
    const size_t t = static_cast<size_t>(std::stoul(f[c_key]) - 100000);
    ASSERT_LT(t, tickets.size());
    if (on_diagonal(tickets[t].x, tickets[t].y)) {
      // Exactly one of the two districts either side.
      EXPECT_TRUE(got == "103" || got == "104")
          << f[c_key] << " on the diagonal -> " << (got.empty() ? "outside" : got);
      ++diagonal;
      continue;
    }
    EXPECT_EQ(got, expected) << f[c_key] << " (" << tickets[t].kind << ", ticks " << tickets[t].x
                             << "," << tickets[t].y << ") board \"" << board << "\"";
    ++(got.empty() ? outside : located);
  }
  EXPECT_EQ(rows, tickets.size() + without_coords);
  EXPECT_EQ(no_coords, without_coords);
  EXPECT_GT(without_coords, 100u);
  EXPECT_GE(diagonal, 2u);
  EXPECT_GT(outside, 100u) << "water and land beyond the city";
  EXPECT_GT(located, 400u);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace gridwatch::geo
