#include "gridwatch/domain/catalog.h"

#include <algorithm>
#include <cstdlib>
#include <regex>

#include <fmt/format.h>

#include "gridwatch/domain/config.h"

namespace gridwatch {

extern const char* const kBuiltinCatalogYaml;  // generated from data/categories.yaml

std::string_view to_string(Priority p) {
  switch (p) {
    case Priority::kUrgent: return "urgent";
    case Priority::kHigh: return "high";
    case Priority::kNormal: return "normal";
    case Priority::kLow: return "low";
  }
  return "normal";
}

std::string_view to_string(VerifyBy v) {
  switch (v) {
    case VerifyBy::kWorker: return "worker";
    case VerifyBy::kSensor: return "sensor";
    case VerifyBy::kResident: return "resident";
    case VerifyBy::kNone: return "none";
  }
  return "resident";
}

std::optional<Priority> parse_priority(std::string_view text) {
  if (text == "urgent") return Priority::kUrgent;
  if (text == "high") return Priority::kHigh;
  if (text == "normal") return Priority::kNormal;
  if (text == "low") return Priority::kLow;
  return std::nullopt;
}

namespace {

LocalizedName read_name(const ConfigNode& n) {
  n.allow_only({"zh", "en"});
  return {n.string("zh"), n.string("en")};
}


}  // namespace

Result<Catalog> Catalog::load_text(std::string_view yaml, std::string source_name) {
  return read_config_text<Catalog>(yaml, std::move(source_name), [](const ConfigNode& root) {
    root.allow_only({"version", "urgent_sla", "categories"});
    root.integer("version", 1, 1, 1);
    Catalog c;
    if (auto u = root.find("urgent_sla")) {
      u->allow_only({"respond", "resolve"});
      c.urgent_respond_ = u->duration("respond", c.urgent_respond_, std::chrono::minutes{1}, std::chrono::days{30});
      c.urgent_resolve_ = u->duration("resolve", c.urgent_resolve_, std::chrono::minutes{1}, std::chrono::days{365});
      if (c.urgent_resolve_ < c.urgent_respond_) u->raise("resolve", "must not be shorter than respond");
    }
    std::vector<ConfigNode> merge_nodes;
    static const std::regex kCode("^[a-z][a-z_]*\\.[a-z][a-z_]*$");
    static const std::regex kTaxonomy("^[0-9]{6}$");
    for (const ConfigNode& n : root.list("categories", true)) {
      n.allow_only({"code", "name", "department", "sla", "merge", "priority", "taxonomy", "verify", "keywords"});
      Category cat;
      cat.code = n.string("code");
      if (!std::regex_match(cat.code, kCode))
        n.raise("code", fmt::format("\"{}\" is not of the form domain.problem (lowercase)",
                                    cat.code));
      if (c.find(cat.code)) n.raise("code", fmt::format("duplicate code \"{}\"", cat.code));
      cat.name = read_name(n.at("name"));
      ConfigNode dep = n.at("department");
      dep.allow_only({"code", "zh", "en"});
      cat.department_code = dep.string("code");
      cat.department = {dep.string("zh"), dep.string("en")};
      ConfigNode sla = n.at("sla");
      sla.allow_only({"respond", "resolve", "verify"});
      using namespace std::chrono;
      if (!sla.has("respond")) sla.raise("respond", "required key is missing");
      if (!sla.has("resolve")) sla.raise("resolve", "required key is missing");
      cat.respond_within = sla.duration("respond", {}, minutes{1}, days{30});
      cat.resolve_within = sla.duration("resolve", {}, minutes{1}, days{365});
      if (cat.resolve_within < cat.respond_within)
        sla.raise("resolve", "must not be shorter than respond");
      cat.verify_within = sla.duration("verify", cat.verify_within, minutes{1}, days{30});
      const std::string by = n.choice("verify", {"worker", "sensor", "resident", "none"}, "resident");
      cat.verify_by = by == "worker"   ? VerifyBy::kWorker
                      : by == "sensor" ? VerifyBy::kSensor
                      : by == "none"   ? VerifyBy::kNone
                                       : VerifyBy::kResident;
      ConfigNode merge = n.at("merge");
      merge.allow_only({"radius_m", "window", "with"});
      cat.merge_radius_m = merge.number("radius_m", 0.0, 10'000.0);
      if (!merge.has("window")) merge.raise("window", "required key is missing");
      cat.merge_window = merge.duration("window", {}, Duration{0}, days{365});
      cat.merge_with = merge.strings("with");
      merge_nodes.push_back(merge);
      std::string prio = n.choice("priority", {"urgent", "high", "normal", "low"}, "normal");
      cat.default_priority = *parse_priority(prio);
      ConfigNode tax = n.at("taxonomy");
      tax.allow_only({"code", "name"});
      cat.taxonomy_code = tax.string("code");
      if (!std::regex_match(cat.taxonomy_code, kTaxonomy))
        tax.raise("code", "must be six digits (a leaf of the 12345 taxonomy), quoted");
      cat.taxonomy_name = tax.string("name");
      cat.keywords = n.strings("keywords");
      c.categories_.push_back(std::move(cat));
    }
    if (c.categories_.empty()) root.raise("categories", "the catalog is empty");
    for (size_t i = 0; i < c.categories_.size(); ++i)
      for (const std::string& other : c.categories_[i].merge_with)
        if (!c.find(other) || other == c.categories_[i].code)
          merge_nodes[i].raise("with", fmt::format("\"{}\" is not another category of the catalog", other));
    return c;
  });
}

Result<Catalog> Catalog::load_file(const std::filesystem::path& path) {
  auto text = read_text_file(path);
  if (!text) return std::unexpected(text.error());
  return load_text(*text, path.string());
}

const Catalog& Catalog::builtin() {
  static const Catalog catalog = [] {
    auto c = load_text(kBuiltinCatalogYaml, "data/categories.yaml (built in)");
    if (!c) {
      fmt::print(stderr, "fatal: built-in catalog is invalid: {}\n", c.error().message);
      std::abort();
    }
    return std::move(*c);
  }();
  return catalog;
}

bool Catalog::compatible(const Category& a, const Category& b) {
  auto names = [](const Category& x, const Category& y) {
    return std::find(x.merge_with.begin(), x.merge_with.end(), y.code) != x.merge_with.end();
  };
  return a.code == b.code || names(a, b) || names(b, a);
}

const Category* Catalog::find(std::string_view code) const {
  auto it = std::find_if(categories_.begin(), categories_.end(),
                         [&](const Category& c) { return c.code == code; });
  return it == categories_.end() ? nullptr : &*it;
}

}  // namespace gridwatch
