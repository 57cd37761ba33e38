#include "gridwatch/center/store.h"

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
#include "migrations.h"

namespace gridwatch::center {
namespace {

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using PgResult = std::unique_ptr<PGresult, ResultDeleter>;
using Param = std::optional<std::string>;

Result<PgResult> exec(pg_conn* c, const char* sql, const std::vector<Param>& params = {},
                      bool binary_last = false) {
  std::vector<const char*> values;
  std::vector<int> lengths, formats;
  for (const auto& p : params) {
    values.push_back(p ? p->c_str() : nullptr);
    lengths.push_back(p ? static_cast<int>(p->size()) : 0);
    formats.push_back(0);
  }
  if (binary_last && !formats.empty()) formats.back() = 1;
  PgResult r(PQexecParams(c, sql, static_cast<int>(params.size()), nullptr, values.data(),
                          lengths.data(), formats.data(), 0));
  auto st = PQresultStatus(r.get());
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
    bool gone = PQstatus(c) != CONNECTION_OK;
    return fail(gone ? ErrorCode::kUnavailable : ErrorCode::kInternal,
                fmt::format("database: {}", PQresultErrorMessage(r.get())));
  }
  return r;
}

// A transaction on one connection: rolled back when it goes out of scope before commit(), so an
// early return on an error needs nothing else.
class Transaction {
 public:
  explicit Transaction(pg_conn* c) : c_(c) {}
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction() {
    if (open_) PgResult(PQexec(c_, "ROLLBACK"));
  }
  [[nodiscard]] Status begin();
  [[nodiscard]] Status commit();

 private:
  pg_conn* c_;
  bool open_ = false;
};

// Runs a script of several statements (no parameters: migrations only).
Status exec_script(pg_conn* c, const char* sql) {
  PgResult r(PQexec(c, sql));
  if (PQresultStatus(r.get()) != PGRES_COMMAND_OK && PQresultStatus(r.get()) != PGRES_TUPLES_OK)
    return fail(ErrorCode::kInternal, fmt::format("database: {}", PQresultErrorMessage(r.get())));
  return {};
}

Status Transaction::begin() {
  if (auto r = exec(c_, "BEGIN"); !r) return std::unexpected(r.error());
  open_ = true;
  return {};
}

Status Transaction::commit() {
  open_ = false;
  if (auto r = exec(c_, "COMMIT"); !r) return std::unexpected(r.error());
  return {};
}

Param text_array(const std::vector<std::string>& v) {
  if (v.empty()) return std::nullopt;
  // Values are validated identifiers ([a-z._]); quote each anyway.
  std::string out = "{";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) out += ',';
    out += '"';
    for (char ch : v[i]) {
      if (ch == '"' || ch == '\\') out += '\\';
      out += ch;
    }
    out += '"';
  }
  return out + "}";
}

std::string num(double v) { return fmt::format("{:.17g}", v); }

constexpr const char* kFeatureSql = R"sql(
  json_build_object(
    'type', 'Feature',
    'id', o.id,
    'geometry', CASE WHEN o.geom IS NULL THEN NULL ELSE ST_AsGeoJSON(o.geom, 7)::json END,
    'properties', json_build_object(
      'id', o.id, 'category', o.category, 'priority', o.priority, 'status', o.status,
      'source', json_build_object('kind', o.source_kind, 'agent_id', o.agent_id,
                                  'device_id', o.device_id, 'rule', o.rule),
      'accuracy_m', o.accuracy_m, 'confidence', o.confidence,
      'first_seen_at', gw_rfc3339(o.first_seen_at), 'observed_at', gw_rfc3339(o.observed_at),
      'received_at', gw_rfc3339(o.received_at), 'updated_at', gw_rfc3339(o.updated_at),
      'cleared_at', gw_rfc3339(o.cleared_at), 'description', o.description,
      'evidence', o.evidence, 'areas', o.areas, 'area_code', o.area_code,
      'opened_at', gw_rfc3339(o.opened_at), 'reports', o.reports, 'source_count', o.source_count,
      'preempted', o.preempted, 'proactive', o.proactive, 'address', o.address,
      'queue', CASE WHEN o.area_code IS NULL THEN 'dispatcher' ELSE 'area' END,
      'state', o.state, 'state_changed_at', gw_rfc3339(o.state_changed_at), 'unit_code', o.unit_code,
      'department', o.department, 'dispatched_at', gw_rfc3339(o.dispatched_at),
      'respond_due', gw_rfc3339(o.respond_due), 'resolve_due', gw_rfc3339(o.resolve_due),
      'responded_at', gw_rfc3339(o.responded_at), 'resolved_at', gw_rfc3339(o.resolved_at),
      'satisfaction', o.satisfaction, 'assignee', o.assignee,
      'first_dispatched_at', gw_rfc3339(o.first_dispatched_at),
      'verified_by_sensor', CASE WHEN o.verified_at IS NULL THEN NULL
                                 ELSE json_build_object('at', gw_rfc3339(o.verified_at), 'source_id', o.verified_by) END,
      'overdue', to_json(array_remove(ARRAY[CASE WHEN o.overdue_respond_at IS NOT NULL THEN 'respond' END,
                                            CASE WHEN o.overdue_resolve_at IS NOT NULL THEN 'resolve' END], NULL))))
)sql";

// A case as a map draws it (GET /api/v1/orders?fields=map).
constexpr const char* kMapFeatureSql = R"sql(
  json_build_object(
    'type', 'Feature',
    'id', o.id,
    'geometry', CASE WHEN o.geom IS NULL THEN NULL ELSE ST_AsGeoJSON(o.geom, 6)::json END,
    'properties', json_build_object(
      'id', o.id, 'category', o.category, 'priority', o.priority, 'status', o.status,
      'state', o.state, 'source', o.source_kind, 'reports', o.reports, 'proactive', o.proactive,
      'preempted', o.preempted,
      'overdue', o.overdue_respond_at IS NOT NULL OR o.overdue_resolve_at IS NOT NULL))
)sql";

// COPY text format: escape backslash, tab, newline and carriage return.
void copy_escape(std::string& out, std::string_view v) {
  for (char ch : v) {
    switch (ch) {
      case '\\': out += "\\\\"; break;
      case '\t': out += "\\t"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      default: out += ch;
    }
  }
}

// The cases a scope may see (center/store.h, Scope), as a condition on orders `o` with the unit,
// area level and area code as parameters $first, $first+1 and $first+2.
std::string scope_sql(int first) {
  return fmt::format(
      "(${0}::text IS NULL OR o.unit_code = ${0} OR o.department = ${0}) AND "
      "(${2}::text IS NULL OR o.areas @> jsonb_build_object(${1}::text, ${2}::text))",
      first, first + 1, first + 2);
}

std::array<Param, 3> scope_params(const Scope& s) {
  auto opt = [](const std::string& v) { return v.empty() ? Param{} : Param{v}; };
  return {opt(s.unit), opt(s.area_code.empty() ? "" : s.area_level), opt(s.area_code)};
}

