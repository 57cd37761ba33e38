#pragma once
// The Mann–Kendall trend test and the classes of an emerging hot spot (the rules of ArcGIS Pro's
// Emerging Hot Spot Analysis, docs/analytics.md), from a cell's Gi* results over time steps.

#include <span>
#include <string_view>

#include "gridwatch/center/analytics/gistar.h"

namespace gridwatch::center::analytics {

// S = Σ_{i<j} sign(x_j − x_i); Var S = [n(n−1)(2n+5) − Σ_ties t(t−1)(2t+5)] / 18;
// Z = (S − sign S) / √Var S (continuity correction); p two-sided; tau = S / (n(n−1)/2).
struct MannKendall {
  double s = 0;
  double var_s = 0;
  double z = 0;
  double p = 1;
  double tau = 0;
  int trend = 0;  // +1 rising, −1 falling, 0 none (p ≥ alpha)
};
MannKendall mann_kendall(std::span<const double> x, double alpha = 0.05);

enum class Emerging {
  kNone,
  kNewHot,
  kConsecutiveHot,
  kIntensifyingHot,
  kPersistentHot,
  kDiminishingHot,
  kSporadicHot,
  kOscillatingHot,
  kHistoricalHot,
  kNewCold,
  kConsecutiveCold,
  kIntensifyingCold,
  kPersistentCold,
  kDiminishingCold,
  kSporadicCold,
  kOscillatingCold,
  kHistoricalCold,
};
std::string_view to_string(Emerging e);  // "intensifying_hot", ...
// 中文 / English names for the pages and reports.
std::string_view name_zh(Emerging e);
std::string_view name_en(Emerging e);

// A cell's class from its results per time step, oldest first (spot after each step's FDR, and
// z whose Mann–Kendall trend tells intensifying from persistent from diminishing).
struct EmergingResult {
  Emerging kind = Emerging::kNone;
  MannKendall trend;
  size_t hot_steps = 0;
  size_t cold_steps = 0;
};
EmergingResult classify_emerging(std::span<const CellResult> steps, double alpha = 0.05);

}  // namespace gridwatch::center::analytics
