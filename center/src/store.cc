#include "gridwatch/center/store.h"

#include <libpq-fe.h>

#include <array>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "gridwatch/geo/distance.h"

namespace gridwatch::center {
namespace {

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using PgResult = std::unique_ptr<PGresult, ResultDeleter>;
using Param = std::optional<std::string>;

// Versioned migrations: append only, never edit one that has shipped.
struct Migration {
  int version;
  const char* name;
  const char* sql;
};

constexpr Migration kMigrations[] = {
    {1, "orders, order events, dead letters", R"sql(
CREATE TABLE orders (
  id            text PRIMARY KEY,
  category      text NOT NULL,
  priority      text NOT NULL,
  status        text NOT NULL CHECK (status IN ('open', 'cleared')),
  source_kind   text NOT NULL,
  agent_id      text NOT NULL,
  device_id     text,
  rule          text,
  geom          geometry(Point, 4326),
  accuracy_m    double precision,
  confidence    double precision,
  first_seen_at timestamptz,
  observed_at   timestamptz NOT NULL,
  received_at   timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  cleared_at    timestamptz,
  description   text NOT NULL DEFAULT '',
  evidence      jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX orders_geom_gist ON orders USING gist (geom);
CREATE INDEX orders_status_category ON orders (status, category);
CREATE INDEX orders_updated_at ON orders (updated_at DESC);
CREATE TABLE order_events (
  order_id    text NOT NULL,
  event       text NOT NULL,
  observed_at timestamptz NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now(),
  payload     jsonb NOT NULL,
  PRIMARY KEY (order_id, event, observed_at)
);
CREATE TABLE dead_letters (
  id          bigserial PRIMARY KEY,
  received_at timestamptz NOT NULL DEFAULT now(),
  source      text NOT NULL,
  reason      text NOT NULL,
  payload     bytea NOT NULL
);
CREATE FUNCTION gw_rfc3339(t timestamptz) RETURNS text LANGUAGE sql IMMUTABLE AS
  $$ SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') $$;
)sql"},
    {2, "administrative areas", R"sql(
CREATE TABLE areas (
  level      int  NOT NULL,
  code       text NOT NULL,
  name       text NOT NULL DEFAULT '',
  parent     text,
  level_name text NOT NULL,
  geom       geometry(MultiPolygon, 4326) NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (level, code)
);
CREATE INDEX areas_geom_gist ON areas USING gist (geom);
)sql"},
    {3, "orders placed in areas", R"sql(
ALTER TABLE orders ADD COLUMN areas jsonb;
ALTER TABLE orders ADD COLUMN area_code text;
CREATE INDEX orders_area_code ON orders (area_code);
)sql"},
};

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

// Runs a script of several statements (no parameters: migrations only).
Status exec_script(pg_conn* c, const char* sql) {
  PgResult r(PQexec(c, sql));
  if (PQresultStatus(r.get()) != PGRES_COMMAND_OK && PQresultStatus(r.get()) != PGRES_TUPLES_OK)
    return fail(ErrorCode::kInternal, fmt::format("database: {}", PQresultErrorMessage(r.get())));
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
      'evidence', o.evidence, 'areas', o.areas, 'area_code', o.area_code))
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

Result<std::unique_ptr<Store>> Store::open(const std::string& conninfo, int pool_size) {
  std::unique_ptr<Store> s(new Store());
  s->conninfo_ = conninfo;
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
  if (auto r = exec(c, "BEGIN"); !r) return std::unexpected(r.error());
  auto rollback = [&](Error e) -> Status {
    PgResult(PQexec(c, "ROLLBACK"));
    return std::unexpected(std::move(e));
  };
  if (auto r = exec(c, "SELECT pg_advisory_xact_lock(7353001)"); !r) return rollback(r.error());
  if (auto r = exec(c, "CREATE TABLE IF NOT EXISTS schema_migrations (version int PRIMARY KEY, "
                       "name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())");
      !r)
    return rollback(r.error());
  auto cur = exec(c, "SELECT coalesce(max(version), 0) FROM schema_migrations");
  if (!cur) return rollback(cur.error());
  int version = std::stoi(PQgetvalue(cur->get(), 0, 0));
  for (const Migration& m : kMigrations) {
    if (m.version <= version) continue;
    if (auto r = exec_script(c, m.sql); !r)
      return rollback(Error{r.error().code,
                            fmt::format("migration {} ({}): {}", m.version, m.name, r.error().message),
                            ""});
    if (auto r = exec(c, "INSERT INTO schema_migrations (version, name) VALUES ($1::int, $2)",
                      {std::to_string(m.version), std::string(m.name)});
        !r)
      return rollback(r.error());
    spdlog::info("database migrated to schema version {} ({})", m.version, m.name);
  }
  if (auto r = exec(c, "COMMIT"); !r) return std::unexpected(r.error());
  return {};
}

Result<int> Store::schema_version() {
  auto l = lease();
  if (!l) return std::unexpected(l.error());
  auto r = exec(l->get(), "SELECT coalesce(max(version), 0) FROM schema_migrations");
  if (!r) return std::unexpected(r.error());
  return std::stoi(PQgetvalue(r->get(), 0, 0));
}

Result<Applied> Store::apply(const OrderEvent& e, std::string_view raw_payload, const Placement* placement) {
  auto l = lease();
  if (!l) return std::unexpected(l.error());
  pg_conn* c = l->get();
  if (auto r = exec(c, "BEGIN"); !r) return std::unexpected(r.error());
  auto rollback = [&](Error err) -> Result<Applied> {
    PgResult(PQexec(c, "ROLLBACK"));
    return std::unexpected(std::move(err));
  };
  std::string observed = format_rfc3339(e.observed_at);
  auto ins = exec(c,
                  "INSERT INTO order_events (order_id, event, observed_at, payload) "
                  "VALUES ($1, $2, $3::timestamptz, $4::jsonb) ON CONFLICT DO NOTHING",
                  {e.id, std::string(to_string(e.event)), observed, std::string(raw_payload)});
  if (!ins) return rollback(ins.error());
  if (std::string(PQcmdTuples(ins->get())) == "0") {
    PgResult(PQexec(c, "COMMIT"));
    return Applied::kDuplicate;
  }
  Param lon, lat, acc, conf, first;
  if (e.location) {
    lon = num(e.location->position.lon);
    lat = num(e.location->position.lat);
    if (e.location->accuracy_m) acc = num(*e.location->accuracy_m);
  }
  if (e.confidence) conf = num(*e.confidence);
  if (e.first_seen_at) first = format_rfc3339(*e.first_seen_at);
  Param device = e.source.device_id.empty() ? Param{} : Param{e.source.device_id};
  Param rule = e.source.rule.empty() ? Param{} : Param{e.source.rule};
  std::vector<Param> p = {e.id,
                          e.category,
                          std::string(to_string(e.priority)),
                          std::string(e.event == OrderEventKind::kClear ? "cleared" : "open"),
                          std::string(to_string(e.source.kind)),
                          e.source.agent_id,
                          device,
                          rule,
                          lon,
                          lat,
                          acc,
                          conf,
                          first,
                          observed,
                          e.description,
                          e.evidence.dump()};
  // The row is created by whichever event arrives first; later events fill in or advance it.
  static constexpr const char* kUpsert = R"sql(
INSERT INTO orders (id, category, priority, status, source_kind, agent_id, device_id, rule, geom,
                    accuracy_m, confidence, first_seen_at, observed_at, cleared_at, description,
                    evidence, areas, area_code)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8,
        CASE WHEN $9::float8 IS NULL THEN NULL
             ELSE ST_SetSRID(ST_MakePoint($9::float8, $10::float8), 4326) END,
        $11::float8, $12::float8, $13::timestamptz, $14::timestamptz,
        CASE WHEN $4 = 'cleared' THEN $14::timestamptz END, $15, $16::jsonb, $18::jsonb, $19)
ON CONFLICT (id) DO UPDATE SET
  geom          = coalesce(orders.geom, EXCLUDED.geom),
  areas         = coalesce(orders.areas, EXCLUDED.areas),
  area_code     = coalesce(orders.area_code, EXCLUDED.area_code),
  accuracy_m    = coalesce(orders.accuracy_m, EXCLUDED.accuracy_m),
  first_seen_at = coalesce(orders.first_seen_at, EXCLUDED.first_seen_at),
  priority      = CASE WHEN $17 = 'update' AND EXCLUDED.observed_at >= orders.observed_at
                       THEN EXCLUDED.priority ELSE orders.priority END,
  description   = CASE WHEN $17 = 'update' AND EXCLUDED.observed_at >= orders.observed_at
                       THEN EXCLUDED.description ELSE orders.description END,
  confidence    = coalesce(EXCLUDED.confidence, orders.confidence),
  status        = CASE WHEN $17 = 'clear' THEN 'cleared' ELSE orders.status END,
  cleared_at    = CASE WHEN $17 = 'clear' THEN coalesce(orders.cleared_at, EXCLUDED.observed_at)
                       ELSE orders.cleared_at END,
  observed_at   = greatest(orders.observed_at, EXCLUDED.observed_at),
  updated_at    = now()
)sql";
  p.push_back(std::string(to_string(e.event)));
  if (placement && !placement->finest.empty()) {
    p.push_back(placement->levels.dump());
    p.push_back(placement->finest);
  } else {
    p.push_back(Param{});
    p.push_back(Param{});
  }
  auto up = exec(c, kUpsert, p);
  if (!up) return rollback(up.error());
  if (auto r = exec(c, "COMMIT"); !r) return std::unexpected(r.error());
  return Applied::kStored;
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
        AND ($2::text[] IS NULL OR o.category = ANY($2::text[]))
        AND ($3::float8 IS NULL OR o.geom && ST_MakeEnvelope($3::float8, $4::float8, $5::float8,
                                                             $6::float8, 4326))
        AND ($7::timestamptz IS NULL OR o.updated_at >= $7::timestamptz)
        AND ($9::float8 IS NULL OR
             (o.geom && ST_MakeEnvelope($12::float8, $13::float8, $14::float8, $15::float8, 4326)
              AND ST_DWithin(o.geom::geography,
                             ST_SetSRID(ST_MakePoint($9::float8, $10::float8), 4326)::geography,
                             $11::float8)))
      ORDER BY dist, o.updated_at DESC
      LIMIT $8::int) f
)sql",
                                kFeatureSql);
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
  auto r = exec(l->get(), sql.c_str(),
                {text_array(q.statuses), text_array(q.categories), b0, b1, b2, b3, since,
                 std::to_string(q.limit), near_lon, near_lat, radius, n0, n1, n2, n3});
  if (!r) return std::unexpected(r.error());
  return std::string(PQgetvalue(r->get(), 0, 0));
}

