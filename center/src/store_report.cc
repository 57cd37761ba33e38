#include "gridwatch/center/store.h"

// The report's figures that the rates and the analytics do not give: the categories against the
// span before, and how the cases were handled (center/report.h).

#include <libpq-fe.h>

#include <nlohmann/json.hpp>

#include "sql_queries.h"
#include "store_db.h"

namespace gridwatch::center {

using namespace db;  // the store's plumbing (store_db.h)

Result<nlohmann::json> Store::report_categories(Timestamp from, Timestamp to, Timestamp previous_from,
                                                const std::string& area_level, const std::string& area_code) {
  auto l = lease_read();
  if (!l) return std::unexpected(l.error());
  return call_json(l->get(), sql::report_categories,
                   {format_rfc3339(from), format_rfc3339(to), format_rfc3339(previous_from),
                    optional_text(area_code.empty() ? "" : area_level), optional_text(area_code)});
}

Result<nlohmann::json> Store::report_handling(Timestamp from, Timestamp to, Timestamp now,
                                              const std::string& area_level, const std::string& area_code) {
  auto l = lease_read();
  if (!l) return std::unexpected(l.error());
  return call_json(l->get(), sql::report_handling,
                   {format_rfc3339(from), format_rfc3339(to), format_rfc3339(now),
                    optional_text(area_code.empty() ? "" : area_level), optional_text(area_code)});
}

}  // namespace gridwatch::center
