// What the store needs to decide whether a new report joins an open case: the categories it may
// join with their radius and window, the box to search and the advisory locks that serialise
// decisions at one place. Pure functions; the decision itself runs in PostGIS (gw_add_source).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include <nlohmann/json.hpp>

#include "gridwatch/domain/catalog.h"
#include "gridwatch/geo/distance.h"

namespace gridwatch::center {

// Size of the lock cells in degrees (about 5.5 km north-south). A decision locks every cell its
// search box touches, in ascending key order, so two reports at one place never both open a case.
inline constexpr double kMergeLockCellDeg = 0.05;

// Advisory lock keys of the cells that `box` (min lon, min lat, max lon, max lat) touches.
std::vector<int64_t> merge_lock_keys(const std::array<double, 4>& box);

// Adds "merge" ([{category, radius_m, window_s}]), "box" and "locks" to `source` (the JSON given to
// gw_add_source) for a report of `category` at `where`. Without a place, or for a category with
// a zero radius, the list is empty and the report opens a case of its own.
void add_merge_plan(nlohmann::json& source, const Catalog& catalog, const Category& category,
                    std::optional<LonLat> where);

}  // namespace gridwatch::center
