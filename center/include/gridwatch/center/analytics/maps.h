#pragma once
// The analytics' answers from the counts the store gives (cells.h): hot spots over a window,
// emerging hot spots over time steps, and today's unusual counts. GeoJSON for the map, with the
// figures that back each cell. docs/analytics.md says how each is computed.

#include <span>
#include <vector>

#include <nlohmann/json.hpp>

#include "gridwatch/center/analytics/cells.h"
#include "gridwatch/center/analytics/gistar.h"
#include "gridwatch/center/analytics/trend.h"

namespace gridwatch::center::analytics {

// Gi* neighbourhoods of the grid's cells (each with itself): hexagons by distance, polygons by
// touching.
Weights weights_of(const CellGrid& grid);

// Gi* on each cell's total over the steps, FDR at q: a FeatureCollection of the hot and cold
// cells (properties: count, z, p, spot) with "cells", "hot", "cold" and "q".
nlohmann::json hotspots(const CellGrid& grid, double q);

// Gi* per step (FDR at q within each step), then each cell's class (trend.h). One per cell.
std::vector<EmergingResult> emerging(const CellGrid& grid, double q, double alpha = 0.05);
// A FeatureCollection of the cells with a class (properties: class, name_zh, name_en, counts,
// hot_steps, cold_steps, trend {s, z, p, tau}) and "classes": how many cells each class has.
nlohmann::json emerging_json(const CellGrid& grid, const std::vector<EmergingResult>& classes);

// Today (`today`, a day index of `counts`) against the `baseline` days before it, per series
// (category group × area): each series' expected count, upper bound at level q, today's count,
// p = P(X ≥ today) and whether it passes the FDR at q over all series. Series with fewer than
// two cases today are not tested (p = 1): one case is never a surge.
nlohmann::json anomalies(std::span<const DailyCount> counts, int today, int baseline, double q);

}  // namespace gridwatch::center::analytics
