#include "gridwatch/center/queries.h"

#include <cctz/civil_time.h>
#include <cctz/time_zone.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "gridwatch/center/analytics/cells.h"
#include "gridwatch/center/lifecycle.h"
#include "gridwatch/domain/config.h"
#include "gridwatch/domain/text.h"
#include "gridwatch/geo/distance.h"

namespace gridwatch::center {

namespace {

// The largest radius search the API accepts (a district is ~50 km across).
constexpr double kMaxRadiusM = 50'000;
// The most cases one map view (fields=map) may ask for: a district's wall map of every open case.
constexpr int kMaxMapLimit = 100'000;

bool has(const QueryParams& p, const std::string& key) { return p.contains(key); }

// The first value of `key` ("" when absent), as a web server reads a repeated parameter.
std::string value(const QueryParams& p, const std::string& key) {
  auto it = p.find(key);
  return it == p.end() ? std::string() : it->second;
}

// A comma-separated list, empty items dropped.
std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string part;
  while (std::getline(ss, part, ','))
    if (!part.empty()) out.push_back(part);
  return out;
}

Error invalid(std::string message, std::string parameter) {
  return Error{ErrorCode::kInvalidArgument, std::move(message), std::move(parameter)};
}

// Parameters `state` (work states) and `category` (codes of the catalog), comma-separated lists
// (empty: any), into `states` and `categories`.
Status states_and_categories(const QueryParams& params, const Catalog& catalog, std::vector<std::string>& states,
                             std::vector<std::string>& categories) {
  for (auto& st : split(value(params, "state"))) {
    if (!parse_case_state(st))
      return std::unexpected(invalid(fmt::format("unknown state \"{}\" (known: new, dispatched, accepted, in_progress, "
                                                 "resolved, closed, rejected, reopened, cancelled, duplicate)",
                                                 printable(st)),
                                     "state"));
    states.push_back(st);
  }
  for (auto& c : split(value(params, "category"))) {
    if (!catalog.find(c))
      return std::unexpected(invalid(fmt::format("unknown category \"{}\"", printable(c)), "category"));
    categories.push_back(c);
  }
  return {};
}

// The level of area `code` of `areas` (parameter `area` of the stats and the analytics).
Result<std::string> level_of_area(const geo::AreaIndex& areas, const std::string& code) {
  for (size_t level = 0; level < areas.levels(); ++level)
    for (const geo::Area& a : areas.areas(level))
      if (a.code == code) return a.level_name;
  return std::unexpected(invalid(fmt::format("no area \"{}\"", printable(code)), "area"));
}

// The names of the area levels that have areas, coarsest first.
std::vector<std::string> loaded_levels(const geo::AreaIndex& areas) {
  std::vector<std::string> levels;
  for (size_t level = 0; level < areas.levels(); ++level)
    if (!areas.areas(level).empty()) levels.push_back(areas.areas(level).front().level_name);
  return levels;
}

std::string level_list(const std::vector<std::string>& levels) {
  return levels.empty() ? std::string("none loaded") : fmt::format("{}", fmt::join(levels, ", "));
}

// Parameter `level`: an area level of the series or ranking; by default the configured one or the
// finest level but one (streets under grid cells); "" when no areas are loaded and none is asked.
Result<std::string> units_level(const QueryParams& params, const std::vector<std::string>& levels,
                                const AnalyticsDefaults& defaults) {
  std::string level = has(params, "level") ? value(params, "level") : defaults.anomaly_level;
  if (level.empty() && !levels.empty()) level = levels[levels.size() >= 2 ? levels.size() - 2 : 0];
  if ((!level.empty() || has(params, "level")) && std::find(levels.begin(), levels.end(), level) == levels.end())
    return std::unexpected(invalid(fmt::format("level is an area level ({})", level_list(levels)), "level"));
  return level;
}

// `name` when it is a zone of the tz database (parameter `tz`).
Result<cctz::time_zone> load_zone(const std::string& name) {
  cctz::time_zone tz;
  if (!cctz::load_time_zone(name, &tz))
    return std::unexpected(invalid(fmt::format("unknown time zone \"{}\"", printable(name)), "tz"));
  return tz;
}

// A whole number or a number in [lo, hi], or nullopt.
std::optional<double> number_in(const std::string& v, double lo, double hi) {
  double d = 0;
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), d);
  if (ec != std::errc{} || end != v.data() + v.size() || !(d >= lo && d <= hi)) return std::nullopt;
  return d;
}

