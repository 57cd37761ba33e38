#include "gridwatch/center/store.h"

// 智能派单: suggestions kept with their sources, and the dispatchers' choices as training labels.

#include <libpq-fe.h>

#include <nlohmann/json.hpp>

#include "sql_queries.h"
#include "store_db.h"

namespace gridwatch::center {

using namespace db;  // the store's plumbing (store_db.h)

Status Store::record_suggestion(std::string_view source_id, const nlohmann::json& suggestion) {
  auto l = lease();
  if (!l) return std::unexpected(l.error());
  auto r = exec(l->get(), sql::record_suggestion, {std::string(source_id), suggestion.dump()});
  if (!r) return std::unexpected(r.error());
  return {};
}

Result<std::vector<Store::Label>> Store::labels(std::optional<std::string> since, size_t limit) {
  auto l = lease();
  if (!l) return std::unexpected(l.error());
  Param from;
  if (since) from = *since;
  auto r = exec(l->get(), sql::labels, {from, std::to_string(limit)});
  if (!r) return std::unexpected(r.error());
  std::vector<Label> out;
  for (int i = 0; i < PQntuples(r->get()); ++i)
    out.push_back({PQgetvalue(r->get(), i, 0), PQgetvalue(r->get(), i, 1), PQgetvalue(r->get(), i, 2),
                   PQgetvalue(r->get(), i, 3), PQgetvalue(r->get(), i, 4), PQgetvalue(r->get(), i, 5)});
  return out;
}

}  // namespace gridwatch::center
