#include "gridwatch/center/store.h"

// Sources into cases: edge order events (one at a time and in batches), tickets, split and merge.

#include <libpq-fe.h>

#include <array>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "gridwatch/center/dispatch.h"
#include "gridwatch/center/merge.h"
#include "gridwatch/geo/distance.h"
#include "gridwatch/platform/services.h"
#include "sql_queries.h"
#include "store_db.h"

namespace gridwatch::center {

using namespace db;  // the store's plumbing (store_db.h)

namespace {

// The JSON given to gw_add_source / gw_update_source for an edge order event.
// The source's "areas" and "area_code", when it is placed.
void put_placement(nlohmann::json& source, const Store::Placement* placement) {
  if (!placement || placement->finest.empty()) return;
  source["areas"] = placement->levels;
  source["area_code"] = placement->finest;
}

nlohmann::json edge_source(const OrderEvent& e, const Store::Placement* placement) {
  nlohmann::json p = {{"id", e.id},
                      {"event", std::string(to_string(e.event))},
                      {"kind", std::string(to_string(e.source.kind))},
                      {"channel", "mqtt"},
                      // Two rules or zones of one device are not independent reports.
                      {"reporter", e.source.device_id.empty()
                                       ? e.source.agent_id
                                       : fmt::format("{}/{}", e.source.agent_id, e.source.device_id)},
                      {"category", e.category},
                      {"priority", std::string(to_string(e.priority))},
                      {"agent_id", e.source.agent_id},
                      {"description", e.description},
                      {"evidence", e.evidence},
                      {"observed_at", format_rfc3339(e.observed_at)},
                      {"reported_at", format_rfc3339(e.first_seen_at.value_or(e.observed_at))}};
  if (!e.source.device_id.empty()) p["device_id"] = e.source.device_id;
  if (!e.source.rule.empty()) p["rule"] = e.source.rule;
  if (e.event == OrderEventKind::kClear) p["status"] = "cleared";
  if (e.location) {
    p["lon"] = e.location->position.lon;
    p["lat"] = e.location->position.lat;
    if (e.location->accuracy_m) p["accuracy_m"] = *e.location->accuracy_m;
  }
  if (e.confidence) p["confidence"] = *e.confidence;
  put_placement(p, placement);
  return p;
}

}  // namespace

Result<Outcome> Store::apply(const OrderEvent& e, std::string_view raw_payload, const Placement* placement) {
  std::vector<EdgeEvent> one{{&e, raw_payload, placement}};
  auto r = apply_batch(one);
  if (!r) return std::unexpected(r.error());
  return std::move(r->front());
}

Result<std::vector<Result<Outcome>>> Store::apply_batch(const std::vector<EdgeEvent>& events) {
  auto l = lease();
  if (!l) return std::unexpected(l.error());
  pg_conn* c = l->get();
  std::vector<std::string> params;
  params.reserve(events.size() * 2);
  std::vector<int64_t> locks;
  for (const EdgeEvent& ev : events) {
    nlohmann::json p = edge_source(*ev.event, ev.placement);
    // An update may overtake its open: it carries what a new source needs. A clear of an order
    // never seen opens a (cleared) case of its own rather than joining one.
    const Category* cat = catalog_->find(ev.event->category);
    if (cat && ev.event->event != OrderEventKind::kClear)
      add_merge_plan(p, *catalog_, *cat,
                     ev.event->location ? std::optional<LonLat>(ev.event->location->position) : std::nullopt);
    for (const auto& k : p.value("locks", nlohmann::json::array())) locks.push_back(k.get<int64_t>());
    params.push_back(p.dump());
    params.emplace_back(ev.raw);
  }
  // Every lock the batch needs, in one ascending order, before any event: batches of several
  // centers and single tickets (which lock in the same order) never wait for each other in a cycle.
  std::sort(locks.begin(), locks.end());
  locks.erase(std::unique(locks.begin(), locks.end()), locks.end());
  std::string lock_array = "{";
  for (size_t i = 0; i < locks.size(); ++i) lock_array += (i ? "," : "") + std::to_string(locks[i]);
  lock_array += "}";

  std::string state;  // SQLSTATE of the first failure
  auto broken = [&](std::string what) -> Result<std::vector<Result<Outcome>>> {
    if (PQpipelineStatus(c) != PQ_PIPELINE_OFF) {
      for (int idle = 0; idle < 2;) {
        PGresult* r = PQgetResult(c);
        if (!r) {
          ++idle;
          continue;
        }
        idle = PQresultStatus(r) == PGRES_PIPELINE_SYNC ? 2 : 0;
        PQclear(r);
      }
      // A connection that cannot leave pipeline mode is not given back as it is.
      if (PQexitPipelineMode(c) != 1) PQreset(c);
    }
    const bool gone = PQstatus(c) != CONNECTION_OK;
    if (!gone) PgResult(PQexec(c, "ROLLBACK"));
    // Deadlock, serialization failure, lock timeout: nothing was stored; trying again will do.
    const bool retry = gone || state == "40P01" || state == "40001" || state == "55P03";
    return fail(retry ? ErrorCode::kUnavailable : ErrorCode::kInternal, fmt::format("database: {}", what));
  };
  if (PQenterPipelineMode(c) != 1) return broken(PQerrorMessage(c));
  bool sent = PQsendQueryParams(c, "BEGIN", 0, nullptr, nullptr, nullptr, nullptr, 0) == 1;
  const char* lock_values[1] = {lock_array.c_str()};
  sent = sent && PQsendQueryParams(c, sql::merge_locks, 1,
                                   nullptr, lock_values, nullptr, nullptr, 0) == 1;
  for (size_t i = 0; sent && i < events.size(); ++i) {
    const char* values[2] = {params[2 * i].c_str(), params[2 * i + 1].c_str()};
    sent = PQsendQueryParams(c, sql::ingest_edge, 2, nullptr, values, nullptr,
                             nullptr, 0) == 1;
  }
  sent = sent && PQsendQueryParams(c, "COMMIT", 0, nullptr, nullptr, nullptr, nullptr, 0) == 1;
  sent = sent && PQpipelineSync(c) == 1;
  if (!sent) return broken(PQerrorMessage(c));
  std::vector<Result<Outcome>> out;
  out.reserve(events.size());
  std::string failure;
  // Results: BEGIN, the locks, one per event, COMMIT, then the sync point; each but the sync
  // followed by a null.
  const size_t first_event = 2, statements = events.size() + 3;
  for (size_t k = 0; k < statements; ++k) {
    PgResult r(PQgetResult(c));
    if (!r) return broken(PQerrorMessage(c));
    const auto st = PQresultStatus(r.get());
    PgResult(PQgetResult(c));  // the null that ends this statement's results
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
      if (failure.empty()) {
        failure = PQresultErrorMessage(r.get());
        const char* code = PQresultErrorField(r.get(), PG_DIAG_SQLSTATE);
        state = code ? code : "";
      }
      continue;
    }
    if (k < first_event || k == statements - 1) continue;
    const EdgeEvent& ev = events[k - first_event];
    auto j = nlohmann::json::parse(PQgetvalue(r.get(), 0, 0));
    const auto stored = parse_stored(j.value("result", ""));
    if (!stored) {
      out.push_back(fail(ErrorCode::kInvalidArgument, fmt::format("database: {}", j.value("error", j.dump())), "database"));
    } else {
      out.push_back(Outcome{*stored, j.value("case_id", ""), ev.event->id, "", {}});
    }
  }
  PgResult sync(PQgetResult(c));  // PGRES_PIPELINE_SYNC
  if (PQresultStatus(sync.get()) != PGRES_PIPELINE_SYNC) return broken("pipeline out of step");
  if (PQexitPipelineMode(c) != 1) return broken(PQerrorMessage(c));
  if (!failure.empty()) return broken(failure);
  return out;
}