// The UTC instant of local midnight of a civil day in `tz`.
Timestamp midnight(const cctz::civil_day& day, const cctz::time_zone& tz) {
  return std::chrono::time_point_cast<std::chrono::milliseconds>(cctz::convert(cctz::civil_second(day), tz));
}

// "YYYY-MM-DD" (or "YYYY-MM" with `month`) as a valid civil day.
std::optional<cctz::civil_day> parse_day(const std::string& v, bool month) {
  int y = 0, m = 0, d = 1, used = 0;
  const bool ok = month ? std::sscanf(v.c_str(), "%4d-%2d%n", &y, &m, &used) == 2
                        : std::sscanf(v.c_str(), "%4d-%2d-%2d%n", &y, &m, &d, &used) == 3;
  if (!ok || static_cast<size_t>(used) != v.size() || v.size() != (month ? 7u : 10u)) return std::nullopt;
  const cctz::civil_day day(y, m, d);
  if (day.year() != y || day.month() != m || day.day() != d) return std::nullopt;
  return day;
}

}  // namespace

Result<OrderQuery> parse_order_query(const QueryParams& params, const Catalog& catalog) {
  OrderQuery q;
  for (const auto& [key, v] : params) {
    if (key != "status" && key != "category" && key != "bbox" && key != "since" && key != "limit" &&
        key != "near" && key != "radius_m" && key != "fields" && key != "state")
      return std::unexpected(invalid(
          fmt::format("unknown parameter \"{}\" (known: status, state, category, bbox, since, near, radius_m, limit, fields)",
                      key),
          key));
  }
  for (auto& s : split(value(params, "status"))) {
    if (s != "open" && s != "cleared")
      return std::unexpected(invalid(fmt::format("unknown status \"{}\" (known: open, cleared)", s), "status"));
    q.statuses.push_back(s);
  }
  if (auto st = states_and_categories(params, catalog, q.states, q.categories); !st) return std::unexpected(st.error());
  if (has(params, "bbox")) {
    auto parts = split(value(params, "bbox"));
    std::array<double, 4> b{};
    bool ok = parts.size() == 4;
    for (size_t i = 0; ok && i < 4; ++i) {
      const auto v = parse_finite(parts[i]);
      ok = v.has_value();
      b[i] = v.value_or(0);
    }
    ok = ok && b[0] >= -180 && b[2] <= 180 && b[1] >= -90 && b[3] <= 90 && b[0] <= b[2] && b[1] <= b[3];
    if (!ok)
      return std::unexpected(invalid("bbox must be min_lon,min_lat,max_lon,max_lat in WGS-84 degrees, min <= max", "bbox"));
    q.bbox = b;
  }
  if (has(params, "near") != has(params, "radius_m"))
    return std::unexpected(invalid("near and radius_m go together: near=lon,lat&radius_m=metres",
                                   has(params, "near") ? "radius_m" : "near"));
  if (has(params, "near")) {
    auto parts = split(value(params, "near"));
    const auto lon = parts.size() == 2 ? parse_finite(parts[0]) : std::nullopt;
    const auto lat = parts.size() == 2 ? parse_finite(parts[1]) : std::nullopt;
    const LonLat p{.lon = lon.value_or(0), .lat = lat.value_or(0)};
    if (!lon || !lat || !geo::is_valid_wgs84(p))
      return std::unexpected(invalid("near must be lon,lat in WGS-84 degrees", "near"));
    const double r = parse_finite(value(params, "radius_m")).value_or(0);
    if (!(r > 0) || r > kMaxRadiusM)
      return std::unexpected(
          invalid(fmt::format("radius_m must be a number of metres above 0 and at most {}", kMaxRadiusM), "radius_m"));
    q.near = p;
    q.radius_m = r;
  }
  if (has(params, "since")) {
    auto t = parse_rfc3339(value(params, "since"));
    if (!t) return std::unexpected(invalid(t.error().message, "since"));
    q.since = *t;
  }
  if (has(params, "fields")) {
    const std::string fields = value(params, "fields");
    if (fields != "map" && fields != "count")
      return std::unexpected(invalid(
          "fields must be map (the few properties a map draws), count (how many pass) or absent (every property)",
          "fields"));
    q.map_fields = true;
    q.count_only = fields == "count";
    q.limit = kMaxMapLimit;
  }
  if (has(params, "limit")) {
    const int most = q.map_fields ? kMaxMapLimit : 10000;
    const auto n = parse_int_in(value(params, "limit"), 1, most);
    if (!n) return std::unexpected(invalid(fmt::format("limit must be a whole number from 1 to {}", most), "limit"));
    q.limit = *n;
  }
  return q;
}