// kNotFound for no such case, kDenied when it is outside `scope`.
Status case_in_scope(pg_conn* c, const std::string& id, const Scope& scope) {
  const auto sp = scope_params(scope);
  auto r = exec(c, fmt::format("SELECT {} FROM orders o WHERE o.id = $1", scope_sql(2)).c_str(), {id, sp[0], sp[1], sp[2]});
  if (!r) return std::unexpected(r.error());
  if (PQntuples(r->get()) == 0) return fail(ErrorCode::kNotFound, fmt::format("no case \"{}\"", id), "id");
  if (std::string_view(PQgetvalue(r->get(), 0, 0)) == "t") return {};
  if (!scope.area_code.empty())
    return fail(ErrorCode::kDenied, fmt::format("case \"{}\" is not in {} {}", id, scope.area_level, scope.area_code),
                "id");
  return fail(ErrorCode::kDenied,
              fmt::format("case \"{}\" is neither dispatched to unit {} nor of its department", id, scope.unit), "id");
}

}  // namespace

class Store::Lease {
 public:
  Lease(Store* s, pg_conn* c) : store_(s), conn_(c) {}
  Lease(Lease&& o) noexcept : store_(o.store_), conn_(o.conn_) { o.conn_ = nullptr; }
  Lease(const Lease&) = delete;
  ~Lease() {
    if (conn_) store_->give_back(conn_);
  }
  pg_conn* get() const { return conn_; }

 private:
  Store* store_;
  pg_conn* conn_;
};

Result<std::unique_ptr<Store>> Store::open(const std::string& conninfo, int pool_size,
                                           const Catalog& catalog) {
  std::unique_ptr<Store> s(new Store());
  s->conninfo_ = conninfo;
  s->catalog_ = &catalog;
  for (int i = 0; i < pool_size; ++i) {
    pg_conn* c = PQconnectdb(conninfo.c_str());
    if (PQstatus(c) != CONNECTION_OK) {
      std::string msg = PQerrorMessage(c);
      PQfinish(c);
      return fail(ErrorCode::kUnavailable, fmt::format("cannot connect to PostgreSQL: {}", msg),
                  "database.conninfo");
    }
    PQsetNoticeProcessor(
        c, [](void*, const char* message) { spdlog::debug("database: {}", message); }, nullptr);
    PgResult(PQexec(c, "SET application_name = 'gridwatch-center'"));
    s->idle_.push_back(c);
  }
  s->size_ = pool_size;
  return s;
}

Store::~Store() {
  std::lock_guard lock(mu_);
  for (pg_conn* c : idle_) PQfinish(c);
}

Result<Store::Lease> Store::lease() {
  std::unique_lock lock(mu_);
  if (!cv_.wait_for(lock, std::chrono::seconds{30}, [this] { return !idle_.empty(); }))
    return fail(ErrorCode::kUnavailable, "no free database connection within 30 s");
  pg_conn* c = idle_.back();
  idle_.pop_back();
  lock.unlock();
  if (PQstatus(c) != CONNECTION_OK) PQreset(c);  // reconnect after a server restart
  return Lease(this, c);
}

void Store::give_back(pg_conn* c) {
  {
    std::lock_guard lock(mu_);
    idle_.push_back(c);
  }
  cv_.notify_one();
}

Status Store::migrate() {
  auto l = lease();
  if (!l) return std::unexpected(l.error());
  pg_conn* c = l->get();
  Transaction txn(c);
  if (auto st = txn.begin(); !st) return std::unexpected(st.error());
  if (auto r = exec(c, "SELECT pg_advisory_xact_lock(7353001)"); !r) return std::unexpected(r.error());
  if (auto r = exec(c, "CREATE TABLE IF NOT EXISTS schema_migrations (version int PRIMARY KEY, "
                       "name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())");
      !r)
    return std::unexpected(r.error());
  auto cur = exec(c, "SELECT coalesce(max(version), 0) FROM schema_migrations");
  if (!cur) return std::unexpected(cur.error());
  int version = std::stoi(PQgetvalue(cur->get(), 0, 0));
  for (const Migration& m : migrations()) {
    if (m.version <= version) continue;
    if (auto r = exec_script(c, m.sql); !r)
      return std::unexpected(Error{r.error().code,
                            fmt::format("migration {} ({}): {}", m.version, m.name, r.error().message),
                            ""});
    if (auto r = exec(c, "INSERT INTO schema_migrations (version, name) VALUES ($1::int, $2)",
                      {std::to_string(m.version), std::string(m.name)});
        !r)
      return std::unexpected(r.error());
    spdlog::info("database migrated to schema version {} ({})", m.version, m.name);
  }
  if (auto st = txn.commit(); !st) return std::unexpected(st.error());
  return {};
}

Result<int> Store::schema_version() {
  auto l = lease();
  if (!l) return std::unexpected(l.error());
  auto r = exec(l->get(), "SELECT coalesce(max(version), 0) FROM schema_migrations");
  if (!r) return std::unexpected(r.error());
  return std::stoi(PQgetvalue(r->get(), 0, 0));
}

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

