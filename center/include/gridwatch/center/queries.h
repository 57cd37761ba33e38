// The queries of the read API, and their parsers from a request's parameters: each parser takes
// the parameters as given (name -> value, names may repeat) and returns the query, or the first
// thing wrong with them as kInvalidArgument naming the parameter (Error::field) with a message a
// caller can act on. Parsers neither read the clock nor the database (the caller passes `now`),
// so they are unit-tested on their own. Plain data and pure functions: thread-safe.
#pragma once

#include <array>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "gridwatch/center/scope.h"
#include "gridwatch/center/analytics/cells.h"
#include "gridwatch/domain/catalog.h"
#include "gridwatch/domain/error.h"
#include "gridwatch/domain/order.h"
#include "gridwatch/domain/time.h"
#include "gridwatch/geo/areas.h"

namespace gridwatch::center {

// A request's query parameters (httplib::Params is this type).
using QueryParams = std::multimap<std::string, std::string>;

struct OrderQuery {
  std::vector<std::string> statuses;    // empty: any
  std::vector<std::string> states;      // work states (new, dispatched, ...); empty: any
  std::vector<std::string> categories;  // empty: any
  std::optional<std::array<double, 4>> bbox;  // min lon, min lat, max lon, max lat
  std::optional<Timestamp> since;       // updated at or after
  // Radius search: orders within `radius_m` metres of `near` (on the WGS-84 ellipsoid), nearest
  // first, each with properties.distance_m. Without `near`: newest update first.
  std::optional<LonLat> near;
  double radius_m = 0;
  int limit = 1000;
  // Only what a map draws (id, category, state, status, source kind, priority, overdue, proactive,
  // preempted, reports): a tenth of the size, for tens of thousands of cases.
  bool map_fields = false;
  // Only how many cases pass the filters, without a limit: {"count": n} (fields=count).
  bool count_only = false;
  Scope scope;
  // {"state": ["action", ...]}: each case gets properties.allowed_actions, the steps the caller
  // may take from its state (not with map_fields). Empty: none.
  std::string allowed_by_state;
};

// A vector tile of the open cases (/tiles/z/x/y.mvt) with the map's filters: only the cases of
// these categories, work states and source kinds (each empty: any), only the overdue, only the
// proactive. Cases pass as on the map page (web/src/center/state.js).
struct TileQuery {
  int z = 0, x = 0, y = 0;
  std::vector<std::string> categories, states, sources;
  bool overdue_only = false, proactive_only = false;
  Scope scope;
};

// The three rates (response, resolution, satisfaction) and the proactive share of the cases opened
// in [from, to), per group and period. See docs/api.md, "The three rates".
struct StatsQuery {
  std::string by;          // an area level name, "unit", "department" or "" (all cases as one group)
  std::string period;      // "day", "week", "month" or "" (the whole span as one period)
  std::string time_zone = "UTC";  // periods start at local midnight of this IANA zone
  Timestamp from, to;
  Timestamp now;           // a case still within its respond time counts only once it responded
  std::string area_level, area_code;  // only the cases in this area (a drill-down), when given
};

// GET requests of Open311: sources filtered and paged, newest request first.
struct RequestQuery {
  std::vector<std::string> ids;            // when given, the other filters are ignored
  std::vector<std::string> service_codes;  // empty: any
  std::optional<Timestamp> start, end;     // requested at or after / at or before
  std::optional<std::string> status;       // "open" or "closed" (the status of the case)
  int page = 1;
  int page_size = 50;
};

// GET /api/v1/orders: status, state, category (comma-separated lists), bbox, since, near +
// radius_m, limit, fields=map|count. An unknown parameter is refused, naming the known ones.
[[nodiscard]] Result<OrderQuery> parse_order_query(const QueryParams& params, const Catalog& catalog);
// The filters of a tile (z, x, y and the scope are the route's).
[[nodiscard]] Result<TileQuery> parse_tile_query(const QueryParams& params, const Catalog& catalog);

// GET /api/v1/stats: by (one of `groupings`: area level names, "unit", "department"), period (day,
// week, month), from/to (RFC 3339; default: the 30 days before `now`), tz (IANA zone), area (a
// code of `areas`, for a drill-down).
[[nodiscard]] Result<StatsQuery> parse_stats_query(const QueryParams& params, const std::vector<std::string>& groupings,
                                                   const geo::AreaIndex& areas, Timestamp now);

// GET /api/v1/analytics/{hotspots,emerging,anomalies,monthly-problems} (docs/analytics.md).
enum class AnalyticsKind { kHotspots, kEmerging, kAnomalies, kMonthlyProblems };
struct AnalyticsQuery {
  analytics::CellQuery cells;  // the window, steps, cells, category and area
  double q = 0.05;             // the false discovery rate
  std::string time_zone = "Asia/Shanghai";  // local days and months
  std::string level;           // anomalies: the series' area level
  int baseline_days = 28;      // anomalies: the days before `day`
  std::string day, month;      // anomalies: YYYY-MM-DD; monthly problems: YYYY-MM (local)
};
struct AnalyticsDefaults {
  std::string time_zone = "Asia/Shanghai";
  double hexagon_m = 250;
  double q = 0.05;
  std::string anomaly_level;  // "" : the finest level but one (streets under grid cells)
};
// Parameters: from, to (RFC 3339), category (a code or a group: the part before the dot), cells
// (hex or an area level), size (hexagon edge, 50–5000 m), area (a code of `areas`), q (0–0.5);
// emerging: step (day, week), steps (3–60, the window ends at `to`); anomalies: day (YYYY-MM-DD),
// level, baseline (7–90 days); monthly problems: month (YYYY-MM); tz (IANA zone) for the last two.
[[nodiscard]] Result<AnalyticsQuery> parse_analytics_query(AnalyticsKind kind, const QueryParams& params,
                                                           const geo::AreaIndex& areas, const Catalog& catalog,
                                                           const AnalyticsDefaults& defaults, Timestamp now);

// A report (日报 / 周报 / 月报, docs/reports.md): the figures of the cases opened in [from, to),
// against the span of the same length before it.
enum class ReportKind { kDaily, kWeekly, kMonthly, kSpan };
inline constexpr int kReportBaselineDays = 28;  // a daily report's unusual counts: against these days
struct ReportQuery {
  ReportKind kind = ReportKind::kWeekly;
  Timestamp from, to;  // the cases opened in [from, to)
  Timestamp now;       // the work open and overdue at this instant (when the report is made)
  std::string time_zone = "Asia/Shanghai";  // local days, weeks (Monday) and months
  std::string label;   // the span as people write it: "2026-11-30", "2026-11-23 – 2026-11-29", "2026-11"
  std::string first_day;  // the local date `from` falls on (YYYY-MM-DD)
  // The span's last local day and the kReportBaselineDays before it: [last_day_from, last_day_to).
  std::string last_day;
  Timestamp last_day_from, last_day_to;
  // The trend's local days (YYYY-MM-DD): those of the span and at least the 28 to its end.
  Timestamp trend_from;
  std::vector<std::string> trend_days;
  std::string level;   // the ranking's area level ("" : no areas loaded)
  std::string area_level, area_code;  // only this area, when given
  bool spatial = true;  // hot spots and growing problems (reads the cells; the wall leaves them out)
  double hexagon_m = 250;
  double q = 0.05;
};
// kind (daily, weekly, monthly; or span: any from/to), from/to (local dates YYYY-MM-DD, both
// included, or RFC 3339 instants, `to` excluded; without them: yesterday, last Monday–Sunday, last
// calendar month), tz, area (a code of `areas`), level (the ranking's area level, default the
// analytics' anomaly level or the finest level but one), spatial (true/false).
[[nodiscard]] Result<ReportQuery> parse_report_query(const QueryParams& params, const geo::AreaIndex& areas,
                                                     const AnalyticsDefaults& defaults, Timestamp now);
std::string_view to_string(ReportKind kind);

// GET /open311/v2/requests: service_request_id, service_code (comma-separated), start_date,
// end_date (without either: the 90 days before `now`, the spec's default), status (open, closed),
// page, page_size (default `page_size`, at most 1000); jurisdiction_id and locale are accepted
// (the caller reads locale).
[[nodiscard]] Result<RequestQuery> parse_request_query(const QueryParams& params, const Catalog& catalog,
                                                       int page_size, Timestamp now);

}  // namespace gridwatch::center
