#include "gridwatch/classify/dataset.h"

#include <algorithm>
#include <fstream>
#include <set>

#include <fmt/format.h>

#include "gridwatch/domain/config.h"
#include "gridwatch/domain/csv.h"
#include "gridwatch/domain/text.h"

namespace gridwatch::classify {

Result<DatasetMapping> parse_dataset_mapping(std::string_view yaml, std::string source,
                                             const std::filesystem::path& base_dir) {
  DatasetMapping m;
  std::filesystem::path keyword_file;
  auto parsed = read_config_text<DatasetMapping>(yaml, std::move(source), [&](const ConfigNode& root) {
    // the import's own keys are allowed (one file serves both) and not used here
    root.allow_only({"source", "columns", "time", "categories", "unmapped", "crs", "keywords"});
    ConfigNode cols = root.at("columns");
    cols.allow_only({"id", "requested_at", "category", "description", "lat", "long", "address", "text"});
    for (const char* key : {"text", "description"}) {
      if (!m.text_columns.empty() || !cols.has(key)) continue;
      if (cols.yaml()[key].IsScalar()) m.text_columns = {cols.string(key)};
      else m.text_columns = cols.strings(key);
    }
    if (m.text_columns.empty()) cols.raise("text", "a column (or a list of columns) holding the complaint text");
    m.category_column = cols.string("category");
    m.id_column = cols.string("id", "");
    if (auto cats = root.find("categories")) {
      if (!cats->yaml().IsMap()) root.raise("categories", "a mapping of column value -> label");
      for (const auto& kv : cats->yaml()) {
        const auto value = kv.first.as<std::string>();
        m.categories[value] = cats->string(value);
      }
    }
    const std::string unmapped = root.string("unmapped", "reject");
    if (unmapped != "reject") m.unmapped = unmapped;
    if (auto kw = root.find("keywords")) {
      if (kw->yaml().IsScalar()) {
        keyword_file = root.path("keywords");
      } else if (kw->yaml().IsMap()) {
        for (const auto& kv : kw->yaml()) {
          const auto label = kv.first.as<std::string>();
          m.keywords[label] = kw->strings(label);
        }
      } else {
        root.raise("keywords", "a mapping of label -> words, or the path of a keyword CSV file");
      }
    }
    return m;
  });
  if (!parsed) return parsed;
  if (keyword_file.empty()) return parsed;
  auto kw = load_keywords_csv(keyword_file.is_absolute() ? keyword_file : base_dir / keyword_file);
  if (!kw) return std::unexpected(kw.error());
  parsed->keywords = std::move(*kw);
  return parsed;
}

Result<DatasetMapping> load_dataset_mapping(const std::filesystem::path& path) {
  auto text = read_text_file(path);
  if (!text) return std::unexpected(text.error());
  return parse_dataset_mapping(*text, path.string(), path.parent_path());
}

Result<Keywords> load_keywords_csv(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) return fail(ErrorCode::kIo, fmt::format("cannot open the keyword file {}", path.string()), "keywords");
  Keywords out;
  std::string line;
  size_t n = 0;
  while (std::getline(in, line)) {
    if (++n == 1) continue;  // header
    if (trim_blanks(line).empty()) continue;
    if (!is_valid_utf8(line))
      return fail(ErrorCode::kParse, fmt::format("{}:{}: not UTF-8", path.string(), n), "keywords");
    const auto fields = split_csv_line(line);
    const std::string label(trim_blanks(fields[0]));
    if (label.empty()) return fail(ErrorCode::kParse, fmt::format("{}:{}: no label in the first column", path.string(), n), "keywords");
    auto& words = out[label];
    for (size_t i = 1; i < fields.size(); ++i) {
      std::string w(trim_blanks(fields[i]));
      if (!w.empty() && std::find(words.begin(), words.end(), w) == words.end()) words.push_back(std::move(w));
    }
  }
  return out;
}

Keywords catalog_keywords(const Catalog& catalog) {
  Keywords out;
  for (const Category& c : catalog.all()) {
    auto& words = out[c.code];
    for (const std::string& w : {c.name.zh, c.name.en, c.taxonomy_name})
      if (!w.empty()) words.push_back(w);
    for (const std::string& w : c.keywords) words.push_back(w);
  }
  return out;
}