Result<nlohmann::json> call_json(pg_conn* c, const char* sql, const std::vector<Param>& params) {
  auto r = exec(c, sql, params);
  if (!r) return std::unexpected(r.error());
  return nlohmann::json::parse(PQgetvalue(r->get(), 0, 0));
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
  sent = sent && PQsendQueryParams(c, "SELECT count(pg_advisory_xact_lock(k)) FROM unnest($1::bigint[]) AS k", 1,
                                   nullptr, lock_values, nullptr, nullptr, 0) == 1;
  for (size_t i = 0; sent && i < events.size(); ++i) {
    const char* values[2] = {params[2 * i].c_str(), params[2 * i + 1].c_str()};
    sent = PQsendQueryParams(c, "SELECT gw_ingest_edge($1::jsonb, $2::jsonb)::text", 2, nullptr, values, nullptr,
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
    const std::string result = j.value("result", "");
    if (result == "error") {
      out.push_back(fail(ErrorCode::kInvalidArgument, fmt::format("database: {}", j.value("error", "")), "database"));
    } else {
      out.push_back(Outcome{result == "duplicate" ? Applied::kDuplicate : Applied::kStored, j.value("case_id", ""),
                            result, ev.event->id, "", {}});
    }
  }
  PgResult sync(PQgetResult(c));  // PGRES_PIPELINE_SYNC
  if (PQresultStatus(sync.get()) != PGRES_PIPELINE_SYNC) return broken("pipeline out of step");
  if (PQexitPipelineMode(c) != 1) return broken(PQerrorMessage(c));
  if (!failure.empty()) return broken(failure);
  return out;
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
  auto a = call_json(l->get(), "SELECT gw_add_source($1::jsonb)::text", {source.dump()});
  if (!a) return std::unexpected(a.error());
  const std::string result = a->value("result", "");
  Outcome out{result == "exists" ? Applied::kDuplicate : Applied::kStored, a->value("case_id", ""), result,
              a->value("id", ""), "", a->contains("decision") ? a->at("decision") : nlohmann::json()};
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
  return call_case_function(l->get(), "SELECT gw_split_case($1, $2::text[], $3, $4)",
                            {std::string(case_id), *text_array(source_ids), std::string(reason), std::string(actor)},
                            "sources");
}

Result<int> Store::merge_case(std::string_view case_id, std::string_view into, std::string_view reason,
                              std::string_view actor) {
  auto l = lease();
  if (!l) return std::unexpected(l.error());
  auto moved = call_case_function(l->get(), "SELECT gw_merge_case($1, $2, $3, $4)",
                                  {std::string(case_id), std::string(into), std::string(reason), std::string(actor)},
                                  "into");
  if (!moved) return std::unexpected(moved.error());
  return std::stoi(*moved);
}

Result<nlohmann::json> Store::requests(const RequestQuery& q) {
  auto l = lease();
  if (!l) return std::unexpected(l.error());
  Param start, end;
  if (q.start) start = format_rfc3339(*q.start);
  if (q.end) end = format_rfc3339(*q.end);
  const bool by_id = !q.ids.empty();
  return call_json(l->get(), R"sql(
SELECT coalesce(json_agg(json_strip_nulls(json_build_object(
  'service_request_id', r.id, 'status', r.status, 'service_code', r.category,
  'description', nullif(r.description, ''), 'requested_datetime', gw_rfc3339(r.reported_at),
  'updated_datetime', gw_rfc3339(r.updated), 'address', r.address,
  'address_id', r.attributes->>'address_id', 'lat', ST_Y(r.geom), 'long', ST_X(r.geom),
  'media_url', r.media_url, 'case_id', r.case_id, 'source_count', r.source_count, 'state', r.state))
  ORDER BY r.reported_at DESC, r.id), '[]')::text
FROM (SELECT s.id, s.category, s.description, s.reported_at, s.address, s.attributes, s.geom,
             s.media_url, s.case_id, o.source_count,
             CASE WHEN o.status = 'cleared' OR o.state IN ('closed', 'cancelled', 'duplicate') THEN 'closed'
                  ELSE 'open' END AS status, o.state,
             greatest(s.updated_at, o.updated_at) AS updated
      FROM sources s JOIN orders o ON o.id = s.case_id
      WHERE ($1::text[] IS NULL OR s.id = ANY($1::text[]))
        AND ($2::text[] IS NULL OR s.category = ANY($2::text[]))
        AND ($3::timestamptz IS NULL OR s.reported_at >= $3::timestamptz)
        AND ($4::timestamptz IS NULL OR s.reported_at <= $4::timestamptz)
        AND ($5::text IS NULL OR (CASE WHEN o.status = 'cleared' OR o.state IN ('closed', 'cancelled', 'duplicate') THEN 'closed'
                  ELSE 'open' END) = $5)
      ORDER BY s.reported_at DESC, s.id
      LIMIT $6::int OFFSET $7::int) r
)sql",
                   {text_array(q.ids), by_id ? Param{} : text_array(q.service_codes), by_id ? Param{} : start,
                    by_id ? Param{} : end, by_id || !q.status ? Param{} : Param{*q.status},
                    std::to_string(q.page_size), std::to_string((q.page - 1) * q.page_size)});
}

Result<bool> Store::token_reports(std::string_view token, std::string_view case_id) {
  auto l = lease();
  if (!l) return std::unexpected(l.error());
  auto r = exec(l->get(), "SELECT 1 FROM sources WHERE token = $1 AND case_id = $2",
                {std::string(token), std::string(case_id)});
  if (!r) return std::unexpected(r.error());
  return PQntuples(r->get()) == 1;
}

Result<std::optional<std::string>> Store::request_of_token(std::string_view token) {
  auto l = lease();
  if (!l) return std::unexpected(l.error());
  auto r = exec(l->get(), "SELECT id FROM sources WHERE token = $1", {std::string(token)});
  if (!r) return std::unexpected(r.error());
  if (PQntuples(r->get()) == 0) return std::optional<std::string>{};
  return std::optional<std::string>{PQgetvalue(r->get(), 0, 0)};
}

