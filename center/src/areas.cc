#include "gridwatch/center/center.h"

// The administrative layers of the configuration (files and synthetic cells) as one index, and
// loading it into the store at start.

#include <algorithm>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace gridwatch::center {

namespace {

// Synthetic cells cut from `parents` (or those named in layer.synthetic_within).
Result<std::vector<geo::Area>> synthetic_layer(const std::vector<geo::Area>& parents,
                                               const AreaLayerConfig& layer) {
  std::vector<geo::Area> chosen;
  for (const std::string& code : layer.synthetic_within) {
    auto it = std::find_if(parents.begin(), parents.end(),
                           [&](const geo::Area& a) { return a.code == code; });
    if (it == parents.end())
      return fail(ErrorCode::kInvalidArgument,
                  fmt::format("areas: synthetic {} layer: no area \"{}\" in the level above",
                              layer.options.level_name, code),
                  "within");
    chosen.push_back(*it);
  }
  auto cells = geo::synthetic_grid(layer.synthetic_within.empty() ? parents : chosen,
                                   layer.synthetic_cell_m);
  if (!cells) return cells;
  for (geo::Area& a : *cells) a.level_name = layer.options.level_name;
  return cells;
}

}  // namespace

Result<std::shared_ptr<const geo::AreaIndex>> load_area_index(const CenterConfig& config) {
  std::vector<std::vector<geo::Area>> levels;
  for (const AreaLayerConfig& layer : config.areas) {
    if (layer.synthetic_cell_m > 0) {
      auto cells = synthetic_layer(levels.back(), layer);
      if (!cells) return std::unexpected(cells.error());
      spdlog::info("areas: {} SYNTHETIC {} cells of ~{} m", cells->size(), layer.options.level_name,
                   layer.synthetic_cell_m);
      levels.push_back(std::move(*cells));
      continue;
    }
    std::vector<std::string> warnings;
    auto areas = geo::load_layer(layer.file, layer.options, &warnings);
    for (const auto& w : warnings) spdlog::warn("areas {}: {}", layer.file.string(), w);
    if (!areas) return std::unexpected(areas.error());
    spdlog::info("areas: {} {} from {} ({})", areas->size(), layer.options.level_name,
                 layer.file.string(), geo::to_string(layer.options.crs));
    levels.push_back(std::move(*areas));
  }
  auto index = geo::AreaIndex::build(std::move(levels));
  if (!index) return std::unexpected(index.error());
  return std::shared_ptr<const geo::AreaIndex>(std::move(*index));
}

Status Center::load_areas() {
  if (!areas_) {
    auto index = load_area_index(config_);
    if (!index) return std::unexpected(index.error());
    areas_ = std::move(*index);
  }
  std::vector<const geo::Area*> all;
  for (size_t l = 0; l < areas_->levels(); ++l)
    for (const geo::Area& a : areas_->areas(l)) all.push_back(&a);
  if (all.empty()) return {};
  auto changed = store_->upsert_areas(all);
  if (!changed) return std::unexpected(changed.error());
  spdlog::info("areas: {} stored, {} new or changed", all.size(), *changed);
  return {};
}

}  // namespace gridwatch::center
