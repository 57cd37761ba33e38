// Query strings of the API (/api/v1/orders, /api/v1/stats, Open311 GET requests): any
// parameters, any values; the parsers refuse or accept, never crash.
#include "fuzz_target.h"

#include <string>

#include "gridwatch/center/queries.h"
#include "gridwatch/domain/catalog.h"
#include "gridwatch/domain/time.h"
#include "gridwatch/geo/areas.h"

GW_FUZZ_TARGET(queries) {
  using namespace gridwatch;
  center::QueryParams params;
  const std::string_view q = fuzz::text(data, size);
  size_t pos = 0;
  while (pos <= q.size()) {
    const size_t amp = std::min(q.find('&', pos), q.size());
    const std::string_view pair = q.substr(pos, amp - pos);
    const size_t eq = pair.find('=');
    params.emplace(std::string(pair.substr(0, eq)), eq == std::string_view::npos ? "" : std::string(pair.substr(eq + 1)));
    pos = amp + 1;
  }
  const Catalog& catalog = Catalog::builtin();
  static const std::shared_ptr<const geo::AreaIndex> areas = [] {
    auto index = geo::AreaIndex::build({});
    if (!index) fuzz::broken("an empty area index cannot be built");
    return *index;
  }();
  const Timestamp now = parse_rfc3339("2026-12-01T00:00:00Z").value();
  (void)center::parse_order_query(params, catalog);
  (void)center::parse_stats_query(params, {"district", "street"}, *areas, now);
  (void)center::parse_request_query(params, catalog, 50, now);
  return 0;
}
