#include "gridwatch/center/analytics/gistar.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <numbers>
#include <numeric>
#include <unordered_map>

namespace gridwatch::center::analytics {
namespace {

void symmetric_sorted(Weights& w, bool include_self) {
  for (size_t i = 0; i < w.size(); ++i) {
    auto& row = w.neighbours[i];
    if (include_self) row.push_back(i);
    std::sort(row.begin(), row.end());
    row.erase(std::unique(row.begin(), row.end()), row.end());
  }
}

}  // namespace

Weights distance_band(std::span<const std::pair<double, double>> centres, double band, bool include_self) {
  Weights w;
  w.neighbours.resize(centres.size());
  if (!(band > 0)) {
    symmetric_sorted(w, include_self);
    return w;
  }
  // Buckets of band × band: a neighbour is in the same bucket or one of the eight around it.
  auto key = [band](double x, double y) {
    const auto bx = static_cast<int64_t>(std::floor(x / band));
    const auto by = static_cast<int64_t>(std::floor(y / band));
    return std::pair{bx, by};
  };
  struct Hash {
    size_t operator()(const std::pair<int64_t, int64_t>& k) const {
      return std::hash<int64_t>{}(k.first * 73856093) ^ std::hash<int64_t>{}(k.second * 19349663);
    }
  };
  std::unordered_map<std::pair<int64_t, int64_t>, std::vector<size_t>, Hash> buckets;
  for (size_t i = 0; i < centres.size(); ++i) buckets[key(centres[i].first, centres[i].second)].push_back(i);
  const double band2 = band * band;
  for (size_t i = 0; i < centres.size(); ++i) {
    const auto [bx, by] = key(centres[i].first, centres[i].second);
    for (int64_t dx = -1; dx <= 1; ++dx)
      for (int64_t dy = -1; dy <= 1; ++dy) {
        auto it = buckets.find({bx + dx, by + dy});
        if (it == buckets.end()) continue;
        for (size_t j : it->second) {
          if (j == i) continue;
          const double ex = centres[i].first - centres[j].first;
          const double ey = centres[i].second - centres[j].second;
          if (ex * ex + ey * ey <= band2) w.neighbours[i].push_back(j);
        }
      }
  }
  symmetric_sorted(w, include_self);
  return w;
}

Weights from_pairs(size_t n, std::span<const std::pair<size_t, size_t>> pairs, bool include_self) {
  Weights w;
  w.neighbours.resize(n);
  for (const auto& [a, b] : pairs) {
    if (a >= n || b >= n || a == b) continue;
    w.neighbours[a].push_back(b);
    w.neighbours[b].push_back(a);
  }
  symmetric_sorted(w, include_self);
  return w;
}

std::vector<double> gi_star(std::span<const double> x, const Weights& w) {
  const size_t n = x.size();
  constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
  std::vector<double> z(n, kNaN);
  if (n < 2 || w.size() != n) return z;
  // Two passes, as R does: the mean, then the squared deviations from it.
  const double mean = std::accumulate(x.begin(), x.end(), 0.0) / double(n);
  double ss = 0;
  for (double v : x) ss += (v - mean) * (v - mean);
  const double s2 = ss / double(n);
  if (!(s2 > 0)) return z;
  for (size_t i = 0; i < n; ++i) {
    double lag = 0;
    for (size_t j : w.neighbours[i]) lag += x[j];
    const auto wi = double(w.neighbours[i].size());  // binary weights: W_i = S1_i = the count
    const double vg = s2 * ((double(n) * wi - wi * wi) / double(n - 1));
    if (vg > 0) z[i] = (lag - wi * mean) / std::sqrt(vg);
  }
  return z;
}

double two_sided_p(double z) {
  if (std::isnan(z)) return 1.0;
  return std::erfc(std::fabs(z) / std::numbers::sqrt2);
}

std::vector<bool> benjamini_hochberg(std::span<const double> p, double q) {
  const size_t m = p.size();
  std::vector<bool> out(m, false);
  std::vector<size_t> order;
  order.reserve(m);
  for (size_t i = 0; i < m; ++i)
    if (!std::isnan(p[i])) order.push_back(i);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return p[a] < p[b]; });
  size_t last = 0;  // the largest rank k (1-based) with p_(k) ≤ k q / m; 0 when none
  for (size_t k = 1; k <= order.size(); ++k)
    if (p[order[k - 1]] <= double(k) * q / double(m)) last = k;
  for (size_t k = 0; k < last; ++k) out[order[k]] = true;
  return out;
}

std::vector<double> gi_star_skewness(std::span<const double> x, const Weights& w) {
  const size_t n = x.size();
  std::vector<double> g(n, 0.0);
  if (n < 3 || w.size() != n) return g;
  const double dn = double(n);
  const double mean = std::accumulate(x.begin(), x.end(), 0.0) / dn;
  double m2 = 0, m3 = 0;
  for (double v : x) {
    m2 += (v - mean) * (v - mean);
    m3 += (v - mean) * (v - mean) * (v - mean);
  }
  m2 /= dn;
  m3 /= dn;
  if (!(m2 > 0)) return g;
  for (size_t i = 0; i < n; ++i) {
    const auto k = double(w.neighbours[i].size());
    const double var = k * m2 * (dn - k) / (dn - 1);
    const double third = k * m3 * (dn - k) * (dn - 2 * k) / ((dn - 1) * (dn - 2));
    if (var > 0) g[i] = third / std::pow(var, 1.5);
  }
  return g;
}

double skew_corrected_p(double z, double gamma) {
  if (std::isnan(z)) return 1.0;
  const double normal = two_sided_p(z);
  // Only the long tail: z on the side the sums are skewed to.
  if (gamma == 0 || (z > 0) != (gamma > 0)) return normal;
  const double g = std::min(std::fabs(gamma), 3.0);  // the term stays monotone in |z| up to γ = 3
  const double a = std::fabs(z);
  const double density = std::exp(-a * a / 2) / std::sqrt(2 * std::numbers::pi);
  const double tail = 0.5 * std::erfc(a / std::numbers::sqrt2) + density * g / 6.0 * (a * a - 1.0);
  return std::clamp(2.0 * tail, normal, 1.0);
}

std::vector<CellResult> hot_and_cold(std::span<const double> x, const Weights& w, double q) {
  const std::vector<double> z = gi_star(x, w);
  const std::vector<double> gamma = gi_star_skewness(x, w);
  std::vector<double> p(z.size());
  for (size_t i = 0; i < z.size(); ++i) p[i] = skew_corrected_p(z[i], gamma[i]);
  const std::vector<bool> found = benjamini_hochberg(p, q);
  std::vector<CellResult> out(z.size());
  for (size_t i = 0; i < z.size(); ++i) {
    out[i].z = z[i];
    out[i].p = p[i];
    out[i].spot = !found[i] ? 0 : (z[i] > 0 ? 1 : -1);
  }
  return out;
}

}  // namespace gridwatch::center::analytics
