// Dispatch policy as pure functions, apart from the store that applies it: where a case goes
// when a dispatcher sends it on (直派 to the unit that owns the place, or the unit named; after a
// 退单 only a named unit), and the SLA its dispatch starts. No database, no clock: unit-tested on
// their own. Thread-safe.
#pragma once

#include <expected>
#include <string>

#include <nlohmann/json.hpp>

#include "gridwatch/center/lifecycle.h"
#include "gridwatch/domain/catalog.h"

namespace gridwatch::center {

// Why a dispatch has no unit to go to.
enum class RouteRefusal {
  kRejectedNameAUnit,  // the unit sent the case back (退单): the dispatcher must name a unit
  kNoOwningArea,       // the case is in no area of the dispatch level (the dispatcher's queue)
};

struct RouteRequest {
  std::string named_unit;      // the unit the dispatcher named; empty: the place's owner
  CaseState from = CaseState::kNew;
  const nlohmann::json* areas = nullptr;  // the case's placement {"district": "110102", ...}
  std::string dispatch_level;  // the area level whose code is the owning unit, e.g. "street"
};

// The unit a dispatch goes to: the named one (which also overrules a rejection), else the code of
// the case's area at `dispatch_level`, unless the case was sent back.
std::expected<std::string, RouteRefusal> route_dispatch(const RouteRequest& request);

struct Sla {
  Duration respond{};
  Duration resolve{};
};

// The SLA a dispatch of a `category` case at `priority` starts: the category's, capped for urgent
// cases by the catalog's urgent_sla.
Sla dispatch_sla(const Catalog& catalog, const Category& category, Priority priority);

}  // namespace gridwatch::center
