#pragma once
// Reports (日报 / 周报 / 月报, docs/reports.md): the figures a 12345 bulletin publishes for a span
// — overall counts against the span before, the three rates and the proactive share (未诉先办),
// the busiest categories, how the cases were handled (late, hours to respond and resolve, work
// open and overdue), the units ranked on the three rates, hot spots and growing problems, and the
// day's unusual counts in a daily report. As JSON (the wall screen reads it from the API), and as a
// page of HTML with its charts drawn by the pages' chart script (and printed to PDF by Chromium).

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "gridwatch/center/queries.h"
#include "gridwatch/center/store.h"
#include "gridwatch/domain/catalog.h"
#include "gridwatch/geo/areas.h"

namespace gridwatch::center {

// Weights of the three rates in a unit's score (as Beijing's 接诉即办 assessment weighs them): a
// rate with nothing to count is left out and the others' weights scaled up.
inline constexpr double kResponseWeight = 0.10, kResolutionWeight = 0.45, kSatisfactionWeight = 0.45;

// The report's figures. Errors: the store's (unavailable, or a hexagon grid too fine for the area).
[[nodiscard]] Result<nlohmann::json> build_report(Store& store, const geo::AreaIndex& areas, const Catalog& catalog,
                                                  const ReportQuery& q);

// A unit's score from its rates (null when it has none of them).
nlohmann::json unit_score(const nlohmann::json& rates);

// The report as one HTML page that needs nothing else: tables and text written here, charts drawn
// by `chart_script` (web/dist/bulletin/bulletin.js, which reads the figures from the page) when
// given; without it the page says the charts are missing and keeps its tables.
std::string report_html(const nlohmann::json& report, std::string_view chart_script);

}  // namespace gridwatch::center