Result<Transition> Store::transition(std::string_view case_id, CaseAction action, std::string_view reason,
                                     std::string_view actor, const TransitionOptions& o) {
  auto l = lease();
  if (!l) return std::unexpected(l.error());
  pg_conn* c = l->get();
  Transaction txn(c);
  if (auto st = txn.begin(); !st) return std::unexpected(st.error());
  const std::string id(case_id);
  auto cur = exec(c,
                  "SELECT state, category, priority, coalesce(areas, '{}')::text, coalesce(unit_code, '') FROM orders "
                  "WHERE id = $1 FOR UPDATE",
                  {id});
  if (!cur) return std::unexpected(cur.error());
  if (PQntuples(cur->get()) == 0) return std::unexpected(Error{ErrorCode::kNotFound, fmt::format("no case \"{}\"", id), "id"});
  if (!o.scope.empty())
    if (auto in = case_in_scope(c, id, o.scope); !in) return std::unexpected(in.error());
  if (!o.request_id.empty()) {
    // A phone that sent the step, lost the answer and sends it again gets the first result.
    auto prev = exec(c,
                     "SELECT action, detail->>'from', detail->>'to', gw_rfc3339(at), coalesce(detail->>'unit', ''), "
                     "coalesce(detail->>'worker', '') FROM case_history WHERE case_id = $1 AND detail ? 'request_id' "
                     "AND detail->>'request_id' = $2 ORDER BY id LIMIT 1",
                     {id, o.request_id});
    if (!prev) return std::unexpected(prev.error());
    if (PQntuples(prev->get()) == 1) {
      const std::string was = PQgetvalue(prev->get(), 0, 0);
      if (was != to_string(action))
        return std::unexpected(Error{ErrorCode::kInvalidArgument,
                                     fmt::format("request_id \"{}\" was already used for {} on case \"{}\"",
                                                 o.request_id, was, id),
                                     "request_id"});
      const auto f = parse_case_state(PQgetvalue(prev->get(), 0, 1));
      const auto t = parse_case_state(PQgetvalue(prev->get(), 0, 2));
      if (!f || !t) return std::unexpected(Error{ErrorCode::kInternal, "unknown state in the history", "state"});
      return Transition{*f, *t, PQgetvalue(prev->get(), 0, 3), PQgetvalue(prev->get(), 0, 4),
                        PQgetvalue(prev->get(), 0, 5), true};
    }
  }
  const auto from = parse_case_state(PQgetvalue(cur->get(), 0, 0));
  if (!from) return std::unexpected(Error{ErrorCode::kInternal, "unknown state in the database", "state"});
  auto to = next_state(*from, action);
  if (!to) return std::unexpected(to.error());
  if (action == CaseAction::kResolve) {
    // 吹哨报到: the case is done when every summoned unit is.
    auto open = exec(c,
                     "SELECT string_agg(unit, ', ' ORDER BY unit) FROM case_tasks WHERE case_id = $1 "
                     "AND state IN ('summoned', 'acknowledged')",
                     {id});
    if (!open) return std::unexpected(open.error());
    if (!PQgetisnull(open->get(), 0, 0))
      return std::unexpected(Error{ErrorCode::kInvalidArgument,
                            fmt::format("cannot resolve case \"{}\": summoned units have not finished: {}", id,
                                        PQgetvalue(open->get(), 0, 0)),
                            "action"});
  }
  nlohmann::json detail = {{"from", std::string(to_string(*from))},
                           {"to", std::string(to_string(*to))},
                           {"reason", std::string(reason)}};
  if (!o.request_id.empty()) detail["request_id"] = o.request_id;
  if (!o.photo_url.empty()) detail["photo_url"] = o.photo_url;
  Param unit, department, respond_s, resolve_s, satisfaction, worker;
  if (action == CaseAction::kDispatch) {
    // Straight to the unit that owns the place (直派), unless the dispatcher names one; after a
    // 退单 only a named unit (dispatch.h).
    const auto areas = nlohmann::json::parse(PQgetvalue(cur->get(), 0, 3), nullptr, false);
    auto routed = route_dispatch({.named_unit = o.unit, .from = *from, .areas = &areas, .dispatch_level = o.dispatch_level});
    if (!routed && routed.error() == RouteRefusal::kRejectedNameAUnit) {
      auto by = exec(c, "SELECT actor FROM case_history WHERE case_id = $1 AND action = 'reject' ORDER BY id DESC LIMIT 1",
                     {id});
      if (!by) return std::unexpected(by.error());
      return std::unexpected(Error{ErrorCode::kInvalidArgument,
                            fmt::format("case \"{}\" was rejected by {} (unit {}): name the unit to dispatch to", id,
                                        PQntuples(by->get()) ? PQgetvalue(by->get(), 0, 0) : "?",
                                        PQgetvalue(cur->get(), 0, 4)),
                            "unit"});
    }
    if (!routed)
      return std::unexpected(Error{ErrorCode::kInvalidArgument,
                            fmt::format("case \"{}\" is in no {} area (dispatcher queue): name the unit to dispatch to",
                                        id, o.dispatch_level),
                            "unit"});
    const std::string& u = *routed;
    const Category* cat = catalog_->find(PQgetvalue(cur->get(), 0, 1));
    if (!cat) return std::unexpected(Error{ErrorCode::kInternal, "case of an unknown category", "category"});
    const Sla sla = dispatch_sla(*catalog_, *cat,
                                 parse_priority(PQgetvalue(cur->get(), 0, 2)).value_or(cat->default_priority));
    const Duration respond = sla.respond, resolve = sla.resolve;
    unit = u;
    department = cat->department_code;
    respond_s = fmt::format("{} milliseconds", respond.count());
    resolve_s = fmt::format("{} milliseconds", resolve.count());
    detail["unit"] = u;
    detail["department"] = cat->department_code;
    // And to the nearest grid worker on duty in the case's area, when one reported lately.
    auto w = exec(c, R"sql(
SELECT w.id, round(ST_Distance(w.geom::geography, o.geom::geography)::numeric, 1)
FROM orders o JOIN workers w ON w.grid = o.areas->>$2
WHERE o.id = $1 AND w.on_duty AND w.geom IS NOT NULL AND o.geom IS NOT NULL
  AND w.located_at >= now() - $3::interval
ORDER BY w.geom::geography <-> o.geom::geography, w.id
LIMIT 1)sql",
                  {id, o.worker_level, fmt::format("{} milliseconds", o.worker_fresh.count())});
    if (!w) return std::unexpected(w.error());
    if (PQntuples(w->get()) == 1) {
      worker = PQgetvalue(w->get(), 0, 0);
      detail["worker"] = *worker;
      detail["worker_distance_m"] = std::stod(PQgetvalue(w->get(), 0, 1));
    }
  }
  if (!o.satisfaction.empty()) {
    satisfaction = o.satisfaction;
    detail["satisfaction"] = o.satisfaction;
  }
  auto up = exec(c, R"sql(
WITH moved AS (
  UPDATE orders SET
    state = $2, state_changed_at = now(), updated_at = now(),
    unit_code     = CASE WHEN $3 = 'dispatch' THEN $6 ELSE unit_code END,
    department    = CASE WHEN $3 = 'dispatch' THEN $7 ELSE department END,
    dispatched_at = CASE WHEN $3 = 'dispatch' THEN now() ELSE dispatched_at END,
    first_dispatched_at = CASE WHEN $3 = 'dispatch' THEN coalesce(first_dispatched_at, now())
                               ELSE first_dispatched_at END,
    assignee      = CASE WHEN $3 = 'dispatch' THEN $11 ELSE assignee END,
    respond_due   = CASE WHEN $3 = 'dispatch' THEN now() + $8::interval ELSE respond_due END,
    resolve_due   = CASE WHEN $3 = 'dispatch' THEN now() + $9::interval ELSE resolve_due END,
    responded_at  = CASE WHEN $3 = 'dispatch' THEN NULL
                         WHEN $3 IN ('accept', 'reject') THEN coalesce(responded_at, now())
                         ELSE responded_at END,
    resolved_at   = CASE WHEN $3 = 'dispatch' THEN NULL WHEN $3 = 'resolve' THEN now() ELSE resolved_at END,
    overdue_respond_at = CASE WHEN $3 = 'dispatch' THEN NULL ELSE overdue_respond_at END,
    overdue_resolve_at = CASE WHEN $3 = 'dispatch' THEN NULL ELSE overdue_resolve_at END,
    satisfaction  = coalesce($10, satisfaction)
  WHERE id = $1 RETURNING id)
INSERT INTO case_history (case_id, action, actor, detail)
SELECT id, $3, $4, $5::jsonb FROM moved
RETURNING gw_rfc3339(at)
)sql",
                 {id, std::string(to_string(*to)), std::string(to_string(action)), std::string(actor), detail.dump(),
                  unit, department, respond_s, resolve_s, satisfaction, worker});
  if (!up) return std::unexpected(up.error());
  const std::string at = PQgetvalue(up->get(), 0, 0);
  // Summons end with the round of work that made them: a case sent back, cancelled, marked a
  // duplicate or dispatched again no longer waits for them (nor can they resolve it).
  if (action == CaseAction::kReject || action == CaseAction::kCancel || action == CaseAction::kMarkDuplicate ||
      action == CaseAction::kDispatch)
    if (auto t = exec(c,
                      "UPDATE case_tasks SET state = 'cancelled' WHERE case_id = $1 "
                      "AND state IN ('summoned', 'acknowledged')",
                      {id});
        !t)
      return std::unexpected(t.error());
  // The resident says it is not fixed: an earlier sensor verification no longer holds.
  if (action == CaseAction::kReopen)
    if (auto v = exec(c, "UPDATE orders SET verified_at = NULL, verified_by = NULL WHERE id = $1", {id}); !v)
      return std::unexpected(v.error());
  if (auto st = txn.commit(); !st) return std::unexpected(st.error());
  return Transition{*from, *to, at, unit.value_or(""), worker.value_or("")};
}

Status Store::check_scope(std::string_view case_id, const Scope& scope) {
  auto l = lease();
  if (!l) return std::unexpected(l.error());
  return case_in_scope(l->get(), std::string(case_id), scope);
}

Result<std::string> Store::put_media(const Media& media, std::string_view uploaded_by) {
  auto l = lease();
  if (!l) return std::unexpected(l.error());
  const std::string id = platform::random_secret(16);
  auto r = exec(l->get(), "INSERT INTO media (id, content_type, uploaded_by, bytes) VALUES ($1, $2, $3, $4::bytea)",
                {id, media.content_type, std::string(uploaded_by), media.bytes}, /*binary_last=*/true);
  if (!r) return std::unexpected(r.error());
  return id;
}

