// gridwatch classify train|eval|predict: the dispatch suggestion model, offline.
#include <fstream>
#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "gridwatch/classify/dataset.h"
#include "gridwatch/classify/evaluate.h"
#include "gridwatch/classify/safety.h"
#include "gridwatch/domain/catalog.h"
#include "gridwatch/domain/order.h"
#include "gridwatch/domain/text.h"

namespace gridwatch::app {
namespace {

struct Loaded {
  std::vector<classify::Example> examples;
  classify::Keywords keywords;
};

// The export's examples and every keyword that applies: the catalog's words (for labels that are
// catalog codes), the mapping's and the --keywords file's.
std::optional<Loaded> load(const ClassifyOptions& o) {
  auto mapping = classify::load_dataset_mapping(o.mapping);
  if (!mapping) {
    fmt::print(stderr, "error: {}\n", mapping.error().message);
    return std::nullopt;
  }
  std::ifstream csv(o.tickets, std::ios::binary);
  if (!csv) {
    fmt::print(stderr, "error: {}: cannot open file\n", o.tickets.string());
    return std::nullopt;
  }
  auto data = classify::load_dataset(csv, *mapping, [&](size_t line, const std::string& why) {
    fmt::print(stderr, "{}:{}: skipped: {}\n", o.tickets.string(), line, why);
  });
  if (!data) {
    fmt::print(stderr, "error: {}: {}\n", o.tickets.string(), data.error().message);
    return std::nullopt;
  }
  fmt::print(stderr, "{}: {} rows, {} examples, {} skipped, {} repeated tickets kept once\n", o.tickets.string(),
             data->rows, data->examples.size(), data->skipped, data->repeats);
  Loaded out{std::move(data->examples), classify::catalog_keywords(Catalog::builtin())};
  for (auto& [label, words] : mapping->keywords) out.keywords[label] = std::move(words);
  if (!o.keywords.empty()) {
    auto extra = classify::load_keywords_csv(o.keywords);
    if (!extra) {
      fmt::print(stderr, "error: {}\n", extra.error().message);
      return std::nullopt;
    }
    for (auto& [label, words] : *extra) {
      auto& dest = out.keywords[label];
      dest.insert(dest.end(), words.begin(), words.end());
    }
  }
  return out;
}

classify::TrainOptions train_options(const ClassifyOptions& o) {
  classify::TrainOptions t;
  t.normalize = !o.no_normalize;
  t.keywords = !o.no_keywords;
  t.tfidf = !o.no_tfidf;
  t.c = o.c;
  t.keyword_weight = o.keyword_weight;
  t.target_precision = o.target_precision;
  t.seed = o.seed;
  t.name = o.name;
  t.calibration_folds = o.folds;
  return t;
}

std::shared_ptr<const classify::Normalizer> normalizer_or_report() {
  auto n = classify::Normalizer::create();
  if (!n) {
    fmt::print(stderr, "error: {}\n", n.error().message);
    return nullptr;
  }
  return *n;
}

}  // namespace

int run_classify_train(const ClassifyOptions& o) {
  if (!is_valid_id(o.name, 32)) {
    fmt::print(stderr, "error: --name {}: 1-32 characters of [A-Za-z0-9._:-]\n", printable(o.name));
    return kExitUsage;
  }
  auto normalizer = normalizer_or_report();
  if (!normalizer) return kExitFailure;
  auto data = load(o);
  if (!data) return kExitUsage;
  auto model = classify::Model::train(data->examples, data->keywords, train_options(o), normalizer);
  if (!model) {
    fmt::print(stderr, "error: {}\n", model.error().message);
    return kExitUsage;
  }
  if (auto saved = model->save(o.out); !saved) {
    fmt::print(stderr, "error: {}\n", saved.error().message);
    return kExitFailure;
  }
  const double t = model->threshold();
  fmt::print("model {} written to {}: {} labels, {} features, temperature {:.3f}, ", model->id(), o.out.string(),
             model->labels().size(), model->features(), model->temperature());
  if (t <= 1) fmt::print("suggested auto_threshold {:.3f} (precision ≥ {:.0f} % held out)\n", t, 100 * o.target_precision);
  else fmt::print("no threshold reached precision {:.0f} % held out: do not auto-fill\n", 100 * o.target_precision);
  return kExitOk;
}

int run_classify_eval(const ClassifyOptions& o) {
  auto normalizer = normalizer_or_report();
  if (!normalizer) return kExitFailure;
  auto data = load(o);
  if (!data) return kExitUsage;
  auto ev = classify::cross_validate(data->examples, data->keywords, train_options(o), size_t(o.folds), normalizer);
  if (!ev) {
    fmt::print(stderr, "error: {}\n", ev.error().message);
    return kExitUsage;
  }
  fmt::print("{}", classify::format_evaluation(*ev, data->examples, size_t(o.mistakes)));
  return kExitOk;
}

int run_classify_predict(const ClassifyOptions& o) {
  auto normalizer = normalizer_or_report();
  if (!normalizer) return kExitFailure;
  auto model = classify::Model::load(o.model, normalizer);
  if (!model) {
    fmt::print(stderr, "error: {}\n", model.error().message);
    return kExitUsage;
  }
  const classify::SafetyCheck safety(classify::SafetyRules::defaults(), normalizer);
  std::string line;
  size_t n = 0;
  while (std::getline(std::cin, line)) {
    ++n;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    nlohmann::json out;
    if (!is_valid_utf8(line)) {
      out = {{"error", "not UTF-8"}, {"line", n}};
    } else if (trim_blanks(line).empty()) {
      out = {{"error", "empty text"}, {"line", n}};
    } else {
      const std::u32string prepared = model->prepare(line);  // once for the model and the safety words
      const auto pred = model->predict_prepared(prepared);
      out["category"] = pred.ranked.front().label;
      out["p"] = pred.ranked.front().p;
      out["top3"] = nlohmann::json::array();
      for (size_t i = 0; i < std::min<size_t>(3, pred.ranked.size()); ++i)
        out["top3"].push_back({{"category", pred.ranked[i].label}, {"p", pred.ranked[i].p}});
      const auto word = model->options().normalize ? safety.match_normalized(prepared) : safety.match(line);
      out["safety"] = word ? nlohmann::json(*word) : nlohmann::json(nullptr);
      out["auto"] = !word && pred.ranked.front().p >= model->threshold();
      out["model"] = model->id();
    }
    if (out.contains("error")) fmt::print(stderr, "stdin:{}: {}\n", n, out["error"].get<std::string>());
    std::cout << out.dump() << '\n';
  }
  return kExitOk;
}

}  // namespace gridwatch::app