Result<TileQuery> parse_tile_query(const QueryParams& params, const Catalog& catalog) {
  static const std::vector<std::string> known = {"category", "state", "source", "overdue", "proactive", "access_token"};
  for (const auto& [key, v] : params)
    if (std::find(known.begin(), known.end(), key) == known.end())
      return std::unexpected(invalid(
          fmt::format("unknown parameter \"{}\" (known: category, state, source, overdue, proactive)", printable(key)),
          key));
  TileQuery q;
  if (auto st = states_and_categories(params, catalog, q.states, q.categories); !st) return std::unexpected(st.error());
  for (auto& s : split(value(params, "source"))) {
    if (s != "hotline" && s != "camera" && s != "sensor" && s != "patrol")
      return std::unexpected(invalid(
          fmt::format("unknown source \"{}\" (known: hotline, camera, sensor, patrol)", printable(s)), "source"));
    q.sources.push_back(s);
  }
  for (const char* flag : {"overdue", "proactive"}) {
    if (!has(params, flag)) continue;
    const std::string v = value(params, flag);
    if (v != "true" && v != "false") return std::unexpected(invalid(fmt::format("{} is true or false", flag), flag));
    (std::string_view(flag) == "overdue" ? q.overdue_only : q.proactive_only) = v == "true";
  }
  return q;
}

Result<StatsQuery> parse_stats_query(const QueryParams& params, const std::vector<std::string>& groupings,
                                     const geo::AreaIndex& areas, Timestamp now) {
  StatsQuery q;
  for (const auto& [key, v] : params)
    if (key != "by" && key != "period" && key != "from" && key != "to" && key != "tz" && key != "area")
      return std::unexpected(
          invalid(fmt::format("unknown parameter \"{}\" (known: by, period, from, to, tz, area)", printable(key)), key));
  if (has(params, "area")) {
    q.area_code = value(params, "area");
    auto level = level_of_area(areas, q.area_code);
    if (!level) return std::unexpected(level.error());
    q.area_level = *level;
  }
  q.by = value(params, "by");
  if (!q.by.empty() && std::find(groupings.begin(), groupings.end(), q.by) == groupings.end())
    return std::unexpected(
        invalid(fmt::format("cannot group by \"{}\" (known: {})", printable(q.by), fmt::join(groupings, ", ")), "by"));
  q.period = value(params, "period");
  if (!q.period.empty() && q.period != "day" && q.period != "week" && q.period != "month")
    return std::unexpected(invalid("period must be day, week or month", "period"));
  q.now = now;
  q.to = q.now;
  q.from = q.now - std::chrono::days{30};
  for (auto [key, slot] : {std::pair{"from", &q.from}, std::pair{"to", &q.to}}) {
    if (!has(params, key)) continue;
    auto t = parse_rfc3339(value(params, key));
    if (!t) return std::unexpected(invalid(fmt::format("{}: {}", key, t.error().message), key));
    *slot = *t;
  }
  if (q.to <= q.from) return std::unexpected(invalid("to must be later than from", "to"));
  if (has(params, "tz")) {
    q.time_zone = value(params, "tz");
    if (auto zone = load_zone(q.time_zone); !zone) return std::unexpected(zone.error());
  }
  return q;
}