Result<Dataset> load_dataset(std::istream& csv, const DatasetMapping& m,
                             const std::function<void(size_t, const std::string&)>& on_skip) {
  std::string line;
  if (!std::getline(csv, line)) return fail(ErrorCode::kParse, "the CSV file is empty (no header line)");
  if (line.starts_with("\xEF\xBB\xBF")) line.erase(0, 3);
  const std::vector<std::string> header = split_csv_line(line);
  auto column = [&](const std::string& name) -> Result<size_t> {
    for (size_t i = 0; i < header.size(); ++i)
      if (header[i] == name) return i;
    return fail(ErrorCode::kInvalidArgument, fmt::format("the header has no column \"{}\"", name), "columns");
  };
  std::vector<size_t> text_cols;
  for (const auto& name : m.text_columns) {
    auto c = column(name);
    if (!c) return std::unexpected(c.error());
    text_cols.push_back(*c);
  }
  auto label_col = column(m.category_column);
  if (!label_col) return std::unexpected(label_col.error());
  std::optional<size_t> id_col;
  if (!m.id_column.empty()) {
    auto c = column(m.id_column);
    if (!c) return std::unexpected(c.error());
    id_col = *c;
  }
  // With ids: the lines and the example (or none: a repeat of one) of each id, checked at the end.
  struct Ticket {
    std::vector<size_t> lines;
    std::vector<std::optional<size_t>> example;
  };
  std::map<std::string, Ticket> tickets;

  Dataset d;
  size_t n = 1;
  while (std::getline(csv, line)) {
    ++n;
    if (trim_blanks(line).empty()) continue;
    ++d.rows;
    auto skip = [&](const std::string& why) {
      ++d.skipped;
      if (on_skip) on_skip(n, why);
    };
    if (!is_valid_utf8(line)) {
      skip("not UTF-8");
      continue;
    }
    const auto fields = split_csv_line(line);
    if (fields.size() != header.size()) {
      skip(fmt::format("{} fields where the header has {}", fields.size(), header.size()));
      continue;
    }
    std::string text;
    for (size_t c : text_cols) {
      const auto part = trim_blanks(fields[c]);
      if (part.empty()) continue;
      if (!text.empty()) text += " / ";
      text += part;
    }
    std::string label(trim_blanks(fields[*label_col]));
    if (text.empty()) {
      skip("no text");
      continue;
    }
    if (label.empty()) {
      skip(fmt::format("no label in \"{}\"", m.category_column));
      continue;
    }
    if (!m.categories.empty()) {
      auto it = m.categories.find(label);
      if (it != m.categories.end()) {
        label = it->second;
      } else if (m.unmapped) {
        label = *m.unmapped;
      } else {
        skip(fmt::format("label \"{}\" is not in the mapping's categories", printable(label)));
        continue;
      }
    }
    if (id_col) {
      Ticket& t = tickets[std::string(trim_blanks(fields[*id_col]))];
      bool repeat = false;
      for (const auto& e : t.example) repeat = repeat || (e && d.examples[*e].text == text && d.examples[*e].label == label);
      t.lines.push_back(n);
      t.example.push_back(repeat ? std::nullopt : std::optional<size_t>(d.examples.size()));
      if (repeat) {
        ++d.repeats;
        continue;
      }
    }
    d.examples.push_back({std::move(text), std::move(label)});
  }
  // A ticket labelled two ways: each of its rows left out, in the order of the file.
  std::vector<bool> drop(d.examples.size(), false);
  std::vector<std::pair<size_t, std::string>> dropped;
  for (const auto& [id, t] : tickets) {
    std::set<std::string> labels;  // a repeat's label is its example's
    for (const auto& e : t.example)
      if (e) labels.insert(d.examples[*e].label);
    if (labels.size() < 2) continue;
    std::string both;
    for (const auto& l : labels) both += (both.empty() ? "\"" : "\", \"") + printable(l);
    for (size_t i = 0; i < t.lines.size(); ++i) {
      if (t.example[i]) drop[*t.example[i]] = true;
      else --d.repeats;
      dropped.emplace_back(t.lines[i], fmt::format("ticket \"{}\" is labelled {}\" (its label is not known)", printable(id), both));
    }
  }
  std::sort(dropped.begin(), dropped.end());
  for (const auto& [line_no, why] : dropped) {
    ++d.skipped;
    if (on_skip) on_skip(line_no, why);
  }
  std::vector<Example> kept;
  for (size_t i = 0; i < d.examples.size(); ++i)
    if (!drop[i]) kept.push_back(std::move(d.examples[i]));
  d.examples = std::move(kept);
  return d;
}

}  // namespace gridwatch::classify