Result<std::optional<std::string>> Store::order_geojson(std::string_view id) {
  auto l = lease();
  if (!l) return std::unexpected(l.error());
  std::string sql = fmt::format("SELECT {}::text FROM orders o WHERE o.id = $1", kFeatureSql);
  auto r = exec(l->get(), sql.c_str(), {std::string(id)});
  if (!r) return std::unexpected(r.error());
  if (PQntuples(r->get()) == 0) return std::optional<std::string>{};
  return std::optional<std::string>{PQgetvalue(r->get(), 0, 0)};
}

Result<size_t> Store::upsert_areas(const std::vector<const geo::Area*>& areas) {
  auto l = lease();
  if (!l) return std::unexpected(l.error());
  pg_conn* c = l->get();
  if (auto r = exec(c, "BEGIN"); !r) return std::unexpected(r.error());
  auto rollback = [&](Error err) -> Result<size_t> {
    PgResult(PQexec(c, "ROLLBACK"));
    return std::unexpected(std::move(err));
  };
  if (auto r = exec(c, "CREATE TEMP TABLE areas_load (level int, code text, name text, parent text, "
                       "level_name text, wkt text) ON COMMIT DROP");
      !r)
    return rollback(r.error());
  {
    PgResult start(PQexec(c, "COPY areas_load FROM STDIN"));
    if (PQresultStatus(start.get()) != PGRES_COPY_IN)
      return rollback(Error{ErrorCode::kInternal,
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
        return rollback(Error{ErrorCode::kUnavailable, fmt::format("COPY: {}", PQerrorMessage(c)), ""});
      buf.clear();
    }
  }
  if (PQputCopyEnd(c, nullptr) != 1)
    return rollback(Error{ErrorCode::kUnavailable, fmt::format("COPY: {}", PQerrorMessage(c)), ""});
  PgResult copied(PQgetResult(c));
  if (PQresultStatus(copied.get()) != PGRES_COMMAND_OK)
    return rollback(Error{ErrorCode::kInternal, fmt::format("COPY: {}", PQresultErrorMessage(copied.get())), ""});
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
  if (!up) return rollback(up.error());
  size_t changed = static_cast<size_t>(std::stoul(PQcmdTuples(up->get())));
  if (auto r = exec(c, "COMMIT"); !r) return std::unexpected(r.error());
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
