// Bulk import of hotline tickets from a CSV export with a column-mapping file (reference in
// docs/configuration.md, "Ticket import mappings"). Each row becomes a hotline source that opens
// or joins a case like an Open311 request; the row's own id makes a re-import change nothing.
#pragma once

#include <filesystem>
#include <functional>
#include <istream>
#include <map>
#include <string>
#include <vector>

#include "gridwatch/center/store.h"
#include "gridwatch/center/suggest.h"
#include "gridwatch/domain/catalog.h"
#include "gridwatch/domain/error.h"
#include "gridwatch/geo/areas.h"

namespace gridwatch::center {

struct TicketMapping {
  std::string source;  // id prefix and channel name: ids become "{source}-{id column}"
  std::string id_column, time_column, category_column, lat_column, long_column, address_column;
  std::vector<std::string> description_columns;  // joined with " / "
  // what the dispatch suggestion model reads (columns.text; empty: the description)
  std::vector<std::string> text_columns;
  std::string time_format;                        // strptime-like, read by CCTZ
  std::string time_zone;                          // IANA name
  geo::Crs crs = geo::Crs::kWgs84;                // of lat/long: Chinese exports are often GCJ-02
  std::map<std::string, std::string> categories;  // value of the category column -> service code
  std::string unmapped;                           // a service code, or "" to reject the row
};

[[nodiscard]] Result<TicketMapping> load_ticket_mapping(const std::filesystem::path& path,
                                                        const Catalog& catalog);
[[nodiscard]] Result<TicketMapping> parse_ticket_mapping(std::string_view yaml, std::string source,
                                                         const Catalog& catalog);

struct ImportSummary {
  size_t rows = 0;
  size_t imported = 0;     // opened a case of their own, with a place
  size_t merged = 0;       // joined an open case
  size_t no_location = 0;  // kept without a place: a case in the dispatcher's queue
  size_t rejected = 0;     // reported with line number and reason, not stored
  size_t already = 0;      // stored by an earlier import
  std::map<std::string, size_t> unmapped_values;  // category values sent to `unmapped`
  size_t suggested = 0;  // rows whose category a suggestion filled in (docs/classify.md)
};

// Reads the CSV (a header line, then one ticket per line) and stores each row. `areas` places
// rows in the administrative areas (may be empty). `on_reject(line, reason)` is called for each
// bad row. Fails only when the file cannot be used at all (no header, a mapped column missing)
// or the database is unavailable. With a `suggester`, each row with a description gets a
// suggestion; a row whose category the mapping did not know (sent to `unmapped`) takes the
// suggested category when its p reaches the threshold.
[[nodiscard]] Result<ImportSummary> import_tickets(
    std::istream& csv, const TicketMapping& mapping, const Catalog& catalog, Store& store,
    const geo::AreaIndex* areas,
    const std::function<void(size_t line, const std::string& reason)>& on_reject,
    const Suggester* suggester = nullptr);

}  // namespace gridwatch::center