Result<RequestQuery> parse_request_query(const QueryParams& params, const Catalog& catalog, int page_size,
                                         Timestamp now) {
  RequestQuery q;
  q.page_size = page_size;
  static const char* kKnown[] = {"service_request_id", "service_code", "start_date", "end_date", "status",
                                 "page", "page_size", "jurisdiction_id", "locale"};
  for (const auto& [key, v] : params)
    if (std::find(std::begin(kKnown), std::end(kKnown), key) == std::end(kKnown))
      return std::unexpected(invalid(fmt::format("unknown parameter \"{}\"", printable(key)), key));
  for (auto& id : split(value(params, "service_request_id"))) {
    if (!is_valid_id(id)) return std::unexpected(invalid("service_request_id: malformed id", "service_request_id"));
    q.ids.push_back(id);
  }
  for (auto& c : split(value(params, "service_code"))) {
    if (!catalog.find(c))
      return std::unexpected(invalid(fmt::format("service_code \"{}\" is not a service", printable(c)), "service_code"));
    q.service_codes.push_back(c);
  }
  for (const char* key : {"start_date", "end_date"}) {
    if (!has(params, key)) continue;
    auto t = parse_rfc3339(value(params, key));
    if (!t) return std::unexpected(invalid(fmt::format("{}: {}", key, t.error().message), key));
    (std::string_view(key) == "start_date" ? q.start : q.end) = *t;
  }
  // Without dates, the last 90 days (the spec's default).
  if (!q.start && !q.end) q.start = now - std::chrono::days{90};
  if (has(params, "status")) {
    const std::string v = value(params, "status");
    if (v != "open" && v != "closed") return std::unexpected(invalid("status must be open or closed", "status"));
    q.status = v;
  }
  for (const char* key : {"page", "page_size"}) {
    if (!has(params, key)) continue;
    const int most = std::string_view(key) == "page" ? 1'000'000 : 1000;
    const auto n = parse_int_in(value(params, key), 1, most);
    if (!n) return std::unexpected(invalid(fmt::format("{} must be a whole number from 1 to {}", key, most), key));
    (std::string_view(key) == "page" ? q.page : q.page_size) = *n;
  }
  return q;
}

