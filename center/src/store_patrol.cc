#include "gridwatch/center/store.h"

// Grid workers' patrol tracks: their positions per shift, the cells of their grid they passed,
// and the retention that deletes both (docs/patrol.md).

#include <libpq-fe.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "sql_queries.h"
#include "store_db.h"

namespace gridwatch::center {

using namespace db;  // the store's plumbing (store_db.h)

namespace {

// A PostgreSQL array literal of numbers (NULL for an absent one).
template <typename T, typename F>
std::string array_of(const std::vector<T>& v, F&& item) {
  std::string out = "{";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) out += ',';
    out += item(v[i]);
  }
  return out + "}";
}

}  // namespace

Result<std::optional<geo::Fix>> Store::last_fix(std::string_view worker) {
  auto l = lease();
  if (!l) return std::unexpected(l.error());
  auto r = exec(l->get(), sql::patrol_last_fix, {std::string(worker)});
  if (!r) return std::unexpected(r.error());
  if (PQntuples(r->get()) == 0) return std::optional<geo::Fix>();
  geo::Fix f{Timestamp{std::chrono::milliseconds{std::stoll(PQgetvalue(r->get(), 0, 0))}},
             {std::stod(PQgetvalue(r->get(), 0, 1)), std::stod(PQgetvalue(r->get(), 0, 2))},
             std::nullopt};
  if (!PQgetisnull(r->get(), 0, 3)) f.accuracy_m = std::stod(PQgetvalue(r->get(), 0, 3));
  return std::optional<geo::Fix>(f);
}

Result<int> Store::add_track(std::string_view worker, std::string_view grid, std::string_view shift,
                             const std::vector<geo::Fix>& fixes, const std::vector<PatrolCell>& cells) {
  auto l = lease();
  if (!l) return std::unexpected(l.error());
  pg_conn* c = l->get();
  Transaction txn(c);
  if (auto st = txn.begin(); !st) return std::unexpected(st.error());
  const std::string w(worker), g(grid);
  auto pos = exec(c, sql::insert_patrol_positions,
                  {w, g, std::string(shift),
                   array_of(fixes, [](const geo::Fix& f) { return std::to_string(f.at.time_since_epoch().count()); }),
                   array_of(fixes, [](const geo::Fix& f) { return num(f.p.lon); }),
                   array_of(fixes, [](const geo::Fix& f) { return num(f.p.lat); }),
                   array_of(fixes, [](const geo::Fix& f) {
                     return f.accuracy_m ? num(*f.accuracy_m) : std::string("NULL");
                   })});
  if (!pos) return std::unexpected(pos.error());
  const int added = std::stoi(PQcmdTuples(pos->get()));
  if (!cells.empty()) {
    auto cl = exec(c, sql::insert_patrol_cells,
                   {g, w, array_of(cells, [](const PatrolCell& p) { return p.day; }),
                    array_of(cells, [](const PatrolCell& p) { return std::to_string(p.cell); })});
    if (!cl) return std::unexpected(cl.error());
  }
  if (!fixes.empty()) {
    // The dispatcher's live map shows the worker where the newest position puts them.
    const geo::Fix& last = fixes.back();
    auto up = exec(c, sql::upsert_worker, {w, g, "true", num(last.p.lon), num(last.p.lat)});
    if (!up) return std::unexpected(up.error());
  }
  if (auto st = txn.commit(); !st) return std::unexpected(st.error());
  return added;
}

Result<nlohmann::json> Store::coverage_counts(std::string_view day) {
  auto l = lease_read();
  if (!l) return std::unexpected(l.error());
  auto r = exec(l->get(), sql::coverage_counts, {std::string(day)});
  if (!r) return std::unexpected(r.error());
  return nlohmann::json::parse(PQgetvalue(r->get(), 0, 0));
}

Result<std::vector<int>> Store::visited_cells(std::string_view day, std::string_view grid) {
  auto l = lease_read();
  if (!l) return std::unexpected(l.error());
  auto r = exec(l->get(), sql::visited_cells, {std::string(day), std::string(grid)});
  if (!r) return std::unexpected(r.error());
  std::vector<int> out;
  for (int i = 0; i < PQntuples(r->get()); ++i) out.push_back(std::stoi(PQgetvalue(r->get(), i, 0)));
  return out;
}

Result<std::string> Store::tracks_geojson(Timestamp from, Timestamp to, std::string_view worker) {
  auto l = lease_read();
  if (!l) return std::unexpected(l.error());
  Param w;
  if (!worker.empty()) w = std::string(worker);
  auto r = exec(l->get(), sql::patrol_tracks, {format_rfc3339(from), format_rfc3339(to), w});
  if (!r) return std::unexpected(r.error());
  return std::string(PQgetvalue(r->get(), 0, 0));
}

Result<int64_t> Store::trim_patrol(int keep_days, std::string_view oldest_day) {
  auto l = lease();
  if (!l) return std::unexpected(l.error());
  auto r = exec(l->get(), sql::trim_patrol, {std::to_string(keep_days), std::string(oldest_day)});
  if (!r) return std::unexpected(r.error());
  return std::stoll(PQgetvalue(r->get(), 0, 0));
}

}  // namespace gridwatch::center
