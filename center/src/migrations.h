// The schema's migrations, in the order they are applied: the SQL files of center/sql/, embedded
// at build time (center/CMakeLists.txt lists them). Append only: a migration that has shipped is
// never edited; a change to the schema is the next file. Store::migrate() applies those above the
// database's version, each in the same transaction as its row in schema_migrations.
// Thread-safe: constant data.
#pragma once

#include <span>

namespace gridwatch::center {

struct Migration {
  int version;
  const char* name;  // the file's first line: "-- Migration N: NAME"
  const char* file;  // relative to the source tree, e.g. "center/sql/001_orders.sql"
  const char* sql;   // the whole file, as it was when built
};

std::span<const Migration> migrations();

}  // namespace gridwatch::center