Result<AnalyticsQuery> parse_analytics_query(AnalyticsKind kind, const QueryParams& params,
                                             const geo::AreaIndex& areas, const Catalog& catalog,
                                             const AnalyticsDefaults& defaults, Timestamp now) {
  std::vector<std::string> known = {"category", "cells", "size", "area", "q"};
  switch (kind) {
    case AnalyticsKind::kHotspots: known.insert(known.end(), {"from", "to"}); break;
    case AnalyticsKind::kEmerging: known.insert(known.end(), {"to", "step", "steps"}); break;
    case AnalyticsKind::kAnomalies: known = {"category", "area", "q", "day", "level", "baseline", "tz"}; break;
    case AnalyticsKind::kMonthlyProblems: known = {"cells", "size", "area", "q", "month", "tz"}; break;
  }
  for (const auto& [key, v] : params)
    if (std::find(known.begin(), known.end(), key) == known.end())
      return std::unexpected(
          invalid(fmt::format("unknown parameter \"{}\" (known: {})", printable(key), fmt::join(known, ", ")), key));
  AnalyticsQuery q;
  q.q = defaults.q;
  q.time_zone = defaults.time_zone;
  q.cells.size_m = defaults.hexagon_m;
  if (has(params, "q")) {
    auto v = number_in(value(params, "q"), 1e-6, 0.5);
    if (!v) return std::unexpected(invalid("q is a false discovery rate above 0 and at most 0.5", "q"));
    q.q = *v;
  }
  if (has(params, "size")) {
    auto v = number_in(value(params, "size"), analytics::kMinHexagonM, analytics::kMaxHexagonM);
    if (!v) {
      return std::unexpected(invalid(
          fmt::format("size is a hexagon's edge in metres, from {} to {}", analytics::kMinHexagonM, analytics::kMaxHexagonM),
          "size"));
    }
    q.cells.size_m = *v;
  }
  q.cells.fit_size = !has(params, "size");
  const std::vector<std::string> levels = loaded_levels(areas);
  if (has(params, "cells")) {
    q.cells.cells = value(params, "cells");
    if (q.cells.cells != "hex" && std::find(levels.begin(), levels.end(), q.cells.cells) == levels.end())
      return std::unexpected(invalid(
          fmt::format("cells is hex or an area level ({})", level_list(levels)),
          "cells"));
  }
  if (has(params, "category")) {
    q.cells.category = value(params, "category");
    const bool code = catalog.find(q.cells.category) != nullptr;
    bool group = false;
    for (const Category& c : catalog.all()) group = group || c.code.starts_with(q.cells.category + ".");
    if (!code && !group)
      return std::unexpected(invalid(
          fmt::format("category \"{}\" is neither a category nor a group of them", printable(q.cells.category)),
          "category"));
  }
  if (has(params, "area")) {
    q.cells.area_code = value(params, "area");
    auto level = level_of_area(areas, q.cells.area_code);
    if (!level) return std::unexpected(level.error());
    q.cells.area_level = *level;
  }
  if (has(params, "tz")) q.time_zone = value(params, "tz");
  auto zone = load_zone(q.time_zone);
  if (!zone) return std::unexpected(zone.error());
  const cctz::time_zone& tz = *zone;
  const cctz::civil_day today = cctz::civil_day(cctz::convert(std::chrono::time_point_cast<std::chrono::seconds>(now), tz));

  auto instant = [&](const char* key, Timestamp fallback) -> Result<Timestamp> {
    if (!has(params, key)) return fallback;
    auto t = parse_rfc3339(value(params, key));
    if (!t) return std::unexpected(invalid(fmt::format("{}: {}", key, t.error().message), key));
    return *t;
  };
  switch (kind) {
    case AnalyticsKind::kHotspots: {
      auto to = instant("to", now);
      if (!to) return std::unexpected(to.error());
      auto from = instant("from", *to - std::chrono::days{28});
      if (!from) return std::unexpected(from.error());
      if (*to <= *from) return std::unexpected(invalid("to must be later than from", "to"));
      q.cells.from = *from;
      q.cells.to = *to;
      break;
    }
    case AnalyticsKind::kEmerging: {
      auto to = instant("to", now);
      if (!to) return std::unexpected(to.error());
      const std::string step = has(params, "step") ? value(params, "step") : "week";
      if (step != "day" && step != "week") return std::unexpected(invalid("step is day or week", "step"));
      int steps = 13;
      if (has(params, "steps")) {
        auto v = number_in(value(params, "steps"), 3, 60);
        if (!v || *v != std::floor(*v)) return std::unexpected(invalid("steps is a whole number from 3 to 60", "steps"));
        steps = static_cast<int>(*v);
      }
      q.cells.step_seconds = step == "day" ? 86400 : 7 * 86400;
      q.cells.to = *to;
      q.cells.from = *to - std::chrono::seconds{q.cells.step_seconds * steps};
      break;
    }
    case AnalyticsKind::kAnomalies: {
      cctz::civil_day day = today;
      if (has(params, "day")) {
        auto d = parse_day(value(params, "day"), false);
        if (!d) return std::unexpected(invalid("day is a date YYYY-MM-DD", "day"));
        day = *d;
      }
      if (has(params, "baseline")) {
        auto v = number_in(value(params, "baseline"), 7, 90);
        if (!v || *v != std::floor(*v)) return std::unexpected(invalid("baseline is a whole number of days from 7 to 90", "baseline"));
        q.baseline_days = static_cast<int>(*v);
      }
      // No areas loaded and no level asked for: no series (an empty answer, not an error).
      auto level = units_level(params, levels, defaults);
      if (!level) return std::unexpected(level.error());
      q.level = *level;
      q.day = cctz::format("%Y-%m-%d", cctz::convert(cctz::civil_second(day), tz), tz);
      q.cells.from = midnight(day - q.baseline_days, tz);
      q.cells.to = midnight(day + 1, tz);
      break;
    }
    case AnalyticsKind::kMonthlyProblems: {
      cctz::civil_month month = cctz::civil_month(today) - 1;  // the last whole month
      if (has(params, "month")) {
        auto d = parse_day(value(params, "month"), true);
        if (!d) return std::unexpected(invalid("month is YYYY-MM", "month"));
        month = cctz::civil_month(*d);
      }
      q.month = cctz::format("%Y-%m", cctz::convert(cctz::civil_second(month), tz), tz);
      q.cells.from = midnight(cctz::civil_day(month), tz);
      q.cells.to = midnight(cctz::civil_day(month + 1), tz);
      break;
    }
  }
  return q;
}

