#pragma once
// Getis-Ord Gi* local statistics over cells with binary neighbour weights, their two-sided
// p-values, and the Benjamini–Hochberg false discovery rate over all cells of one map.
//
// Gi* as R's spdep::localG computes it for a weights list that includes each cell itself
// (spdep::include.self, style "B"): with x̄ and s² the mean and the population variance of x over
// all n cells, W_i = Σ_j w_ij and S1_i = Σ_j w_ij²,
//
//   Gi*_i = (Σ_j w_ij x_j − x̄ W_i) / √( s² (n S1_i − W_i²) / (n − 1) )
//
// which is a z-score. Its p-value here is two-sided (a cell may be hot or cold), corrected for the
// skew of counts (below), and a cell is called hot or cold only when it passes the FDR over all
// cells of the map, never on its own p.

#include <cstddef>
#include <span>
#include <utility>
#include <vector>

namespace gridwatch::center::analytics {

// Binary weights: for each cell the cells that count as its neighbourhood (including itself for
// Gi*). Symmetric when built by the functions below.
struct Weights {
  std::vector<std::vector<size_t>> neighbours;
  size_t size() const { return neighbours.size(); }
};

// Cells i and j are neighbours when their centres (in metres) are at most `band` apart; each
// cell also holds itself when `include_self`. Sorted lists. O(n) with a grid of buckets.
Weights distance_band(std::span<const std::pair<double, double>> centres, double band, bool include_self);
// From unordered pairs of touching cells (polygons sharing a border or a corner).
Weights from_pairs(size_t n, std::span<const std::pair<size_t, size_t>> pairs, bool include_self);

// Gi* z-score of every cell; NaN for every cell when x has no variance (all cells equal) and for
// a cell whose neighbourhood is the whole map (n S1 = W²).
std::vector<double> gi_star(std::span<const double> x, const Weights& w);

// P(|Z| ≥ |z|) for a standard normal Z: erfc(|z| / √2). 1 for NaN.
double two_sided_p(double z);

// Counts are skewed (a few cells with many cases, many with none or one), and so is the sum of a
// neighbourhood under the permutation null Gi* stands on (its W values drawn without replacement
// from the map's): the normal tail then overstates hot spots. The skewness γ_i of that sum, from
// the map's third central moment m3 and second m2:
//   E[(S − W x̄)³] = W m3 (n − W)(n − 2W) / ((n − 1)(n − 2)),  Var S = W m2 (n − W) / (n − 1)
std::vector<double> gi_star_skewness(std::span<const double> x, const Weights& w);
// The two-sided p of z with the one-term Edgeworth correction of the long tail (the side γ leans
// to): P(S ≥ s) ≈ 1 − Φ(|z|) + φ(z) γ/6 (z² − 1), γ capped at 3. Never below the normal p (the
// correction only makes the long tail longer); the short tail keeps the normal p, which is
// conservative there. The normal p when γ = 0.
double skew_corrected_p(double z, double gamma);

// Benjamini–Hochberg at level q: which of the p-values are discoveries (step-up: the largest k
// with p_(k) ≤ k q / m, and every p at or below p_(k)). NaN p-values are never discoveries but
// count in m.
std::vector<bool> benjamini_hochberg(std::span<const double> p, double q);

// A cell of a map: Gi* (as spdep's localG), its two-sided p after the skew correction, and
// +1 hot / −1 cold / 0 after the FDR.
struct CellResult {
  double z = 0;
  double p = 1;
  int spot = 0;
};
std::vector<CellResult> hot_and_cold(std::span<const double> x, const Weights& w, double q);

}  // namespace gridwatch::center::analytics