std::string_view to_string(Stored s) {
  constexpr std::string_view kNames[] = {"new", "merged", "updated", "duplicate"};  // in the enum's order
  return kNames[static_cast<size_t>(s)];
}

std::optional<Stored> parse_stored(std::string_view result) {
  if (result == "new") return Stored::kNew;
  if (result == "merged") return Stored::kMerged;
  if (result == "updated") return Stored::kUpdated;
  if (result == "duplicate" || result == "exists") return Stored::kDuplicate;  // an edge order; a ticket
  return std::nullopt;
}

Store::Placement Store::Placement::of(const geo::AreaIndex* areas, std::optional<LonLat> where) {
  Placement p;
  if (!areas || !where) return p;
  if (const geo::Area* a = areas->locate(*where)) {
    p.finest = a->code;
    for (const geo::Area* up : areas->lineage(a)) p.levels[up->level_name] = up->code;
  }
  return p;
}

Result<Outcome> Store::add_source(nlohmann::json source, std::optional<LonLat> where, const Placement* placement) {
  const Category* cat = catalog_->find(source.value("category", ""));
  if (!cat) return fail(ErrorCode::kInvalidArgument, "unknown category", "category");
  add_merge_plan(source, *catalog_, *cat, where);
  put_placement(source, placement);
  if (where) {
    source["lon"] = where->lon;
    source["lat"] = where->lat;
  }
  auto l = lease();
  if (!l) return std::unexpected(l.error());
  auto a = call_json(l->get(), sql::add_source, {source.dump()});
  if (!a) return std::unexpected(a.error());
  const auto stored = parse_stored(a->value("result", ""));
  if (!stored) return fail(ErrorCode::kInternal, fmt::format("gw_add_source answered {}", a->dump()), "database");
  Outcome out{*stored, a->value("case_id", ""), a->value("id", ""), "",
              a->contains("decision") ? a->at("decision") : nlohmann::json()};
  if (a->contains("token") && a->at("token").is_string()) out.token = a->at("token");
  return out;
}

