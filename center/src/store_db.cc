#include "store_db.h"

#include "sql_queries.h"

#include <fmt/format.h>

namespace gridwatch::center::db {

Result<PgResult> exec(pg_conn* c, const char* sql, const std::vector<Param>& params, bool binary_last) {
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

pg_conn* connect_as(const std::string& conninfo, const std::string& application_name) {
  // expand_dbname: "dbname" is the whole conninfo; the keywords after it take precedence, so
  // the conninfo's own `options` replace the ones before it.
  // JIT off: PostGIS's function costs put the center's short queries over jit_above_cost, and
  // compiling them took 0.4-0.9 s where the query itself takes 0.2 s (a zoom-9 tile of 27,000
  // cases; docs/operations.md).
  const char* keys[] = {"options", "dbname", "application_name", nullptr};
  const char* values[] = {"-c jit=off", conninfo.c_str(), application_name.c_str(), nullptr};
  return PQconnectdbParams(keys, values, 1);
}

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
  auto r = exec(c, fmt::format(fmt::runtime(sql::case_in_scope), fmt::arg("scope", scope_sql(2))).c_str(),
                {id, sp[0], sp[1], sp[2]});
  if (!r) return std::unexpected(r.error());
  if (PQntuples(r->get()) == 0) return fail(ErrorCode::kNotFound, fmt::format("no case \"{}\"", id), "id");
  if (std::string_view(PQgetvalue(r->get(), 0, 0)) == "t") return {};
  if (!scope.area_code.empty())
    return fail(ErrorCode::kDenied, fmt::format("case \"{}\" is not in {} {}", id, scope.area_level, scope.area_code),
                "id");
  return fail(ErrorCode::kDenied,
              fmt::format("case \"{}\" is neither dispatched to unit {} nor of its department", id, scope.unit), "id");
}

// The single JSON value a query returns (json_agg, json_build_object).
Result<nlohmann::json> call_json(pg_conn* c, const char* sql, const std::vector<Param>& params) {
  auto r = exec(c, sql, params);
  if (!r) return std::unexpected(r.error());
  return nlohmann::json::parse(PQgetvalue(r->get(), 0, 0));
}

}  // namespace gridwatch::center::db
