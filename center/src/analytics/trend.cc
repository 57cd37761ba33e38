#include "gridwatch/center/analytics/trend.h"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <map>
#include <vector>

namespace gridwatch::center::analytics {

MannKendall mann_kendall(std::span<const double> x, double alpha) {
  MannKendall r;
  const size_t n = x.size();
  if (n < 3) return r;
  for (size_t i = 0; i + 1 < n; ++i)
    for (size_t j = i + 1; j < n; ++j) r.s += x[j] > x[i] ? 1.0 : (x[j] < x[i] ? -1.0 : 0.0);
  std::map<double, size_t> groups;
  for (double v : x) ++groups[v];
  double ties = 0;
  for (const auto& [v, t] : groups)
    if (t > 1) ties += double(t) * double(t - 1) * double(2 * t + 5);
  const auto dn = double(n);
  r.var_s = (dn * (dn - 1) * (2 * dn + 5) - ties) / 18.0;
  r.tau = r.s / (dn * (dn - 1) / 2);
  if (r.var_s > 0) r.z = r.s > 0 ? (r.s - 1) / std::sqrt(r.var_s) : (r.s < 0 ? (r.s + 1) / std::sqrt(r.var_s) : 0.0);
  r.p = two_sided_p(r.z);
  if (r.p < alpha) r.trend = r.z > 0 ? 1 : -1;
  return r;
}

namespace {

struct Names {
  std::string_view code, zh, en;
};
// In the order of the enum.
constexpr Names kNames[] = {
    {"none", "无模式", "No pattern"},
    {"new_hot", "新增热点", "New hot spot"},
    {"consecutive_hot", "连续热点", "Consecutive hot spot"},
    {"intensifying_hot", "加剧热点", "Intensifying hot spot"},
    {"persistent_hot", "持续热点", "Persistent hot spot"},
    {"diminishing_hot", "减弱热点", "Diminishing hot spot"},
    {"sporadic_hot", "零星热点", "Sporadic hot spot"},
    {"oscillating_hot", "振荡热点", "Oscillating hot spot"},
    {"historical_hot", "历史热点", "Historical hot spot"},
    {"new_cold", "新增冷点", "New cold spot"},
    {"consecutive_cold", "连续冷点", "Consecutive cold spot"},
    {"intensifying_cold", "加剧冷点", "Intensifying cold spot"},
    {"persistent_cold", "持续冷点", "Persistent cold spot"},
    {"diminishing_cold", "减弱冷点", "Diminishing cold spot"},
    {"sporadic_cold", "零星冷点", "Sporadic cold spot"},
    {"oscillating_cold", "振荡冷点", "Oscillating cold spot"},
    {"historical_cold", "历史冷点", "Historical cold spot"},
};
static_assert(std::size(kNames) == static_cast<size_t>(Emerging::kHistoricalCold) + 1);

const Names& names(Emerging e) { return kNames[static_cast<size_t>(e)]; }

}  // namespace

std::string_view to_string(Emerging e) { return names(e).code; }
std::string_view name_zh(Emerging e) { return names(e).zh; }
std::string_view name_en(Emerging e) { return names(e).en; }

namespace {

// The classes of one side (hot: spot == +1, its trend up = intensifying; cold: spot == −1, its
// trend down = intensifying), in the order ArcGIS documents them; kNone when the side has none.
Emerging side(std::span<const CellResult> steps, int spot, const MannKendall& mk, Emerging base) {
  const size_t n = steps.size();
  size_t on = 0, other = 0;
  for (const CellResult& c : steps) {
    if (c.spot == spot) ++on;
    if (c.spot == -spot) ++other;
  }
  const bool mostly = on * 10 >= n * 9;  // at least 90 % of the steps
  auto kind = [base](int offset) { return static_cast<Emerging>(static_cast<int>(base) + offset); };
  if (steps.back().spot != spot) return mostly ? kind(7) : Emerging::kNone;  // historical
  if (mostly) {
    const int towards = mk.trend * spot;  // +1: the spot grows stronger
    return towards > 0 ? kind(2) : (towards < 0 ? kind(4) : kind(3));  // intensifying, diminishing, persistent
  }
  size_t run = 0;
  while (run < n && steps[n - 1 - run].spot == spot) ++run;
  if (run == on) return run == 1 ? kind(0) : kind(1);  // new, consecutive: never before the final run
  return other > 0 ? kind(6) : kind(5);                  // oscillating, sporadic
}

}  // namespace

EmergingResult classify_emerging(std::span<const CellResult> steps, double alpha) {
  EmergingResult r;
  if (steps.empty()) return r;
  std::vector<double> z;
  z.reserve(steps.size());
  for (const CellResult& c : steps) {
    z.push_back(std::isnan(c.z) ? 0.0 : c.z);
    if (c.spot > 0) ++r.hot_steps;
    if (c.spot < 0) ++r.cold_steps;
  }
  r.trend = mann_kendall(z, alpha);
  r.kind = side(steps, 1, r.trend, Emerging::kNewHot);
  if (r.kind == Emerging::kNone) r.kind = side(steps, -1, r.trend, Emerging::kNewCold);
  return r;
}

}  // namespace gridwatch::center::analytics
