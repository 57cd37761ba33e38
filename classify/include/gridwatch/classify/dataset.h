// Training data from a ticket export: which columns hold the text and the final category.
//
// The mapping is the ticket import mapping's format (config/tickets/*.yaml): `columns.text` is a
// column or a list of columns joined with " / " (an import mapping without it uses
// `columns.description`), `columns.category` the label column; `categories` (optional) renames
// labels (a complaint type → a catalog code) and `unmapped` says what happens to labels it does
// not list: "reject" (the row is left out, the default) or a label. `keywords` (optional) is a
// mapping of label → words, or the path of a CSV file (relative to the mapping) whose first
// column is a label and whose other columns are its words, after a header line. `columns.id`
// (optional) names the ticket id: an export that holds a ticket twice keeps it once, and a ticket
// labelled two ways is left out (its true label is not known: it would teach the model both and
// count as a mistake whichever it said).
#pragma once

#include <filesystem>
#include <functional>
#include <istream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "gridwatch/classify/model.h"
#include "gridwatch/domain/catalog.h"
#include "gridwatch/domain/error.h"

namespace gridwatch::classify {

using Keywords = std::map<std::string, std::vector<std::string>>;

struct DatasetMapping {
  std::vector<std::string> text_columns;
  std::string category_column;
  std::string id_column;  // empty: every row is a ticket of its own
  std::map<std::string, std::string> categories;  // empty: labels as they are
  std::optional<std::string> unmapped;            // nullopt: rows with other labels are left out
  Keywords keywords;
};

[[nodiscard]] Result<DatasetMapping> load_dataset_mapping(const std::filesystem::path& path);
[[nodiscard]] Result<DatasetMapping> parse_dataset_mapping(std::string_view yaml, std::string source,
                                                           const std::filesystem::path& base_dir);
// A keyword CSV as described above; kParse names the line of a bad row.
[[nodiscard]] Result<Keywords> load_keywords_csv(const std::filesystem::path& path);
// The catalog's own words per category: its Chinese and English names, its 12345 taxonomy name
// and its `keywords`.
Keywords catalog_keywords(const Catalog& catalog);

struct Dataset {
  std::vector<Example> examples;
  size_t rows = 0;     // data rows read
  size_t skipped = 0;  // rows left out (reported through on_skip)
  size_t repeats = 0;  // rows repeating an earlier row's ticket id, text and label (kept once)
};

// Reads a CSV export with a header line. Rows without text or label, with an unmapped label
// (when unmapped is reject) or with the wrong number of fields are left out and reported with
// their line number, as are the rows of a ticket id labelled two ways (each row); a missing
// column fails the whole file (kInvalidArgument naming it).
[[nodiscard]] Result<Dataset> load_dataset(std::istream& csv, const DatasetMapping& mapping,
                                           const std::function<void(size_t line, const std::string& why)>& on_skip);

}  // namespace gridwatch::classify
