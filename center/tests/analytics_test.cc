// The analytics' arithmetic: Gi*, Benjamini–Hochberg, Mann–Kendall, the emerging hot spot
// classes and the count model of anomalies, against figures worked out by hand.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <numbers>
#include <vector>

#include "gridwatch/center/analytics/counts.h"
#include "gridwatch/center/analytics/gistar.h"
#include "gridwatch/center/analytics/maps.h"
#include "gridwatch/center/analytics/trend.h"

namespace gridwatch::center::analytics {
namespace {

// A rook lattice of w × h cells (row-major), each with itself.
Weights lattice(size_t w, size_t h) {
  std::vector<std::pair<size_t, size_t>> pairs;
  for (size_t y = 0; y < h; ++y)
    for (size_t x = 0; x < w; ++x) {
      if (x + 1 < w) pairs.emplace_back(y * w + x, y * w + x + 1);
      if (y + 1 < h) pairs.emplace_back(y * w + x, (y + 1) * w + x);
    }
  return from_pairs(w * h, pairs, true);
}

TEST(GiStar, MatchesTheFormulaWorkedByHandOnALine) {
  // Five cells in a line, each with itself and its neighbours: x = 1 2 3 4 10.
  // n = 5, mean 4, population variance (9+4+1+0+36)/5 = 10.
  // Cell 4 (x = 10): neighbourhood {3, 4}: sum 14, W = 2: (14 − 8) / √(10 (5·2 − 4) / 4) = 6 / √15.
  // Cell 0: {0, 1}: sum 3: (3 − 8) / √15. Cell 2: {1, 2, 3}: sum 9, W = 3: (9 − 12) / √(10·6/4) = −3/√15.
  const std::vector<double> x = {1, 2, 3, 4, 10};
  const Weights w = lattice(5, 1);
  const auto z = gi_star(x, w);
  ASSERT_EQ(z.size(), 5u);
  EXPECT_NEAR(z[4], 6 / std::sqrt(15.0), 1e-12);
  EXPECT_NEAR(z[0], -5 / std::sqrt(15.0), 1e-12);
  EXPECT_NEAR(z[2], -3 / std::sqrt(15.0), 1e-12);
}

TEST(GiStar, IsUndefinedWithoutVarianceAndNeverSignificant) {
  const std::vector<double> x(9, 3.0);
  const auto r = hot_and_cold(x, lattice(3, 3), 0.05);
  for (const CellResult& c : r) {
    EXPECT_TRUE(std::isnan(c.z));
    EXPECT_EQ(c.p, 1.0);
    EXPECT_EQ(c.spot, 0);
  }
}

TEST(GiStar, FindsAPlantedClusterAndNothingElse) {
  // 15 × 15 cells of 2 cases; a 3 × 3 block in the middle has 12.
  std::vector<double> x(225, 2.0);
  for (size_t y = 6; y <= 8; ++y)
    for (size_t c = 6; c <= 8; ++c) x[y * 15 + c] = 12;
  const auto r = hot_and_cold(x, lattice(15, 15), 0.05);
  EXPECT_EQ(r[7 * 15 + 7].spot, 1);
  EXPECT_GT(r[7 * 15 + 7].z, 5);
  EXPECT_EQ(r[0].spot, 0);  // the corner is low, but not significantly after FDR
  size_t hot = 0;
  for (const auto& c : r) hot += c.spot > 0 ? 1 : 0;
  EXPECT_GE(hot, 9u);
  EXPECT_LE(hot, 21u);  // the block and at most its rim
}

TEST(GiStar, SkewnessOfANeighbourhoodSumMatchesAllItsDraws) {
  // Six cells, neighbourhoods of 2 and 3 (with itself): the third central moment of the sum of W
  // values drawn without replacement, over all C(6, W) draws, against the closed form.
  const std::vector<double> x = {0, 0, 1, 1, 2, 9};
  Weights w;
  w.neighbours = {{0, 1}, {0, 1, 2}, {1, 2, 3}, {2, 3, 4}, {3, 4, 5}, {4, 5}};
  const auto g = gi_star_skewness(x, w);
  for (size_t cell : {size_t{0}, size_t{1}}) {
    const size_t k = w.neighbours[cell].size();
    std::vector<double> sums;
    for (unsigned mask = 0; mask < 64; ++mask) {
      if (static_cast<size_t>(__builtin_popcount(mask)) != k) continue;
      double s = 0;
      for (size_t i = 0; i < 6; ++i)
        if (mask & (1u << i)) s += x[i];
      sums.push_back(s);
    }
    double mean = 0, m2 = 0, m3 = 0;
    for (double s : sums) mean += s / double(sums.size());
    for (double s : sums) {
      m2 += (s - mean) * (s - mean) / double(sums.size());
      m3 += (s - mean) * (s - mean) * (s - mean) / double(sums.size());
    }
    EXPECT_NEAR(g[cell], m3 / std::pow(m2, 1.5), 1e-12) << "cell " << cell;
  }
  EXPECT_GT(g[0], 0);  // one large count: the sums are skewed to the right
}

TEST(GiStar, SkewCorrectionLengthensOnlyTheLongTail) {
  // Right-skewed sums (γ > 0): a high z is less rare than the normal says: p grows by
  // 2 φ(z) γ/6 (z² − 1); a low z keeps the normal p.
  const double phi4 = std::exp(-8.0) / std::sqrt(2 * std::numbers::pi);
  EXPECT_NEAR(skew_corrected_p(4.0, 0.2), two_sided_p(4.0) + 2 * phi4 * 0.2 / 6 * 15, 1e-15);
  EXPECT_GT(skew_corrected_p(4.0, 0.2), two_sided_p(4.0));
  EXPECT_EQ(skew_corrected_p(-4.0, 0.2), two_sided_p(-4.0));
  EXPECT_EQ(skew_corrected_p(-4.0, -0.2), skew_corrected_p(4.0, 0.2));  // mirrored
  EXPECT_EQ(skew_corrected_p(2.5, 0.0), two_sided_p(2.5));
  // A strong cluster skews the map strongly; its far tail stays tiny, still a discovery.
  EXPECT_LT(skew_corrected_p(9.0, 5.0), 1e-15);
  EXPECT_EQ(skew_corrected_p(0.1, 1.0), two_sided_p(0.1));  // never below the normal p
}

TEST(DistanceBand, HexagonCentresFindTheirSixNeighbours) {
  // Flat-topped hexagons of edge 1: columns 1.5 apart, rows √3 apart, odd columns half a row up.
  std::vector<std::pair<double, double>> centres;
  for (int c = 0; c < 5; ++c)
    for (int r = 0; r < 5; ++r) centres.emplace_back(1.5 * c, std::sqrt(3.0) * (r + (c % 2 ? 0.5 : 0.0)));
  const Weights w = distance_band(centres, std::sqrt(3.0) * 1.01, true);
  EXPECT_EQ(w.neighbours[2 * 5 + 2].size(), 7u);  // an inner cell: itself and six around
  EXPECT_EQ(w.neighbours[0].size(), 3u);          // the corner (0, 0): itself, above, and (1, 0)
}

TEST(TwoSidedP, IsTheNormalsBothTails) {
  EXPECT_NEAR(two_sided_p(1.959963984540054), 0.05, 1e-12);
  EXPECT_NEAR(two_sided_p(-1.959963984540054), 0.05, 1e-12);
  EXPECT_NEAR(two_sided_p(0), 1.0, 1e-15);
  EXPECT_EQ(two_sided_p(std::numeric_limits<double>::quiet_NaN()), 1.0);
}

TEST(BenjaminiHochberg, StepsUpAsTheProcedureSays) {
  // m = 6, q = 0.05: thresholds 0.00833, 0.01667, 0.025, 0.0333, 0.04167, 0.05. Sorted p: 0.001,
  // 0.008, 0.039, 0.041, 0.042, 0.6 → the largest k with p_(k) ≤ k q / m is k = 2 (0.039 > 0.025,
  // 0.041 > 0.0333, 0.042 > 0.04167): the first two only. A naive p < 0.05 would take five.
  const std::vector<double> p = {0.041, 0.001, 0.6, 0.008, 0.042, 0.039};
  const auto d = benjamini_hochberg(p, 0.05);
  EXPECT_EQ(d, (std::vector<bool>{false, true, false, true, false, false}));
  // Step-up: a later p under its threshold takes the earlier ones with it. m = 4: 0.02 > 0.0125,
  // but p_(4) = 0.05 ≤ 0.05 → all four.
  const std::vector<double> all = {0.05, 0.02, 0.03, 0.04};
  EXPECT_EQ(benjamini_hochberg(all, 0.05), (std::vector<bool>{true, true, true, true}));
  // NaN counts in m and is never a discovery.
  const std::vector<double> with_nan = {0.01, std::numeric_limits<double>::quiet_NaN()};
  EXPECT_EQ(benjamini_hochberg(with_nan, 0.05), (std::vector<bool>{true, false}));
}

// Mann–Kendall against a table worked by hand (S, Var S with ties, Z with continuity, p).
struct McCase {
  std::vector<double> x;
  double s, var_s, z;
};

TEST(MannKendall, MatchesTheHandComputedTable) {
  const std::vector<McCase> table = {
      // 1 2 3 4 5: ten rising pairs, S = 10; Var = 5·4·15/18 = 16.667; Z = 9/√16.667 = 2.20454.
      {{1, 2, 3, 4, 5}, 10, 50.0 / 3.0, 9 / std::sqrt(50.0 / 3.0)},
      // 1 1 2 3: pairs (1,1) 0, and five rising: S = 5; one tie of 2: Var = (4·3·13 − 2·1·9)/18 = 7.6667.
      {{1, 1, 2, 3}, 5, 138.0 / 18.0, 4 / std::sqrt(138.0 / 18.0)},
      // 5 3 4 1 2: S = −(4+1+2) + (1 −1 −1 ... ) worked pair by pair: (5,3)− (5,4)− (5,1)− (5,2)−
      // (3,4)+ (3,1)− (3,2)− (4,1)− (4,2)− (1,2)+ → S = 2 − 8 = −6; Var = 16.667; Z = −5/4.0825.
      {{5, 3, 4, 1, 2}, -6, 50.0 / 3.0, -5 / std::sqrt(50.0 / 3.0)},
      // 2 2 2: no pair differs: S = 0, Var = (3·2·11 − 3·2·11)/18 = 0, Z = 0.
      {{2, 2, 2}, 0, 0, 0},
  };
  for (const McCase& c : table) {
    const MannKendall r = mann_kendall(c.x);
    EXPECT_DOUBLE_EQ(r.s, c.s);
    EXPECT_NEAR(r.var_s, c.var_s, 1e-12);
    EXPECT_NEAR(r.z, c.z, 1e-12);
    EXPECT_NEAR(r.p, two_sided_p(c.z), 1e-15);
  }
  EXPECT_EQ(mann_kendall(table[0].x).trend, 1);   // p = 0.0275
  EXPECT_EQ(mann_kendall(table[2].x).trend, 0);   // p = 0.221
  EXPECT_NEAR(mann_kendall(table[0].x).p, 0.027486, 1e-6);
}

std::vector<CellResult> steps(std::initializer_list<int> spots, double z0 = 3, double dz = 0) {
  std::vector<CellResult> out;
  double z = z0;
  for (int s : spots) {
    out.push_back({s == 0 ? 0.5 : s * z, 0.001, s});
    z += dz;
  }
  return out;
}

TEST(Emerging, ClassesFollowTheDocumentedRules) {
  using E = Emerging;
  // Hot in all 13 steps with rising z: intensifying; flat z: persistent; falling: diminishing.
  EXPECT_EQ(classify_emerging(steps({1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, 3, 0.5)).kind, E::kIntensifyingHot);
  auto flat = steps({1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1});
  for (size_t i = 0; i < flat.size(); ++i) flat[i].z = 3 + (i % 2 ? 0.1 : -0.1);
  EXPECT_EQ(classify_emerging(flat).kind, E::kPersistentHot);
  EXPECT_EQ(classify_emerging(steps({1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, 9, -0.5)).kind, E::kDiminishingHot);
  // 12 of 13 (≥ 90 %) hot, the final one too: still of the "mostly hot" classes.
  EXPECT_EQ(classify_emerging(steps({0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, 3, 0.5)).kind, E::kIntensifyingHot);
  // 11 of 13 is under 90 %: sporadic (on and off, never cold).
  EXPECT_EQ(classify_emerging(steps({0, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1})).kind, E::kSporadicHot);
  // Only the final step: new; a run of the last three and never before: consecutive.
  EXPECT_EQ(classify_emerging(steps({0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1})).kind, E::kNewHot);
  EXPECT_EQ(classify_emerging(steps({0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1})).kind, E::kConsecutiveHot);
  // Hot before the final run, cold once: oscillating; hot before, never cold: sporadic.
  EXPECT_EQ(classify_emerging(steps({0, -1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1})).kind, E::kOscillatingHot);
  EXPECT_EQ(classify_emerging(steps({0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1})).kind, E::kSporadicHot);
  // Mostly hot, but not in the final step: historical.
  EXPECT_EQ(classify_emerging(steps({1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0})).kind, E::kHistoricalHot);
  // Cold side mirrored: a cold spot growing colder is an intensifying cold spot.
  EXPECT_EQ(classify_emerging(steps({-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1}, 3, 0.5)).kind,
            E::kIntensifyingCold);
  EXPECT_EQ(classify_emerging(steps({0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, -1})).kind, E::kNewCold);
  EXPECT_EQ(classify_emerging(steps({0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})).kind, E::kNone);
  EXPECT_EQ(to_string(E::kIntensifyingHot), "intensifying_hot");
  EXPECT_EQ(name_zh(E::kIntensifyingHot), "加剧热点");
}

TEST(Counts, PoissonTailMatchesItsClosedForm) {
  // A baseline of mean 2 and variance 2 (φ = 1): Poisson(2). P(X ≥ 5) = 1 − e^−2 (1 + 2 + 2 + 4/3 + 2/3).
  const std::vector<double> days = {1, 2, 3, 2, 1, 3, 2, 2};  // mean 2, sample variance 4/7 < 2 → φ = 1
  const CountBaseline b = count_baseline(days);
  EXPECT_DOUBLE_EQ(b.mean, 2.0);
  EXPECT_DOUBLE_EQ(b.dispersion, 1.0);
  EXPECT_NEAR(upper_tail(b, 5), 1 - std::exp(-2.0) * (1 + 2 + 2 + 4.0 / 3 + 2.0 / 3), 1e-14);
  EXPECT_NEAR(upper_tail(b, 1), 1 - std::exp(-2.0), 1e-14);
  EXPECT_EQ(upper_tail(b, 0), 1.0);
  // The 99 % bound: P(X ≤ 5) = 0.98344, P(X ≤ 6) = 0.99547 → 6.
  EXPECT_EQ(upper_bound(b, 0.01), 6.0);
}

TEST(Counts, OverdispersedBaselineWidensTheTailAndNeverGoesNegative) {
  // Mean 4, sample variance 16 → φ = 4: negative binomial with r = 4/3. A day of 12 is rare for a
  // Poisson(4) (p = 0.000915) but not for this baseline.
  const std::vector<double> days = {0, 0, 8, 0, 8, 8, 0, 8};
  const CountBaseline b = count_baseline(days);
  EXPECT_DOUBLE_EQ(b.mean, 4.0);
  EXPECT_NEAR(b.dispersion, (128.0 / 7.0) / 4.0, 1e-12);
  const CountBaseline poisson{.mean = 4, .dispersion = 1, .days = 8};
  EXPECT_NEAR(upper_tail(poisson, 12), 0.000915229147, 1e-11);
  EXPECT_GT(upper_tail(b, 12), 0.03);
  // NB pmf at 0 with r = μ/(φ−1): (r/(r+μ))^r.
  const double r = 4.0 / (b.dispersion - 1);
  EXPECT_NEAR(1 - upper_tail(b, 1), std::pow(r / (r + 4.0), r), 1e-12);
  EXPECT_GE(upper_bound(b, 0.05), 0.0);
}

TEST(Counts, AnAllZeroBaselineStillExpectsHalfACount) {
  const std::vector<double> days(28, 0.0);
  const CountBaseline b = count_baseline(days);
  EXPECT_NEAR(b.mean, 0.5 / 28, 1e-15);
  EXPECT_GT(upper_tail(b, 1), 0.01);  // one case after 28 quiet days: not an alarm at 1 %
  EXPECT_LT(upper_tail(b, 3), 1e-5);  // three is
}

TEST(Anomalies, FlagsTheSeriesThatJumpedAndNotTheBusyOne) {
  std::vector<DailyCount> counts;
  for (int d = 0; d < 28; ++d) {
    counts.push_back({"sanitation", "S1", "一街道", d, double(d % 3)});       // 0–2 a day
    counts.push_back({"traffic", "S2", "二街道", d, 20.0 + double(d % 5)});   // 20–24 a day
  }
  counts.push_back({"sanitation", "S1", "一街道", 28, 14});  // today: 14 against ~1
  counts.push_back({"traffic", "S2", "二街道", 28, 25});     // today: 25 against ~22
  counts.push_back({"water", "S3", "三街道", 28, 1});        // one case after 28 quiet days: not a surge
  const auto j = anomalies(counts, 28, 28, 0.05);
  EXPECT_EQ(j.at("series"), 3);
  EXPECT_EQ(j.at("items")[2].at("area"), "S3");
  EXPECT_EQ(j.at("items")[2].at("p"), 1.0);
  EXPECT_EQ(j.at("items")[2].at("alarm"), false);
  EXPECT_EQ(j.at("alarms"), 1);
  EXPECT_EQ(j.at("items")[0].at("area"), "S1");
  EXPECT_EQ(j.at("items")[0].at("alarm"), true);
  EXPECT_EQ(j.at("items")[1].at("alarm"), false);
  EXPECT_NEAR(j.at("items")[0].at("expected").get<double>(), 27.0 / 28.0, 1e-12);  // 10 zeros, 9 ones, 9 twos
}

TEST(Hotspots, GeoJsonHoldsTheSignificantCellsOnly) {
  CellGrid g;
  for (size_t y = 0; y < 9; ++y)
    for (size_t x = 0; x < 9; ++x) {
      Cell c;
      c.id = "c" + std::to_string(y * 9 + x);
      c.x = double(x) * 100;
      c.y = double(y) * 100;
      c.counts = {(x >= 3 && x <= 5 && y >= 3 && y <= 5) ? 20.0 : 1.0};
      g.cells.push_back(c);
    }
  g.band_m = 101;  // rook neighbours
  const auto j = hotspots(g, 0.05);
  EXPECT_EQ(j.at("type"), "FeatureCollection");
  EXPECT_EQ(j.at("cell_count"), 81);
  ASSERT_GE(j.at("hot").get<int>(), 1);
  bool centre = false;
  for (const auto& f : j.at("features")) {
    EXPECT_NE(f.at("properties").at("spot"), "none");
    centre = centre || f.at("id") == "c40";
  }
  EXPECT_TRUE(centre);
}

}  // namespace
}  // namespace gridwatch::center::analytics
