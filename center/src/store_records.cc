#include "gridwatch/center/store.h"

// Plain records: photos, dead letters and the administrative areas.

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

Result<std::string> Store::put_media(const Media& media, std::string_view uploaded_by) {
  auto l = lease();
  if (!l) return std::unexpected(l.error());
  const std::string id = platform::random_secret(16);
  auto r = exec(l->get(), sql::insert_media,
                {id, media.content_type, std::string(uploaded_by), media.bytes}, /*binary_last=*/true);
  if (!r) return std::unexpected(r.error());
  return id;
}

Result<std::optional<Media>> Store::media(std::string_view id) {
  auto l = lease();
  if (!l) return std::unexpected(l.error());
  auto r = exec(l->get(), sql::select_media, {std::string(id)});
  if (!r) return std::unexpected(r.error());
  if (PQntuples(r->get()) == 0) return std::optional<Media>{};
  size_t n = 0;
  unsigned char* bytes = PQunescapeBytea(reinterpret_cast<const unsigned char*>(PQgetvalue(r->get(), 0, 1)), &n);
  if (!bytes) return fail(ErrorCode::kInternal, "database: the image could not be decoded");
  Media m{PQgetvalue(r->get(), 0, 0), std::string(reinterpret_cast<const char*>(bytes), n)};
  PQfreemem(bytes);
  return std::optional<Media>{std::move(m)};
}

Status Store::add_dead_letter(std::string_view source, std::string_view reason,
                              std::string_view payload, size_t keep) {
  auto l = lease();
  if (!l) return std::unexpected(l.error());
  auto r = exec(l->get(),
                sql::insert_dead_letter,
                {std::string(source), std::string(reason), std::string(payload)},
                /*binary_last=*/true);
  if (!r) return std::unexpected(r.error());
  if (keep > 0) {
    auto t = exec(l->get(), sql::trim_dead_letters, {std::string(source), std::to_string(keep)});
    if (!t) return std::unexpected(t.error());
  }
  return {};
}

Result<size_t> Store::upsert_areas(const std::vector<const geo::Area*>& areas) {
  auto l = lease();
  if (!l) return std::unexpected(l.error());
  pg_conn* c = l->get();
  Transaction txn(c);
  if (auto st = txn.begin(); !st) return std::unexpected(st.error());
  if (auto r = exec(c, sql::create_areas_load);
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
  auto up = exec(c, sql::insert_areas);
  if (!up) return std::unexpected(up.error());
  size_t changed = static_cast<size_t>(std::stoul(PQcmdTuples(up->get())));
  if (auto st = txn.commit(); !st) return std::unexpected(st.error());
  return changed;
}

Result<std::string> Store::areas_geojson(std::optional<int> level) {
  auto l = lease();
  if (!l) return std::unexpected(l.error());
  auto r = exec(l->get(), sql::areas_geojson,
                {level ? Param{std::to_string(*level)} : Param{}});
  if (!r) return std::unexpected(r.error());
  return std::string(PQgetvalue(r->get(), 0, 0));
}

Status Store::ping() {
  auto l = lease();
  if (!l) return std::unexpected(l.error());
  auto r = exec(l->get(), sql::ping);
  if (!r) return std::unexpected(r.error());
  return {};
}

}  // namespace gridwatch::center
