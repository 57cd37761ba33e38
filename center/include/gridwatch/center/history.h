#pragma once
// Generated history for the demo and the benchmarks (docs/analytics.md): closed cases of past
// days written straight into the store, so that the screens, the analytics and the reports have
// weeks of data to show on a fresh database. Seeded: the same options give the same cases.
//
// What it makes, over [from, to): `per_day` cases a day on average (more on weekdays), spread
// over the bounding box (positions drawn around a few busy places and uniformly), categories
// drawn from the catalog's by fixed weights, a quarter of them proactive (camera, sensor,
// patrol); each dispatched within an hour, answered mostly on time, resolved, and evaluated by 70 %
// of residents, 85 % of whom are satisfied. Planted on top: one growing problem (a category at a
// place, a few cases a week at first and more each week) and one unusual day (a burst of one
// category in a small area in the last hours). Cases of the last day are closed too: the live map
// shows only live cases.

#include <cstdint>
#include <string>
#include <vector>

#include "gridwatch/domain/catalog.h"
#include "gridwatch/domain/order.h"
#include "gridwatch/domain/time.h"

namespace gridwatch::center {

struct HistoryOptions {
  Timestamp from, to;
  double per_day = 40;
  uint64_t seed = 20261204;
  double west = 0, south = 0, east = 0, north = 0;  // where the cases are (WGS 84)
  // The growing problem: `grow_category` at `grow_at` (within ~60 m), from `grow_first` cases in
  // the first week to `grow_last` in the last (none when grow_category is empty).
  std::string grow_category;
  LonLat grow_at;
  int grow_first = 3, grow_last = 15;
  // The unusual day: `burst` cases of `burst_category` around `burst_at` (`burst_m` the spread)
  // opened from `burst_from` to `to` (the last hour when not set).
  std::string burst_category;
  LonLat burst_at;
  int burst = 0;
  double burst_m = 300;
  Timestamp burst_from{};
};

struct HistoryCase {
  std::string id, category, department, priority, source_kind, description;
  LonLat at;
  Timestamp opened, dispatched, responded, resolved;
  Duration respond_within{}, resolve_within{};
  std::string satisfaction;  // "satisfied", "unsatisfied" or "" (not evaluated)
};

std::vector<HistoryCase> generate_history(const HistoryOptions& o, const Catalog& catalog);

}  // namespace gridwatch::center
