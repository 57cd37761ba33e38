#include "gridwatch/center/analytics/counts.h"

#include <algorithm>
#include <cmath>

namespace gridwatch::center::analytics {
namespace {

// log P(X = k) of the baseline's distribution.
struct Pmf {
  double mu;
  double r;  // the negative binomial's size; infinite for a Poisson
  bool poisson;

  explicit Pmf(const CountBaseline& b) : mu(b.mean), r(0), poisson(b.dispersion <= 1.0 + 1e-12) {
    if (!poisson) r = mu / (b.dispersion - 1.0);
  }
  double log_at(double k) const {
    if (poisson) return k * std::log(mu) - mu - std::lgamma(k + 1);
    return std::lgamma(k + r) - std::lgamma(r) - std::lgamma(k + 1) + r * std::log(r / (r + mu)) +
           k * std::log(mu / (r + mu));
  }
};

}  // namespace

CountBaseline count_baseline(std::span<const double> days) {
  CountBaseline b;
  b.days = days.size();
  if (days.empty()) {
    b.mean = 0.5;
    return b;
  }
  double sum = 0;
  for (double v : days) sum += v;
  const double mean = sum / double(days.size());
  double ss = 0;
  for (double v : days) ss += (v - mean) * (v - mean);
  const double var = days.size() > 1 ? ss / double(days.size() - 1) : mean;
  b.mean = std::max(mean, 0.5 / double(days.size()));
  b.dispersion = mean > 0 ? std::max(1.0, var / mean) : 1.0;
  return b;
}

double upper_tail(const CountBaseline& b, double x) {
  const double k0 = std::ceil(x);
  if (k0 <= 0) return 1.0;
  const Pmf f(b);
  // Each term from its logarithm (a large mean underflows P(0)): below the mean, one minus the
  // terms under x; above it, the terms from x upwards until they no longer count.
  if (k0 <= b.mean) {
    double below = 0;
    for (double k = 0; k < k0; k += 1) below += std::exp(f.log_at(k));
    return std::clamp(1.0 - below, 0.0, 1.0);
  }
  double sum = 0;
  for (double k = k0; k < k0 + 1e6; k += 1) {
    const double term = std::exp(f.log_at(k));
    sum += term;
    if (term <= sum * 1e-17) break;
  }
  return std::min(1.0, sum);
}

double upper_bound(const CountBaseline& b, double alpha) {
  // The first k with P(X ≤ k) > 1 − alpha.
  const Pmf f(b);
  double cdf = 0;
  double k = 0;
  for (; k < 1e7; k += 1) {
    cdf += std::exp(f.log_at(k));
    if (cdf > 1.0 - alpha) break;
  }
  return k;
}

}  // namespace gridwatch::center::analytics
