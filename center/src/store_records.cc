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
#include "store_db.h"

namespace gridwatch::center {

using namespace db;  // the store's plumbing (store_db.h)

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