Result<std::optional<Media>> Store::media(std::string_view id) {
  auto l = lease();
  if (!l) return std::unexpected(l.error());
  auto r = exec(l->get(), "SELECT content_type, bytes FROM media WHERE id = $1", {std::string(id)});
  if (!r) return std::unexpected(r.error());
  if (PQntuples(r->get()) == 0) return std::optional<Media>{};
  size_t n = 0;
  unsigned char* bytes = PQunescapeBytea(reinterpret_cast<const unsigned char*>(PQgetvalue(r->get(), 0, 1)), &n);
  if (!bytes) return fail(ErrorCode::kInternal, "database: the image could not be decoded");
  Media m{PQgetvalue(r->get(), 0, 0), std::string(reinterpret_cast<const char*>(bytes), n)};
  PQfreemem(bytes);
  return std::optional<Media>{std::move(m)};
}

Result<std::string> Store::cases_tile(int z, int x, int y, const Scope& scope) {
  auto l = lease();
  if (!l) return std::unexpected(l.error());
  const auto sp = scope_params(scope);
  const std::string sql = fmt::format(R"sql(
WITH t AS (SELECT ST_TileEnvelope($1::int, $2::int, $3::int) AS env),
c AS (
  SELECT o.id, o.category, o.state, o.priority, o.source_kind AS source, o.preempted, o.reports,
         (o.overdue_respond_at IS NOT NULL OR o.overdue_resolve_at IS NOT NULL) AS overdue,
         ST_AsMVTGeom(ST_Transform(o.geom, 3857), t.env, 4096, 64, true) AS geom
  FROM orders o, t
  WHERE o.status = 'open' AND o.state NOT IN ('closed', 'cancelled', 'duplicate')
    AND o.geom && ST_Transform(t.env, 4326) AND {}
)
SELECT ST_AsMVT(c, 'cases', 4096, 'geom') FROM c WHERE c.geom IS NOT NULL
)sql",
                                      scope_sql(4));
  auto r = exec(l->get(), sql.c_str(), {std::to_string(z), std::to_string(x), std::to_string(y), sp[0], sp[1], sp[2]});
  if (!r) return std::unexpected(r.error());
  if (PQntuples(r->get()) == 0 || PQgetisnull(r->get(), 0, 0)) return std::string();
  size_t n = 0;
  unsigned char* bytes = PQunescapeBytea(reinterpret_cast<const unsigned char*>(PQgetvalue(r->get(), 0, 0)), &n);
  if (!bytes) return fail(ErrorCode::kInternal, "database: the tile could not be decoded");
  std::string tile(reinterpret_cast<const char*>(bytes), n);
  PQfreemem(bytes);
  return tile;
}

Result<std::string> Store::summon(std::string_view case_id, const std::vector<std::string>& units,
                                  std::string_view reason, std::string_view actor, const Scope& scope) {
  auto l = lease();
  if (!l) return std::unexpected(l.error());
  pg_conn* c = l->get();
  Transaction txn(c);
  if (auto st = txn.begin(); !st) return std::unexpected(st.error());
  const std::string id(case_id);
  auto cur = exec(c, "SELECT state FROM orders WHERE id = $1 FOR UPDATE", {id});
  if (!cur) return std::unexpected(cur.error());
  if (PQntuples(cur->get()) == 0) return std::unexpected(Error{ErrorCode::kNotFound, fmt::format("no case \"{}\"", id), "id"});
  if (auto in = case_in_scope(c, id, scope); !in) return std::unexpected(in.error());
  const std::string state = PQgetvalue(cur->get(), 0, 0);
  // The unit that holds the case blows the whistle while it works on it.
  if (state != "accepted" && state != "in_progress")
    return std::unexpected(Error{ErrorCode::kInvalidArgument,
                          fmt::format("cannot summon units to a case that is {} (summon needs: accepted, in_progress)",
                                      state),
                          "action"});
  const nlohmann::json detail = {{"units", units}, {"reason", std::string(reason)}, {"state", state}};
  auto up = exec(c, R"sql(
WITH summoned AS (
  INSERT INTO case_tasks (case_id, unit, state, summoned_at, summoned_by, reason)
  SELECT $1, u, 'summoned', now(), $3, $4 FROM unnest($2::text[]) u
  ON CONFLICT (case_id, unit) DO UPDATE SET
    state = 'summoned', summoned_at = now(), summoned_by = $3, reason = $4,
    acknowledged_at = NULL, done_at = NULL, note = NULL
  RETURNING case_id)
INSERT INTO case_history (case_id, action, actor, detail)
SELECT $1, 'summon', $3, $5::jsonb WHERE EXISTS (SELECT 1 FROM summoned)
RETURNING gw_rfc3339(at))sql",
                 {id, text_array(units), std::string(actor), std::string(reason), detail.dump()});
  if (!up) return std::unexpected(up.error());
  if (PQntuples(up->get()) != 1) return std::unexpected(Error{ErrorCode::kInvalidArgument, "no unit to summon", "units"});
  const std::string at = PQgetvalue(up->get(), 0, 0);
  if (auto u = exec(c, "UPDATE orders SET updated_at = now() WHERE id = $1", {id}); !u) return std::unexpected(u.error());
  if (auto st = txn.commit(); !st) return std::unexpected(st.error());
  return at;
}

Result<TaskStep> Store::task_step(std::string_view case_id, std::string_view unit, TaskAction action,
                                  std::string_view note, std::string_view actor) {
  auto l = lease();
  if (!l) return std::unexpected(l.error());
  pg_conn* c = l->get();
  Transaction txn(c);
  if (auto st = txn.begin(); !st) return std::unexpected(st.error());
  const std::string id(case_id), u(unit);
  // The case first, then its sub-task: read after the lock, so two answers of one unit, or an
  // answer and a new summons, are taken one after the other.
  auto cur = exec(c, "SELECT state FROM orders WHERE id = $1 FOR UPDATE", {id});
  if (!cur) return std::unexpected(cur.error());
  if (PQntuples(cur->get()) == 0) return std::unexpected(Error{ErrorCode::kNotFound, fmt::format("no case \"{}\"", id), "id"});
  auto task = exec(c, "SELECT state FROM case_tasks WHERE case_id = $1 AND unit = $2 FOR UPDATE", {id, u});
  if (!task) return std::unexpected(task.error());
  if (PQntuples(task->get()) == 0)
    return std::unexpected(Error{ErrorCode::kNotFound, fmt::format("unit {} was not summoned to case \"{}\"", u, id), "unit"});
  const std::string case_state = PQgetvalue(cur->get(), 0, 0), task_state = PQgetvalue(task->get(), 0, 0);
  const bool ack = action == TaskAction::kAcknowledge;
  const char* needs = ack ? "summoned" : "acknowledged";
  if (task_state != needs)
    return std::unexpected(Error{ErrorCode::kInvalidArgument,
                          fmt::format("cannot {} a sub-task that is {} ({} needs: {})", ack ? "acknowledge" : "finish",
                                      task_state, ack ? "acknowledge" : "finish", needs),
                          "action"});
  TaskStep out;
  out.state = ack ? "acknowledged" : "done";
  auto up = exec(c, R"sql(
WITH stepped AS (
  UPDATE case_tasks SET state = $3,
    acknowledged_at = CASE WHEN $3 = 'acknowledged' THEN now() ELSE acknowledged_at END,
    done_at = CASE WHEN $3 = 'done' THEN now() ELSE done_at END,
    note = coalesce(nullif($4, ''), note)
  WHERE case_id = $1 AND unit = $2 RETURNING case_id)
INSERT INTO case_history (case_id, action, actor, detail)
SELECT case_id, $5, $6, jsonb_build_object('unit', $2::text, 'note', $4::text) FROM stepped
RETURNING gw_rfc3339(at))sql",
                 {id, u, out.state, std::string(note), ack ? "task_acknowledged" : "task_done", std::string(actor)});
  if (!up) return std::unexpected(up.error());
  out.at = PQgetvalue(up->get(), 0, 0);
  out.case_state = case_state;
  if (!ack) {
    // The last unit done resolves a case that is being worked on.
    auto rest = exec(c, "SELECT count(*) FROM case_tasks WHERE case_id = $1 AND state IN ('summoned', 'acknowledged')",
                     {id});
    if (!rest) return std::unexpected(rest.error());
    const auto cs = parse_case_state(case_state);
    if (std::string_view(PQgetvalue(rest->get(), 0, 0)) == "0" && cs && next_state(*cs, CaseAction::kResolve)) {
      const nlohmann::json detail = {{"from", case_state}, {"to", "resolved"},
                                     {"reason", "every summoned unit has finished"}};
      auto res = exec(c, R"sql(
WITH moved AS (
  UPDATE orders SET state = 'resolved', state_changed_at = now(), updated_at = now(), resolved_at = now()
  WHERE id = $1 RETURNING id)
INSERT INTO case_history (case_id, action, actor, detail) SELECT id, 'resolve', $2, $3::jsonb FROM moved)sql",
                      {id, std::string(actor), detail.dump()});
      if (!res) return std::unexpected(res.error());
      out.case_state = "resolved";
      out.resolved_case = true;
    }
  }
  if (auto st = txn.commit(); !st) return std::unexpected(st.error());
  return out;
}

