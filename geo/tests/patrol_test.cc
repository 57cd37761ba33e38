#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <numbers>
#include <set>

#include "gridwatch/geo/distance.h"
#include "gridwatch/geo/patrol.h"

namespace gridwatch::geo {
namespace {

using std::chrono::seconds;

// A square grid of 500 m × 500 m whose south-west corner is at (116.40, 39.90), and points
// given in metres east and north of that corner (the lattice's own frame).
struct Square {
  static constexpr double kLon0 = 116.40, kLat0 = 39.90, kSide = 500;
  double m_per_lat = kEarthRadiusM * std::numbers::pi / 180;
  double lat1 = kLat0 + kSide / m_per_lat;
  double m_per_lon = m_per_lat * std::cos((kLat0 + lat1) / 2 * std::numbers::pi / 180);
  double lon1 = kLon0 + kSide / m_per_lon;
  LonLat at(double x, double y) const { return {kLon0 + x / m_per_lon, kLat0 + y / m_per_lat}; }
  std::array<double, 4> bbox() const { return {kLon0, kLat0, lon1, lat1}; }
  CellLattice lattice() const {
    return CellLattice::build(bbox(), 50, [this](LonLat p) {
      return p.lon >= kLon0 && p.lon <= lon1 && p.lat >= kLat0 && p.lat <= lat1;
    });
  }
};

std::set<int> walk(const CellLattice& l, const std::vector<LonLat>& track, double pass_m = 25) {
  std::set<int> out;
  for (size_t i = 1; i < track.size(); ++i)
    for (int c : l.passed(track[i - 1], track[i], pass_m)) out.insert(c);
  return out;
}

TEST(CellLattice, CutsTheGridIntoFiftyMetreCells) {
  const Square sq;
  const CellLattice l = sq.lattice();
  EXPECT_EQ(l.columns(), 10);
  EXPECT_EQ(l.rows(), 10);
  EXPECT_EQ(l.cells(), 100u);
  // A cell's square is 50 m on each side.
  const Ring r = l.cell_ring(0);
  ASSERT_EQ(r.size(), 5u);
  EXPECT_NEAR(distance_m(r[0], r[1]), 50, 0.1);
  EXPECT_NEAR(distance_m(r[1], r[2]), 50, 0.1);
}

TEST(CellLattice, AnLShapedRoundCoversTheHandCountedCells) {
  // East along y = 110 m, then north along x = 480 m. Row 2 (centres at y = 125, 15 m away) is
  // passed end to end: 10 cells; row 1 (y = 75, 35 m away) is not. Going north, column 9 (x =
  // 475, 5 m away) adds rows 3..9: 7 cells; column 8 (x = 425) is 55 m away. 17 of 100 cells.
  const Square sq;
  const CellLattice l = sq.lattice();
  const auto cells = walk(l, {sq.at(0, 110), sq.at(480, 110), sq.at(480, 500)});
  EXPECT_EQ(cells.size(), 17u);
  for (int c = 0; c < 10; ++c) EXPECT_TRUE(cells.count(2 * 10 + c)) << "row 2, column " << c;
  for (int r = 3; r < 10; ++r) EXPECT_TRUE(cells.count(r * 10 + 9)) << "row " << r << ", column 9";
  EXPECT_FALSE(cells.count(1 * 10 + 5));
  EXPECT_FALSE(cells.count(5 * 10 + 8));
}

TEST(CellLattice, ACentreExactlyAtThePassDistanceCounts) {
  // Along y = 100 m: the centres of rows 1 and 2 are both exactly 25 m away.
  const Square sq;
  EXPECT_EQ(walk(sq.lattice(), {sq.at(0, 100), sq.at(500, 100)}).size(), 20u);
}

TEST(CellLattice, TracksOutsideTheGridDoNotCount) {
  const Square sq;
  const CellLattice l = sq.lattice();
  // 20 m south of the grid: the first row's centres are 45 m away.
  EXPECT_TRUE(walk(l, {sq.at(0, -20), sq.at(500, -20)}).empty());
  // A track that crosses the grid counts only the cells inside it.
  const auto cells = walk(l, {sq.at(-1000, 240), sq.at(1500, 240)});
  EXPECT_EQ(cells.size(), 10u);  // row 4, centres 15 m away
  // Cells of the box outside the grid's shape are never counted: a triangle keeps the cells whose
  // centres are below the diagonal x = y (45 of them: 0 + 1 + ... + 9; those on it, a metre off).
  const CellLattice tri = CellLattice::build(sq.bbox(), 50, [&](LonLat p) {
    return (p.lon - Square::kLon0) * sq.m_per_lon > (p.lat - Square::kLat0) * sq.m_per_lat + 1;
  });
  EXPECT_EQ(tri.cells(), 45u);
  EXPECT_EQ(walk(tri, {sq.at(0, 25), sq.at(500, 25)}).size(), 9u);  // row 0 less its column 0
}

TEST(DropGlitches, AJumpOfTwoKilometresInFiveSecondsIsDropped) {
  const Square sq;
  const Timestamp t0{std::chrono::milliseconds{1'800'000'000'000}};
  std::vector<Fix> fixes = {
      {t0, sq.at(0, 0), 5},
      {t0 + seconds(5), sq.at(2000, 0), 30},   // 400 m/s: a glitch
      {t0 + seconds(10), sq.at(20, 0), 5},     // judged from the first fix: 2 m/s
      {t0 + seconds(11), sq.at(80, 0), 50},    // 60 m/s but only 60 m: jitter, kept
      {t0 + seconds(111), sq.at(2080, 0), 10}, // 2 km in 100 s (20 m/s, a bicycle downhill): kept
      {t0 + seconds(111), sq.at(2081, 0), 10}, // the same instant again
  };
  const TrackFilter f = drop_glitches(std::nullopt, fixes);
  ASSERT_EQ(f.kept.size(), 4u);
  ASSERT_EQ(f.glitches.size(), 1u);
  EXPECT_EQ(f.glitches[0].at, t0 + seconds(5));
  EXPECT_EQ(f.repeats, 1u);
  EXPECT_EQ(f.kept[1].at, t0 + seconds(10));
  EXPECT_EQ(f.kept[3].at, t0 + seconds(111));
}

TEST(DropGlitches, TheFirstFixOfABatchIsJudgedFromTheLastOneKeptBefore) {
  const Square sq;
  const Timestamp t0{std::chrono::milliseconds{1'800'000'000'000}};
  const Fix before{t0, sq.at(0, 0), 5};
  // Out of order in the batch, sorted by time: the jump comes first.
  const TrackFilter f = drop_glitches(before, {{t0 + seconds(30), sq.at(60, 0), 5},
                                               {t0 + seconds(2), sq.at(0, 3000), 5}});
  ASSERT_EQ(f.glitches.size(), 1u);
  EXPECT_EQ(f.glitches[0].at, t0 + seconds(2));
  ASSERT_EQ(f.kept.size(), 1u);
  EXPECT_EQ(f.kept[0].at, t0 + seconds(30));
  // A resend of the fix already stored is a repeat, not a new position.
  EXPECT_EQ(drop_glitches(before, {before}).repeats, 1u);
}

}  // namespace
}  // namespace gridwatch::geo
