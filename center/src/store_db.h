// The store's PostgreSQL plumbing, shared by the files of the store (center/src/store_*.cc) and
// by no one else: results that free themselves, statements with text parameters, a transaction
// that rolls back unless committed, the scope condition, and Store::Lease (a pooled connection
// given back when it goes out of scope). Not thread-safe: a connection belongs to one lease.
#pragma once

#include <libpq-fe.h>

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "gridwatch/center/store.h"

namespace gridwatch::center::db {

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using PgResult = std::unique_ptr<PGresult, ResultDeleter>;
using Param = std::optional<std::string>;
// NULL for "", the text otherwise (an optional filter).
inline Param optional_text(const std::string& s) { return s.empty() ? Param{} : Param{s}; }

// Opens a session on `conninfo` (keyword/value string or URI) named `application_name`; the name
// stays across PQreset. The caller checks PQstatus and PQfinishes it.
pg_conn* connect_as(const std::string& conninfo, const std::string& application_name);

// Runs one statement with text parameters (the last one binary when `binary_last`). kUnavailable
// when the connection is gone, kInternal for any other database error; the message is the server's.
Result<PgResult> exec(pg_conn* c, const char* sql, const std::vector<Param>& params = {}, bool binary_last = false);
// Runs a script of several statements (no parameters: migrations only).
Status exec_script(pg_conn* c, const char* sql);
// The single JSON value a query returns (json_agg, json_build_object).
Result<nlohmann::json> call_json(pg_conn* c, const char* sql, const std::vector<Param>& params);

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

// A text[] literal of validated identifiers, or NULL for none.
Param text_array(const std::vector<std::string>& v);
// A double as PostgreSQL reads it back exactly.
std::string num(double v);
// COPY text format: escape backslash, tab, newline and carriage return.
void copy_escape(std::string& out, std::string_view v);
// The cases a scope may see (Scope), as a condition on orders `o` with the unit, area level and
// area code as parameters $first, $first+1 and $first+2; scope_params() gives those.
std::string scope_sql(int first);
std::array<Param, 3> scope_params(const Scope& s);
// kNotFound for no such case, kDenied when it is outside `scope`.
Status case_in_scope(pg_conn* c, const std::string& id, const Scope& scope);

}  // namespace gridwatch::center::db

namespace gridwatch::center {

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

// A case locked for a change (Store::lock_case): a pooled connection, a transaction begun on it
// and the case's row (`columns` of orders, read FOR UPDATE). Rolled back unless committed.
struct Store::LockedCase {
  Lease lease;
  std::unique_ptr<db::Transaction> txn;
  db::PgResult row;
  pg_conn* conn() const { return lease.get(); }
};

}  // namespace gridwatch::center