Status Store::report_worker(std::string_view id, std::string_view grid, std::optional<LonLat> where, bool on_duty) {
  auto l = lease();
  if (!l) return std::unexpected(l.error());
  Param lon, lat;
  if (where) {
    lon = num(where->lon);
    lat = num(where->lat);
  }
  auto r = exec(l->get(), R"sql(
INSERT INTO workers (id, grid, on_duty, geom, located_at, reported_at)
VALUES ($1, $2, $3::boolean,
        CASE WHEN $4::float8 IS NULL THEN NULL ELSE ST_SetSRID(ST_MakePoint($4::float8, $5::float8), 4326) END,
        CASE WHEN $4::float8 IS NULL THEN NULL ELSE now() END, now())
ON CONFLICT (id) DO UPDATE SET grid = EXCLUDED.grid, on_duty = EXCLUDED.on_duty,
  geom = coalesce(EXCLUDED.geom, workers.geom), located_at = coalesce(EXCLUDED.located_at, workers.located_at),
  reported_at = EXCLUDED.reported_at)sql",
                {std::string(id), std::string(grid), on_duty ? "true" : "false", lon, lat});
  if (!r) return std::unexpected(r.error());
  return {};
}

Result<std::string> Store::workers_geojson() {
  auto l = lease();
  if (!l) return std::unexpected(l.error());
  auto r = exec(l->get(), R"sql(
SELECT json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg(json_build_object(
  'type', 'Feature', 'id', w.id,
  'geometry', CASE WHEN w.geom IS NULL THEN NULL ELSE ST_AsGeoJSON(w.geom, 7)::json END,
  'properties', json_build_object('id', w.id, 'grid', w.grid, 'on_duty', w.on_duty,
                                  'reported_at', gw_rfc3339(w.reported_at),
                                  'located_at', gw_rfc3339(w.located_at),
                                  'open_cases', (SELECT count(*) FROM orders o WHERE o.assignee = w.id
                                                 AND o.state IN ('dispatched', 'accepted', 'in_progress'))))
  ORDER BY w.id), '[]'))::text
FROM workers w)sql");
  if (!r) return std::unexpected(r.error());
  return std::string(PQgetvalue(r->get(), 0, 0));
}

Result<nlohmann::json> Store::stats(const StatsQuery& q) {
  auto l = lease();
  if (!l) return std::unexpected(l.error());
  // One pass over the cases opened in the span (cancelled and duplicate cases are not counted),
  // counted per group and quarter hour; the quarter hours are then summed into local days, weeks
  // or months (every time zone's offset is a whole number of quarter hours). The group and
  // quarter-hour expressions are written out (not chosen in SQL) so that the planner knows how
  // many groups to expect and aggregates in parallel. The total is the sum of the groups.
  const std::string key = q.by.empty()             ? "'all'::text"
                          : q.by == "unit"         ? "o.unit_code"
                          : q.by == "department"   ? "o.department"
                                                   : "o.areas->>$1::text";
  const std::string quarter =
      q.period.empty() ? "NULL::timestamptz" : "date_bin('15 minutes', o.opened_at, '2000-01-01T00:00:00Z')";
  const std::string sql = fmt::format(R"sql(
SELECT coalesce(json_agg(json_build_object(
  'key', g.key, 'period', to_char(g.period, 'YYYY-MM-DD'), 'cases', g.cases, 'dispatched', g.dispatched,
  'response_due', g.response_due, 'responded_on_time', g.responded_on_time, 'resolved', g.resolved,
  'evaluated', g.evaluated, 'satisfied', g.satisfied, 'proactive', g.proactive)
  ORDER BY g.key NULLS LAST, g.period), '[]')::text
FROM (SELECT key, CASE WHEN $2 = '' THEN NULL ELSE date_trunc($2, quarter AT TIME ZONE $3) END AS period,
             sum(cases) AS cases, sum(dispatched) AS dispatched, sum(response_due) AS response_due,
             sum(responded_on_time) AS responded_on_time, sum(resolved) AS resolved, sum(evaluated) AS evaluated,
             sum(satisfied) AS satisfied, sum(proactive) AS proactive
      FROM (SELECT {0} AS key, {1} AS quarter, count(*) AS cases,
                   count(*) FILTER (WHERE o.first_dispatched_at IS NOT NULL) AS dispatched,
                   count(*) FILTER (WHERE o.first_dispatched_at IS NOT NULL
                                    AND (o.responded_at IS NOT NULL OR o.respond_due < $6::timestamptz)) AS response_due,
                   count(*) FILTER (WHERE o.responded_at <= o.respond_due) AS responded_on_time,
                   count(*) FILTER (WHERE o.first_dispatched_at IS NOT NULL AND o.state IN ('resolved', 'closed'))
                     AS resolved,
                   count(*) FILTER (WHERE o.satisfaction IS NOT NULL) AS evaluated,
                   count(*) FILTER (WHERE o.satisfaction = 'satisfied') AS satisfied,
                   count(*) FILTER (WHERE o.proactive) AS proactive
            FROM orders o
            WHERE o.opened_at >= $4::timestamptz AND o.opened_at < $5::timestamptz
              AND o.state NOT IN ('cancelled', 'duplicate')
              AND ($7::text IS NULL OR o.areas @> jsonb_build_object($7::text, $8::text))
              AND $1::text IS NOT NULL  -- (types $1 when the grouping does not use it)
            GROUP BY 1, 2) h
      GROUP BY 1, 2) g)sql",
                                      key, quarter);
  auto r = exec(l->get(), sql.c_str(),
                {q.by, q.period, q.time_zone, format_rfc3339(q.from), format_rfc3339(q.to), format_rfc3339(q.now),
                 q.area_code.empty() ? Param{} : Param{q.area_level}, q.area_code.empty() ? Param{} : Param{q.area_code}});
  if (!r) return std::unexpected(r.error());
  auto groups = nlohmann::json::parse(PQgetvalue(r->get(), 0, 0));
  static constexpr const char* kCounts[] = {"cases",    "dispatched", "response_due", "responded_on_time", "resolved",
                                            "evaluated", "satisfied",  "proactive"};
  auto rates = [](nlohmann::json& g) {
    auto ratio = [&](const char* num, const char* den) -> nlohmann::json {
      const auto d = g.at(den).get<int64_t>();
      if (d == 0) return nullptr;
      return static_cast<double>(g.at(num).get<int64_t>()) / static_cast<double>(d);
    };
    g["response_rate"] = ratio("responded_on_time", "response_due");
    g["resolution_rate"] = ratio("resolved", "dispatched");
    g["satisfaction_rate"] = ratio("satisfied", "evaluated");
    g["proactive_share"] = ratio("proactive", "cases");
  };
  nlohmann::json total = nlohmann::json::object();
  for (const char* k : kCounts) total[k] = 0;
  for (auto& g : groups) {
    for (const char* k : kCounts) total[k] = total[k].get<int64_t>() + g.at(k).get<int64_t>();
    rates(g);
  }
  rates(total);
  return nlohmann::json{{"groups", std::move(groups)}, {"total", std::move(total)}};
}

