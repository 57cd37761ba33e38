// 智能派单: the category and department suggested from what a caller said (docs/classify.md).
//
// A Suggester wraps the trained text classifier (classify::Model) and the safety-word rule for
// the center. For a hotline ticket's description it answers the suggestion kept with the source
// — {category, department, p, top3, model, safety} — and what the ticket takes from it:
// - a safety word (gas leak, fire, someone trapped): urgent, and a person decides (no category
//   is filled in, whatever p);
// - no category given by the caller and p ≥ auto_threshold: the suggested category;
// - otherwise the caller's category, or general.other (the dispatcher's queue) with the top 3
//   shown to the dispatcher.
// The department is the suggested category's (the unit comes from the place, as for every case).
// Immutable after loading; suggest() is thread-safe.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "gridwatch/center/config.h"
#include "gridwatch/domain/catalog.h"
#include "gridwatch/domain/error.h"

namespace gridwatch::classify {
class Model;
class SafetyCheck;
}  // namespace gridwatch::classify

namespace gridwatch::center {

inline constexpr std::string_view kQueueCategory = "general.other";

struct Suggestion {
  nlohmann::json json;                 // kept with the source and in the case's history
  std::optional<std::string> fill;     // the category the ticket takes, when it takes one
  bool urgent = false;                 // a safety word: the ticket is urgent
  std::string note;                    // for the log and the history
};

class Suggester {
 public:
  // Loads config.model; kConfig naming classify.model when it cannot be read, or when one of its
  // labels is not a category of the catalog.
  static Result<std::shared_ptr<const Suggester>> load(const ClassifyConfig& config, const Catalog& catalog);
  ~Suggester();

  // `given`: the caller's category (empty when none).
  Suggestion suggest(std::string_view text, std::string_view given) const;
  const std::string& model_id() const;
  const Catalog& catalog() const { return *catalog_; }
  double threshold() const { return threshold_; }

 private:
  Suggester() = default;
  const Catalog* catalog_ = nullptr;
  std::unique_ptr<classify::Model> model_;
  std::unique_ptr<classify::SafetyCheck> safety_;
  double threshold_ = 1.01;
};

// For a hotline source (kind hotline) with a description (or `text`, when given: what the model
// was trained on) and a suggester: the suggestion, with `source` changed as it says (category
// filled, with that category's priority when it is more urgent, or general.other; priority
// urgent on a safety word). nullopt otherwise, and a source without a category gets general.other.
std::optional<Suggestion> apply_suggestion(const Suggester* suggester, nlohmann::json& source,
                                           std::string_view text = {});

}  // namespace gridwatch::center