std::string_view to_string(ReportKind kind) {
  switch (kind) {
    case ReportKind::kDaily: return "daily";
    case ReportKind::kWeekly: return "weekly";
    case ReportKind::kMonthly: return "monthly";
    case ReportKind::kSpan: return "span";
  }
  return "span";
}

Result<ReportQuery> parse_report_query(const QueryParams& params, const geo::AreaIndex& areas,
                                       const AnalyticsDefaults& defaults, Timestamp now) {
  static const std::vector<std::string> known = {"kind", "from", "to", "tz", "area", "level", "spatial"};
  for (const auto& [key, v] : params)
    if (std::find(known.begin(), known.end(), key) == known.end())
      return std::unexpected(
          invalid(fmt::format("unknown parameter \"{}\" (known: {})", printable(key), fmt::join(known, ", ")), key));
  ReportQuery q;
  q.now = now;
  q.time_zone = has(params, "tz") ? value(params, "tz") : defaults.time_zone;
  q.hexagon_m = defaults.hexagon_m;
  q.q = defaults.q;
  auto zone = load_zone(q.time_zone);
  if (!zone) return std::unexpected(zone.error());
  const cctz::time_zone& tz = *zone;
  const std::string kind = has(params, "kind") ? value(params, "kind") : "weekly";
  if (kind == "daily") q.kind = ReportKind::kDaily;
  else if (kind == "weekly") q.kind = ReportKind::kWeekly;
  else if (kind == "monthly") q.kind = ReportKind::kMonthly;
  else if (kind == "span") q.kind = ReportKind::kSpan;
  else return std::unexpected(invalid("kind is daily, weekly, monthly or span", "kind"));

  auto local_day = [&](Timestamp t) {
    return cctz::civil_day(cctz::convert(std::chrono::time_point_cast<std::chrono::seconds>(t), tz));
  };
  auto day_text = [&](const cctz::civil_day& d) {
    return fmt::format("{:04}-{:02}-{:02}", d.year(), d.month(), d.day());
  };
  // A bound: a local date (its midnight; `to` is the next one: the day is included) or an instant.
  auto bound = [&](const char* key, bool end) -> Result<std::optional<Timestamp>> {
    if (!has(params, key)) return std::nullopt;
    const std::string& v = value(params, key);
    if (auto d = parse_day(v, false)) return midnight(end ? *d + 1 : *d, tz);
    auto t = parse_rfc3339(v);
    if (!t) return std::unexpected(invalid(fmt::format("{} is a date YYYY-MM-DD or an RFC 3339 time", key), key));
    return *t;
  };
  auto from = bound("from", false);
  if (!from) return std::unexpected(from.error());
  auto to = bound("to", true);
  if (!to) return std::unexpected(to.error());
  const cctz::civil_day today = local_day(now);
  if (*from && *to) {
    q.from = **from;
    q.to = **to;
  } else if (*from || *to) {
    // One bound: the kind's span from (or up to) it.
    const cctz::civil_day anchor = *from ? local_day(**from) : local_day(**to - std::chrono::milliseconds{1});
    cctz::civil_day first = anchor, after = anchor + 1;
    if (q.kind == ReportKind::kWeekly) {
      if (*from) after = anchor + 7;
      else first = anchor - 6;
    } else if (q.kind == ReportKind::kMonthly) {
      // A calendar month when the bound is its first (or last) day; otherwise the same day of the
      // next (or previous) month, the month's last day when it has no such day.
      auto same_day = [](const cctz::civil_month& m, int day) {
        const cctz::civil_day last = cctz::civil_day(m + 1) - 1;
        return cctz::civil_day(m.year(), m.month(), std::min(day, last.day()));
      };
      if (*from) after = anchor.day() == 1 ? cctz::civil_day(cctz::civil_month(anchor) + 1)
                                           : same_day(cctz::civil_month(anchor) + 1, anchor.day());
      else first = (anchor + 1).day() == 1 ? cctz::civil_day(cctz::civil_month(anchor))
                                           : same_day(cctz::civil_month(anchor) - 1, anchor.day()) + 1;
    } else if (q.kind == ReportKind::kSpan) {
      return std::unexpected(invalid("a span report needs both from and to", *from ? "to" : "from"));
    }
    q.from = *from ? **from : midnight(first, tz);
    q.to = *to ? **to : midnight(after, tz);
  } else {
    switch (q.kind) {
      case ReportKind::kDaily:
        q.from = midnight(today - 1, tz);
        q.to = midnight(today, tz);
        break;
      case ReportKind::kWeekly: {
        // The last whole week, Monday to Sunday.
        const int since_monday = (static_cast<int>(cctz::get_weekday(today)) + 7 -
                                  static_cast<int>(cctz::weekday::monday)) % 7;
        const cctz::civil_day monday = today - since_monday;
        q.from = midnight(monday - 7, tz);
        q.to = midnight(monday, tz);
        break;
      }
      case ReportKind::kMonthly: {
        const cctz::civil_month month = cctz::civil_month(today);
        q.from = midnight(cctz::civil_day(month - 1), tz);
        q.to = midnight(cctz::civil_day(month), tz);
        break;
      }
      case ReportKind::kSpan:
        q.to = now;
        q.from = now - std::chrono::days{30};
        break;
    }
  }
  if (q.to <= q.from) return std::unexpected(invalid("to must be later than from", "to"));
  if (q.to - q.from > std::chrono::days{400})
    return std::unexpected(invalid("a report spans at most 400 days", "to"));
  // The label people write: one day, a month, or the first and last day.
  const cctz::civil_day first = local_day(q.from), last = local_day(q.to - std::chrono::milliseconds{1});
  const bool whole_days = midnight(first, tz) == q.from && midnight(last + 1, tz) == q.to;
  q.first_day = day_text(first);
  // The last day's unusual counts are read against the 28 local days before it.
  q.last_day = day_text(last);
  q.last_day_from = midnight(last - kReportBaselineDays, tz);
  q.last_day_to = midnight(last + 1, tz);
  // The trend: every local day of the span, and at least the 28 to its end.
  const cctz::civil_day trend_first = std::min(first, last - 27);
  q.trend_from = midnight(trend_first, tz);
  for (cctz::civil_day d = trend_first; d <= last; ++d) q.trend_days.push_back(day_text(d));
  if (!whole_days) q.label = fmt::format("{} – {}", format_rfc3339(q.from), format_rfc3339(q.to));
  else if (first == last) q.label = day_text(first);
  else if (first.day() == 1 && cctz::civil_month(first) == cctz::civil_month(last) && (last + 1).day() == 1)
    q.label = fmt::format("{:04}-{:02}", first.year(), first.month());
  else q.label = fmt::format("{} – {}", day_text(first), day_text(last));

  auto units = units_level(params, loaded_levels(areas), defaults);
  if (!units) return std::unexpected(units.error());
  q.level = *units;
  if (has(params, "area")) {
    q.area_code = value(params, "area");
    auto level = level_of_area(areas, q.area_code);
    if (!level) return std::unexpected(level.error());
    q.area_level = *level;
  }
  if (has(params, "spatial")) {
    const std::string& v = value(params, "spatial");
    if (v != "true" && v != "false") return std::unexpected(invalid("spatial is true or false", "spatial"));
    q.spatial = v == "true";
  }
  return q;
}

}  // namespace gridwatch::center