Result<nlohmann::json> Store::mark_overdue(Timestamp now) {
  auto l = lease();
  if (!l) return std::unexpected(l.error());
  pg_conn* c = l->get();
  Transaction txn(c);
  if (auto st = txn.begin(); !st) return std::unexpected(st.error());
  const std::string t = format_rfc3339(now);
  nlohmann::json out = nlohmann::json::array();
  // Not accepted in time, then not resolved in time: each flagged once per dispatch.
  static constexpr const char* kChecks[][2] = {
      {"respond", R"sql(
UPDATE orders SET overdue_respond_at = $1::timestamptz, updated_at = now()
WHERE state = 'dispatched' AND respond_due < $1::timestamptz AND overdue_respond_at IS NULL
RETURNING id, gw_rfc3339(respond_due), state)sql"},
      {"resolve", R"sql(
UPDATE orders SET overdue_resolve_at = $1::timestamptz, updated_at = now()
WHERE state IN ('dispatched', 'accepted', 'in_progress') AND resolve_due < $1::timestamptz
  AND overdue_resolve_at IS NULL
RETURNING id, gw_rfc3339(resolve_due), state)sql"}};
  for (const auto& check : kChecks) {
    auto r = exec(c, check[1], {t});
    if (!r) return std::unexpected(r.error());
    for (int i = 0; i < PQntuples(r->get()); ++i) {
      nlohmann::json late = {{"case_id", PQgetvalue(r->get(), i, 0)},
                             {"overdue", check[0]},
                             {"due", PQgetvalue(r->get(), i, 1)},
                             {"state", PQgetvalue(r->get(), i, 2)},
                             {"at", t}};
      auto h = exec(c, "INSERT INTO case_history (case_id, action, actor, detail) VALUES ($1, 'overdue', 'sla', $2::jsonb)",
                    {late["case_id"].get<std::string>(), late.dump()});
      if (!h) return std::unexpected(h.error());
      out.push_back(std::move(late));
    }
  }
  if (auto st = txn.commit(); !st) return std::unexpected(st.error());
  return out;
}

Result<nlohmann::json> Store::case_sources(std::string_view case_id) {
  auto l = lease();
  if (!l) return std::unexpected(l.error());
  return call_json(l->get(), R"sql(
SELECT json_build_object(
  'sources', coalesce((SELECT json_agg(json_build_object(
      'id', s.id, 'kind', s.kind, 'channel', s.channel, 'category', s.category,
      'priority', s.priority, 'status', s.status, 'agent_id', s.agent_id, 'device_id', s.device_id,
      'rule', s.rule, 'lon', ST_X(s.geom), 'lat', ST_Y(s.geom), 'accuracy_m', s.accuracy_m,
      'address', s.address, 'description', s.description, 'attributes', s.attributes,
      'evidence', s.evidence, 'media_url', s.media_url, 'reported_at', gw_rfc3339(s.reported_at),
      'received_at', gw_rfc3339(s.received_at), 'cleared_at', gw_rfc3339(s.cleared_at),
      'merge', s.merge) ORDER BY s.received_at, s.id) FROM sources s WHERE s.case_id = $1), '[]'),
  'history', coalesce((SELECT json_agg(json_build_object(
      'at', gw_rfc3339(h.at), 'action', h.action, 'source_id', h.source_id, 'actor', h.actor,
      'detail', h.detail) ORDER BY h.id) FROM case_history h WHERE h.case_id = $1), '[]'),
  'tasks', coalesce((SELECT json_agg(json_build_object(
      'unit', t.unit, 'state', t.state, 'summoned_at', gw_rfc3339(t.summoned_at), 'summoned_by', t.summoned_by,
      'reason', t.reason, 'acknowledged_at', gw_rfc3339(t.acknowledged_at), 'done_at', gw_rfc3339(t.done_at),
      'note', t.note) ORDER BY t.summoned_at, t.unit) FROM case_tasks t WHERE t.case_id = $1), '[]'))::text
)sql",
                   {std::string(case_id)});
}

Status Store::add_dead_letter(std::string_view source, std::string_view reason,
                              std::string_view payload) {
  auto l = lease();
  if (!l) return std::unexpected(l.error());
  auto r = exec(l->get(),
                "INSERT INTO dead_letters (source, reason, payload) VALUES ($1, $2, $3::bytea)",
                {std::string(source), std::string(reason), std::string(payload)},
                /*binary_last=*/true);
  if (!r) return std::unexpected(r.error());
  return {};
}