namespace {

// One value of a case function (gw_split_case, gw_merge_case): its errors by SQLSTATE — no such
// case (P0002) is kNotFound, a refused request (22023) kInvalidArgument on `field`.
Result<std::string> call_case_function(pg_conn* c, const char* sql, const std::vector<std::string>& args,
                                       const char* field) {
  std::vector<const char*> values;
  for (const std::string& a : args) values.push_back(a.c_str());
  PgResult r(PQexecParams(c, sql, static_cast<int>(values.size()), nullptr, values.data(), nullptr, nullptr, 0));
  if (PQresultStatus(r.get()) == PGRES_TUPLES_OK) return std::string(PQgetvalue(r.get(), 0, 0));
  const char* state = PQresultErrorField(r.get(), PG_DIAG_SQLSTATE);
  const char* msg = PQresultErrorField(r.get(), PG_DIAG_MESSAGE_PRIMARY);
  const std::string st = state ? state : "";
  if (st == "P0002") return fail(ErrorCode::kNotFound, msg ? msg : "no such case", "id");
  if (st == "22023") return fail(ErrorCode::kInvalidArgument, msg ? msg : "refused", field);
  return fail(PQstatus(c) != CONNECTION_OK ? ErrorCode::kUnavailable : ErrorCode::kInternal,
              fmt::format("database: {}", PQresultErrorMessage(r.get())));
}

}  // namespace

Result<std::string> Store::split_case(std::string_view case_id, const std::vector<std::string>& source_ids,
                                      std::string_view reason, std::string_view actor) {
  auto l = lease();
  if (!l) return std::unexpected(l.error());
  return call_case_function(l->get(), sql::split_case,
                            {std::string(case_id), *text_array(source_ids), std::string(reason), std::string(actor)},
                            "sources");
}

Result<int> Store::merge_case(std::string_view case_id, std::string_view into, std::string_view reason,
                              std::string_view actor) {
  auto l = lease();
  if (!l) return std::unexpected(l.error());
  auto moved = call_case_function(l->get(), sql::merge_case,
                                  {std::string(case_id), std::string(into), std::string(reason), std::string(actor)},
                                  "into");
  if (!moved) return std::unexpected(moved.error());
  return std::stoi(*moved);
}

}  // namespace gridwatch::center
