#include "gridwatch/center/dispatch.h"

#include <algorithm>

namespace gridwatch::center {

std::expected<std::string, RouteRefusal> route_dispatch(const RouteRequest& request) {
  if (!request.named_unit.empty()) return request.named_unit;
  if (request.from == CaseState::kRejected) return std::unexpected(RouteRefusal::kRejectedNameAUnit);
  const nlohmann::json* areas = request.areas;
  if (areas && areas->is_object()) {
    auto it = areas->find(request.dispatch_level);
    if (it != areas->end() && it->is_string() && !it->get_ref<const std::string&>().empty())
      return it->get<std::string>();
  }
  return std::unexpected(RouteRefusal::kNoOwningArea);
}

Sla dispatch_sla(const Catalog& catalog, const Category& category, Priority priority) {
  Sla sla{category.respond_within, category.resolve_within};
  if (priority == Priority::kUrgent) {
    sla.respond = std::min(sla.respond, catalog.urgent_respond_within());
    sla.resolve = std::min(sla.resolve, catalog.urgent_resolve_within());
  }
  return sla;
}

}  // namespace gridwatch::center
