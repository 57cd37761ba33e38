#include "gridwatch/center/merge.h"

#include <algorithm>
#include <cmath>

namespace gridwatch::center {

std::vector<int64_t> merge_lock_keys(const std::array<double, 4>& box) {
  auto cell = [](double deg) { return static_cast<int64_t>(std::floor(deg / kMergeLockCellDeg)); };
  std::vector<int64_t> keys;
  for (int64_t x = cell(box[0]); x <= cell(box[2]); ++x)
    for (int64_t y = cell(box[1]); y <= cell(box[3]); ++y)
      keys.push_back((int64_t{0x4757} << 40) | ((x & 0xfffff) << 20) | (y & 0xfffff));  // "GW"
  std::sort(keys.begin(), keys.end());
  return keys;
}

void add_merge_plan(nlohmann::json& source, const Catalog& catalog, const Category& category,
                    std::optional<LonLat> where) {
  nlohmann::json merge = nlohmann::json::array();
  double widest = 0;
  if (where) {
    for (const Category& other : catalog.all()) {
      if (!Catalog::compatible(category, other)) continue;
      const double radius = std::min(category.merge_radius_m, other.merge_radius_m);
      const auto window = std::min(category.merge_window, other.merge_window);
      if (radius <= 0 || window.count() <= 0) continue;
      merge.push_back({{"category", other.code},
                       {"radius_m", radius},
                       {"window_s", static_cast<double>(window.count()) / 1000.0}});
      widest = std::max(widest, radius);
    }
  }
  source["merge"] = merge;
  if (merge.empty()) {
    source["locks"] = nlohmann::json::array();
    return;
  }
  // 1 % wider than the sphere, to cover the ellipsoid the distance is measured on.
  const auto box = geo::bbox_around(*where, widest * 1.01);
  source["box"] = box;
  source["locks"] = merge_lock_keys(box);
}

}  // namespace gridwatch::center