Result<std::string> Store::orders_geojson(const OrderQuery& q) {
  auto l = lease();
  if (!l) return std::unexpected(l.error());
  // The radius test runs on geography (ellipsoidal metres); the box around the circle, 1 % wider
  // than the spherical one to cover the ellipsoid, lets the geometry GiST index pick candidates.
  std::string sql = fmt::format(R"sql(
SELECT json_build_object('type', 'FeatureCollection',
                         'features', coalesce(json_agg(
                            CASE WHEN f.dist IS NULL THEN f.feature
                                 ELSE jsonb_set(f.feature::jsonb, '{{properties,distance_m}}',
                                                to_jsonb(round(f.dist::numeric, 1)))::json END
                            ORDER BY f.dist, f.updated_at DESC), '[]'::json))::text
FROM (SELECT {} AS feature, o.updated_at,
             CASE WHEN $9::float8 IS NULL THEN NULL
                  ELSE ST_Distance(o.geom::geography,
                                   ST_SetSRID(ST_MakePoint($9::float8, $10::float8), 4326)::geography)
             END AS dist
      FROM orders o
      WHERE ($1::text[] IS NULL OR o.status = ANY($1::text[]))
        AND ($19::text[] IS NULL OR o.state = ANY($19::text[]))
        AND ($2::text[] IS NULL OR o.category = ANY($2::text[]))
        AND ($3::float8 IS NULL OR o.geom && ST_MakeEnvelope($3::float8, $4::float8, $5::float8,
                                                             $6::float8, 4326))
        AND ($7::timestamptz IS NULL OR o.updated_at >= $7::timestamptz)
        AND ($9::float8 IS NULL OR
             (o.geom && ST_MakeEnvelope($12::float8, $13::float8, $14::float8, $15::float8, 4326)
              AND ST_DWithin(o.geom::geography,
                             ST_SetSRID(ST_MakePoint($9::float8, $10::float8), 4326)::geography,
                             $11::float8)))
        AND {}
      ORDER BY dist, o.updated_at DESC
      LIMIT $8::int) f
)sql",
                                q.map_fields ? kMapFeatureSql : kFeatureSql, scope_sql(16));
  Param b0, b1, b2, b3, since, near_lon, near_lat, radius, n0, n1, n2, n3;
  if (q.bbox) {
    b0 = num((*q.bbox)[0]);
    b1 = num((*q.bbox)[1]);
    b2 = num((*q.bbox)[2]);
    b3 = num((*q.bbox)[3]);
  }
  if (q.near) {
    near_lon = num(q.near->lon);
    near_lat = num(q.near->lat);
    radius = num(q.radius_m);
    auto box = geo::bbox_around(*q.near, q.radius_m * 1.01);
    n0 = num(box[0]);
    n1 = num(box[1]);
    n2 = num(box[2]);
    n3 = num(box[3]);
  }
  if (q.since) since = format_rfc3339(*q.since);
  const auto sp = scope_params(q.scope);
  auto r = exec(l->get(), sql.c_str(),
                {text_array(q.statuses), text_array(q.categories), b0, b1, b2, b3, since,
                 std::to_string(q.limit), near_lon, near_lat, radius, n0, n1, n2, n3, sp[0], sp[1], sp[2],
                 text_array(q.states)});
  if (!r) return std::unexpected(r.error());
  return std::string(PQgetvalue(r->get(), 0, 0));
}

Result<std::optional<std::string>> Store::order_geojson(std::string_view id) {
  auto l = lease();
  if (!l) return std::unexpected(l.error());
  // A case by its id, or the case a source (an edge order or ticket that was merged) belongs to.
  std::string sql = fmt::format(
      "SELECT {}::text FROM orders o WHERE o.id = coalesce((SELECT id FROM orders WHERE id = $1), "
      "(SELECT case_id FROM sources WHERE id = $1))",
      kFeatureSql);
  auto r = exec(l->get(), sql.c_str(), {std::string(id)});
  if (!r) return std::unexpected(r.error());
  if (PQntuples(r->get()) == 0) return std::optional<std::string>{};
  return std::optional<std::string>{PQgetvalue(r->get(), 0, 0)};
}

Result<size_t> Store::upsert_areas(const std::vector<const geo::Area*>& areas) {
  auto l = lease();
  if (!l) return std::unexpected(l.error());
  pg_conn* c = l->get();
  Transaction txn(c);
  if (auto st = txn.begin(); !st) return std::unexpected(st.error());
  if (auto r = exec(c, "CREATE TEMP TABLE areas_load (level int, code text, name text, parent text, "
                       "level_name text, wkt text) ON COMMIT DROP");
      !r)
    return std::unexpected(r.error());
  {
    PgResult start(PQexec(c, "COPY areas_load FROM STDIN"));
    if (PQresultStatus(start.get()) != PGRES_COPY_IN)
      return std::unexpected(Error{ErrorCode::kInternal,
                            fmt::format("COPY: {}", PQresultErrorMessage(start.get())), ""});
  }
  std::string buf;
  for (const geo::Area* a : areas) {
    buf += std::to_string(a->level);
    buf += '\t';
    copy_escape(buf, a->code);
    buf += '\t';
    copy_escape(buf, a->name);
    buf += '\t';
    copy_escape(buf, a->parent);
    buf += '\t';
    copy_escape(buf, a->level_name);
    buf += '\t';
    buf += geo::to_wkt(a->geometry);
    buf += '\n';
    if (buf.size() > (1 << 20) || a == areas.back()) {
      if (PQputCopyData(c, buf.data(), static_cast<int>(buf.size())) != 1)
        return std::unexpected(Error{ErrorCode::kUnavailable, fmt::format("COPY: {}", PQerrorMessage(c)), ""});
      buf.clear();
    }
  }
  if (PQputCopyEnd(c, nullptr) != 1)
    return std::unexpected(Error{ErrorCode::kUnavailable, fmt::format("COPY: {}", PQerrorMessage(c)), ""});
  PgResult copied(PQgetResult(c));
  if (PQresultStatus(copied.get()) != PGRES_COMMAND_OK)
    return std::unexpected(Error{ErrorCode::kInternal, fmt::format("COPY: {}", PQresultErrorMessage(copied.get())), ""});
  while (PgResult(PQgetResult(c))) {
  }
  // Unchanged areas are left alone, so loading the same file twice changes nothing.
  auto up = exec(c, R"sql(
INSERT INTO areas (level, code, name, parent, level_name, geom)
SELECT level, code, name, nullif(parent, ''), level_name, ST_Multi(ST_GeomFromText(wkt, 4326))
FROM areas_load
ON CONFLICT (level, code) DO UPDATE SET
  name = EXCLUDED.name, parent = EXCLUDED.parent, level_name = EXCLUDED.level_name,
  geom = EXCLUDED.geom, updated_at = now()
WHERE (areas.name, areas.parent, areas.level_name) IS DISTINCT FROM
      (EXCLUDED.name, EXCLUDED.parent, EXCLUDED.level_name)
   OR NOT ST_Equals(areas.geom, EXCLUDED.geom)
)sql");
  if (!up) return std::unexpected(up.error());
  size_t changed = static_cast<size_t>(std::stoul(PQcmdTuples(up->get())));
  if (auto st = txn.commit(); !st) return std::unexpected(st.error());
  return changed;
}

Result<std::string> Store::areas_geojson(std::optional<int> level) {
  auto l = lease();
  if (!l) return std::unexpected(l.error());
  auto r = exec(l->get(), R"sql(
SELECT json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg(
  json_build_object('type', 'Feature', 'id', a.code,
                    'geometry', ST_AsGeoJSON(a.geom, 7)::json,
                    'properties', json_build_object('code', a.code, 'name', a.name, 'parent', a.parent,
                                                    'level', a.level, 'level_name', a.level_name))
  ORDER BY a.level, a.code), '[]'::json))::text
FROM areas a WHERE ($1::int IS NULL OR a.level = $1::int)
)sql",
                {level ? Param{std::to_string(*level)} : Param{}});
  if (!r) return std::unexpected(r.error());
  return std::string(PQgetvalue(r->get(), 0, 0));
}

Status Store::ping() {
  auto l = lease();
  if (!l) return std::unexpected(l.error());
  auto r = exec(l->get(), "SELECT 1");
  if (!r) return std::unexpected(r.error());
  return {};
}

}  // namespace gridwatch::center
