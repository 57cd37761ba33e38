#include "gridwatch/center/suggest.h"

#include <fmt/format.h>

#include "gridwatch/classify/model.h"
#include "gridwatch/classify/safety.h"

namespace gridwatch::center {

Suggester::~Suggester() = default;

Result<std::shared_ptr<const Suggester>> Suggester::load(const ClassifyConfig& config, const Catalog& catalog) {
  auto normalizer = classify::Normalizer::create();
  if (!normalizer) return std::unexpected(normalizer.error());
  auto model = classify::Model::load(config.model, *normalizer);
  if (!model)
    return fail(ErrorCode::kConfig, fmt::format("classify.model: {}", model.error().message), "classify.model");
  if (!catalog.find(kQueueCategory))
    return fail(ErrorCode::kConfig,
                fmt::format("classify.model: the catalog has no {} for tickets the model is not sure of",
                            kQueueCategory),
                "classify.model");
  for (const auto& label : model->labels())
    if (!catalog.find(label))
      return fail(ErrorCode::kConfig,
                  fmt::format("classify.model: the model's label \"{}\" is not a category of the catalog (train it "
                              "with a mapping whose categories are catalog codes)",
                              label),
                  "classify.model");
  classify::SafetyRules rules = classify::SafetyRules::defaults();
  if (!config.safety_words.empty()) rules.words = config.safety_words;
  if (!config.safety_except.empty()) rules.except = config.safety_except;
  std::shared_ptr<Suggester> s(new Suggester());
  s->catalog_ = &catalog;
  s->threshold_ = config.auto_threshold.value_or(model->threshold());
  s->model_ = std::make_unique<classify::Model>(std::move(*model));
  s->safety_ = std::make_unique<classify::SafetyCheck>(rules, *normalizer);
  return std::shared_ptr<const Suggester>(std::move(s));
}

const std::string& Suggester::model_id() const { return model_->id(); }

Suggestion Suggester::suggest(std::string_view text, std::string_view given) const {
  // normalised once for the model and the safety words (when the model reads normalised text)
  const std::u32string prepared = model_->prepare(text);
  const classify::Prediction pred = model_->predict_prepared(prepared);
  const classify::Scored& best = pred.ranked.front();
  const Category* cat = catalog_->find(best.label);  // load() checked every label
  Suggestion out;
  nlohmann::json top3 = nlohmann::json::array();
  for (size_t i = 0; i < std::min<size_t>(3, pred.ranked.size()); ++i)
    top3.push_back({{"category", pred.ranked[i].label}, {"p", pred.ranked[i].p}});
  out.json = {{"category", best.label},
              {"department", cat ? nlohmann::json{{"code", cat->department_code},
                                                  {"zh", cat->department.zh},
                                                  {"en", cat->department.en}}
                                 : nlohmann::json(nullptr)},
              {"p", best.p},
              {"top3", top3},
              {"model", model_->id()},
              {"threshold", threshold_}};
  if (const auto word = model_->options().normalize ? safety_->match_normalized(prepared) : safety_->match(text)) {
    out.urgent = true;
    out.json["safety"] = *word;
    out.json["filled"] = false;
    out.note = fmt::format("safety word \"{}\": urgent, a dispatcher decides (suggested {}, p = {:.2f}, model {})",
                           *word, best.label, best.p, model_->id());
    out.json["note"] = out.note;
    return out;
  }
  const bool fill = given.empty() && best.p >= threshold_;
  out.json["filled"] = fill;
  if (fill) {
    out.fill = best.label;
    out.note = fmt::format("category suggested, p = {:.2f}, model {}", best.p, model_->id());
  } else if (given.empty()) {
    out.note = fmt::format("suggestion below the threshold ({} p = {:.2f} < {:.2f}, model {}): the dispatcher decides",
                           best.label, best.p, threshold_, model_->id());
  } else {
    out.note = fmt::format("the caller chose {}; suggested {}, p = {:.2f}, model {}", given, best.label, best.p,
                           model_->id());
  }
  out.json["note"] = out.note;
  return out;
}

std::optional<Suggestion> apply_suggestion(const Suggester* suggester, nlohmann::json& source, std::string_view text) {
  const std::string given = source.contains("category") && source["category"].is_string()
                                ? source["category"].get<std::string>() : std::string();
  std::string described;
  if (text.empty() && source.contains("description") && source["description"].is_string())
    text = described = source["description"].get<std::string>();
  std::optional<Suggestion> s;
  if (suggester && !text.empty() && source.value("kind", std::string()) == "hotline") s = suggester->suggest(text, given);
  if (s && s->fill) {
    source["category"] = *s->fill;
    // the filled category's priority, unless the ticket is more urgent already
    const std::string was = source.value("priority", std::string("normal"));
    if (const Category* cat = suggester->catalog().find(*s->fill))
      if (cat->default_priority < parse_priority(was).value_or(Priority::kNormal))
        source["priority"] = std::string(to_string(cat->default_priority));
  } else if (given.empty()) {
    source["category"] = std::string(kQueueCategory);
  }
  if (s && s->urgent) source["priority"] = "urgent";
  return s;
}

}  // namespace gridwatch::center
