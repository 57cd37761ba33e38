#pragma once
// Is today's count of a series (one category group in one street) out of the ordinary, against
// the days before it? A count model, not a Gaussian: the baseline's mean μ and its dispersion
// φ = max(1, s² / μ) give a negative binomial (a Poisson when φ = 1) for today, and today's
// count is tested by its upper tail P(X ≥ x). Its bounds are counts, never negative.
//
// This is the one-step form of a negative binomial CUSUM (a Shewhart chart on the upper tail);
// the alarms of one day over all series pass a Benjamini–Hochberg FDR (gistar.h).

#include <cstddef>
#include <span>

namespace gridwatch::center::analytics {

struct CountBaseline {
  double mean = 0;        // μ over the baseline days (at least half a count over them)
  double dispersion = 1;  // φ: the variance is φ μ
  size_t days = 0;
};
// A baseline of all zeros still expects something: half a count over its days (documented).
CountBaseline count_baseline(std::span<const double> days);

// P(X ≥ x) under the baseline's negative binomial (Poisson when φ = 1); 1 for x ≤ 0.
double upper_tail(const CountBaseline& b, double x);
// The smallest count k with P(X > k) < alpha: a count above it is unusual at level alpha.
double upper_bound(const CountBaseline& b, double alpha);

}  // namespace gridwatch::center::analytics
