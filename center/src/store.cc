#include "gridwatch/center/store.h"

// The store: its connection pool and migrations. The rest of Store is in store_*.cc by concern.

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
#include "migrations.h"

namespace gridwatch::center {

using namespace db;  // the store's plumbing (store_db.h)

Result<std::unique_ptr<Store>> Store::open(const std::string& conninfo, int pool_size, const Catalog& catalog,
                                           const std::string& application_name) {
  std::unique_ptr<Store> s(new Store());
  s->conninfo_ = conninfo;
  s->catalog_ = &catalog;
  for (int i = 0; i < pool_size; ++i) {
    pg_conn* c = connect_as(conninfo, application_name);
    if (PQstatus(c) != CONNECTION_OK) {
      std::string msg = PQerrorMessage(c);
      PQfinish(c);
      return fail(ErrorCode::kUnavailable, fmt::format("cannot connect to PostgreSQL: {}", msg),
                  "database.conninfo");
    }
    PQsetNoticeProcessor(
        c, [](void*, const char* message) { spdlog::debug("database: {}", message); }, nullptr);
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

Result<Store::Lease> Store::lease_read() {
  if (replica_) {
    auto l = replica_->lease();
    if (l && PQstatus(l->get()) == CONNECTION_OK) return l;
  }
  return lease();
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
  if (auto r = exec(c, sql::migration_lock); !r) return std::unexpected(r.error());
  if (auto r = exec(c, sql::create_schema_migrations);
      !r)
    return std::unexpected(r.error());
  auto cur = exec(c, sql::schema_version);
  if (!cur) return std::unexpected(cur.error());
  int version = std::stoi(PQgetvalue(cur->get(), 0, 0));
  for (const Migration& m : migrations()) {
    if (m.version <= version) continue;
    if (auto r = exec_script(c, m.sql); !r)
      return std::unexpected(Error{r.error().code,
                            fmt::format("migration {} ({}): {}", m.version, m.name, r.error().message),
                            ""});
    if (auto r = exec(c, sql::record_migration,
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
  auto r = exec(l->get(), sql::schema_version);
  if (!r) return std::unexpected(r.error());
  return std::stoi(PQgetvalue(r->get(), 0, 0));
}

}  // namespace gridwatch::center
