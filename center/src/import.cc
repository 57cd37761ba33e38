#include "gridwatch/center/import.h"

#include <cctz/time_zone.h>

#include <charconv>
#include <cmath>

#include <fmt/format.h>

#include "gridwatch/domain/config.h"
#include "gridwatch/domain/csv.h"
#include "gridwatch/domain/order.h"
#include "gridwatch/domain/text.h"
#include "gridwatch/geo/chinacoord.h"
#include "gridwatch/geo/distance.h"

namespace gridwatch::center {
namespace {

// The non-empty fields of `columns`, joined with " / " (a description or a text of several columns).
std::string joined(const std::vector<std::string>& fields, const std::vector<size_t>& columns) {
  std::string out;
  for (size_t c : columns) {
    if (fields[c].empty()) continue;
    if (!out.empty()) out += " / ";
    out += fields[c];
  }
  return out;
}


}  // namespace

Result<TicketMapping> parse_ticket_mapping(std::string_view yaml, std::string source, const Catalog& catalog) {
  return read_config_text<TicketMapping>(yaml, std::move(source), [&](const ConfigNode& root) {
    root.allow_only({"source", "columns", "time", "categories", "unmapped", "crs"});
    TicketMapping m;
    m.crs = *geo::parse_crs(root.choice("crs", {"wgs84", "gcj02", "bd09"}, "wgs84"));
    m.source = root.string("source");
    if (!is_valid_id(m.source, 32)) root.raise("source", "1-32 characters of [A-Za-z0-9._:-]");
    ConfigNode cols = root.at("columns");
    cols.allow_only({"id", "requested_at", "category", "description", "lat", "long", "address", "text"});
    m.id_column = cols.string("id");
    m.time_column = cols.string("requested_at");
    m.category_column = cols.string("category");
    m.lat_column = cols.string("lat");
    m.long_column = cols.string("long");
    m.address_column = cols.string("address", "");
    m.description_columns = cols.strings("description");
    if (cols.has("text"))
      m.text_columns = cols.yaml()["text"].IsScalar() ? std::vector<std::string>{cols.string("text")} : cols.strings("text");
    ConfigNode time = root.at("time");
    time.allow_only({"format", "zone"});
    m.time_format = time.string("format");
    m.time_zone = time.string("zone", "UTC");
    cctz::time_zone tz;
    if (!cctz::load_time_zone(m.time_zone, &tz)) time.raise("zone", fmt::format("unknown time zone \"{}\"", m.time_zone));
    if (auto cats = root.find("categories")) {
      if (!cats->yaml().IsMap()) root.raise("categories", "a mapping of column value -> service code");
      for (const auto& kv : cats->yaml()) {
        const std::string value = kv.first.as<std::string>();
        const std::string code = cats->string(value);
        if (!catalog.find(code)) cats->raise(value, fmt::format("\"{}\" is not a category of the catalog", code));
        m.categories[value] = code;
      }
    }
    m.unmapped = root.string("unmapped", "reject");
    if (m.unmapped == "reject") {
      m.unmapped.clear();
    } else if (!catalog.find(m.unmapped)) {
      root.raise("unmapped", fmt::format("\"{}\" is neither reject nor a category of the catalog", m.unmapped));
    }
    return m;
  });
}

Result<TicketMapping> load_ticket_mapping(const std::filesystem::path& path, const Catalog& catalog) {
  auto text = read_text_file(path);
  if (!text) return std::unexpected(text.error());
  return parse_ticket_mapping(*text, path.string(), catalog);
}

Result<ImportSummary> import_tickets(std::istream& csv, const TicketMapping& m, const Catalog& catalog, Store& store,
                                     const geo::AreaIndex* areas,
                                     const std::function<void(size_t, const std::string&)>& on_reject,
                                     const Suggester* suggester) {
  std::string line;
  if (!std::getline(csv, line)) return fail(ErrorCode::kParse, "the CSV file is empty (no header line)");
  if (line.starts_with("\xEF\xBB\xBF")) line.erase(0, 3);  // a spreadsheet's byte-order mark
  const std::vector<std::string> header = split_csv_line(line);
  auto column = [&](const std::string& name) -> Result<size_t> {
    for (size_t i = 0; i < header.size(); ++i)
      if (header[i] == name) return i;
    return fail(ErrorCode::kInvalidArgument, fmt::format("the header has no column \"{}\"", name), "columns");
  };
  std::vector<std::string> wanted = {m.id_column, m.time_column, m.category_column, m.lat_column, m.long_column};
  if (!m.address_column.empty()) wanted.push_back(m.address_column);
  wanted.insert(wanted.end(), m.description_columns.begin(), m.description_columns.end());
  std::vector<size_t> at;
  for (const std::string& name : wanted) {
    auto c = column(name);
    if (!c) return std::unexpected(c.error());
    at.push_back(*c);
  }
  const size_t id_col = at[0], time_col = at[1], cat_col = at[2], lat_col = at[3], lon_col = at[4];
  std::optional<size_t> addr_col;
  if (!m.address_column.empty()) addr_col = at[5];
  const std::vector<size_t> desc_cols(at.end() - static_cast<std::ptrdiff_t>(m.description_columns.size()), at.end());
  std::vector<size_t> text_cols;  // checked only when a suggester reads them
  if (suggester)
    for (const std::string& name : m.text_columns) {
      auto c = column(name);
      if (!c) return std::unexpected(c.error());
      text_cols.push_back(*c);
    }
  cctz::time_zone tz;
  cctz::load_time_zone(m.time_zone, &tz);

  ImportSummary sum;
  size_t number = 1;
  while (std::getline(csv, line)) {
    ++number;
    if (line.empty() || line == "\r") continue;
    ++sum.rows;
    // A bad row is reported and kept as a dead letter with its reason.
    auto reject = [&](const std::string& reason) {
      ++sum.rejected;
      on_reject(number, reason);
      if (auto st = store.add_dead_letter(fmt::format("import:{}:{}", m.source, number), reason, line); !st)
        on_reject(number, fmt::format("(not kept: {})", st.error().message));
    };
    if (!is_valid_utf8(line)) {
      reject("not valid UTF-8 (exports in GBK or another encoding must be converted to UTF-8 first)");
      continue;
    }
    if (has_control_chars(line.substr(0, line.size() - (line.ends_with('\r') ? 1 : 0)))) {
      reject("holds a control character");
      continue;
    }
    const std::vector<std::string> f = split_csv_line(line);
    if (f.size() != header.size()) {
      reject(fmt::format("{} fields, the header has {}", f.size(), header.size()));
      continue;
    }
    const std::string& raw_id = f[id_col];
    const std::string id = fmt::format("{}-{}", m.source, raw_id);
    if (raw_id.empty() || !is_valid_id(id)) {
      reject(fmt::format("{} \"{}\" is not a usable id", m.id_column, printable(raw_id, 40)));
      continue;
    }
    std::chrono::system_clock::time_point tp;
    if (!cctz::parse(m.time_format, f[time_col], tz, &tp)) {
      reject(fmt::format("{} \"{}\" does not match \"{}\"", m.time_column, printable(f[time_col], 40), m.time_format));
      continue;
    }
    std::string code;
    bool mapped = true;
    if (auto it = m.categories.find(f[cat_col]); it != m.categories.end()) {
      code = it->second;
    } else if (!m.unmapped.empty()) {
      code = m.unmapped;
      mapped = false;
      ++sum.unmapped_values[f[cat_col]];
    } else {
      reject(fmt::format("{} \"{}\" has no service code in the mapping", m.category_column, printable(f[cat_col])));
      continue;
    }
    std::optional<LonLat> where;
    const std::string& lat_s = f[lat_col];
    const std::string& lon_s = f[lon_col];
    if (!lat_s.empty() || !lon_s.empty()) {
      const auto lat = parse_finite(lat_s), lon = parse_finite(lon_s);
      const LonLat p{.lon = lon.value_or(0), .lat = lat.value_or(0)};
      if (!lat || !lon || !geo::is_valid_wgs84(p)) {
        reject(fmt::format("{}/{} \"{}\", \"{}\" is not a WGS-84 position", m.lat_column, m.long_column,
                           printable(lat_s, 30), printable(lon_s, 30)));
        continue;
      }
      // 0,0 is what many exports write for "no position".
      if (p.lon != 0 || p.lat != 0) where = geo::to_wgs84(p, m.crs);
    }
    const std::string description = joined(f, desc_cols);
    if (utf8_length(description) > 4000) {
      reject("the description is longer than 4000 characters");
      continue;
    }
    const Category& cat = *catalog.find(code);
    nlohmann::json s = {{"id", id},
                        {"kind", "hotline"},
                        {"channel", "import:" + m.source},
                        {"category", code},
                        {"priority", std::string(to_string(cat.default_priority))},
                        {"reported_at", format_rfc3339(std::chrono::time_point_cast<std::chrono::milliseconds>(tp))},
                        {"description", description},
                        {"attributes", {{"imported_category", f[cat_col]}}}};
    if (addr_col && !f[*addr_col].empty()) s["address"] = f[*addr_col];
    std::optional<Suggestion> suggestion;
    if (suggester) {
      if (!mapped) s["category"] = "";  // the mapping did not know it: the suggestion may fill it
      // what the model was trained on, when the mapping says (columns.text)
      suggestion = apply_suggestion(suggester, s, joined(f, text_cols));
      if (!mapped && !(suggestion && suggestion->fill)) s["category"] = code;
      if (suggestion && suggestion->fill) ++sum.suggested;
    }
    const auto placement = Store::Placement::of(areas, where);
    auto out = store.add_source(std::move(s), where, &placement);
    if (out && suggestion && out->stored != Stored::kDuplicate)
      if (auto st = store.record_suggestion(out->id, suggestion->json); !st)
        on_reject(number, fmt::format("stored, but its suggestion was not kept: {}", st.error().message));
    if (!out) {
      if (out.error().code == ErrorCode::kUnavailable) return std::unexpected(out.error());
      reject(out.error().message);
      continue;
    }
    if (out->stored == Stored::kDuplicate) ++sum.already;
    else if (out->stored == Stored::kMerged) ++sum.merged;
    else if (!where) ++sum.no_location;
    else ++sum.imported;
  }
  return sum;
}

}  // namespace gridwatch::center
