// A complaint classifier: normalised text → hashed n-gram TF-IDF + keyword counts → liblinear's
// L2-regularised logistic regression (one-vs-rest) → temperature-scaled softmax probabilities.
//
// Training fits the temperature on decision values of held-out folds (the model never sees the
// texts it is calibrated on) and, from the same held-out predictions, the lowest probability at
// which the suggestions above it reach `target_precision` (seen right that often, and promising it
// by their mean probability): the suggested auto-fill threshold.
// A Model is immutable after training or loading; predict() is const and thread-safe.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "gridwatch/classify/features.h"
#include "gridwatch/classify/normalize.h"
#include "gridwatch/domain/error.h"

namespace gridwatch::classify {

struct Example {
  std::string text;
  std::string label;
};

struct TrainOptions {
  bool normalize = true;   // false: raw code points (the baseline the benchmark compares with)
  bool keywords = true;    // false: no keyword features
  bool tfidf = true;       // false: raw counts (the baseline)
  int hash_bits = 20;
  double c = 100;          // liblinear's C (TF-IDF rows have unit length: little regularisation)
  double keyword_weight = 0.25;  // the keyword features beside unit-length TF-IDF rows (docs/classify.md)
  int calibration_folds = 5;
  double target_precision = 0.97;
  uint64_t seed = 1;
  std::string name = "model";  // the model id starts with it
};

struct Scored {
  std::string label;
  double p = 0;
};

// Every label, most probable first; the p sum to 1.
struct Prediction {
  std::vector<Scored> ranked;
};

// Fold (0..k-1) of each example such that every label is spread evenly over the folds; seeded.
std::vector<size_t> stratified_folds(const std::vector<size_t>& label_of, size_t folds, uint64_t seed);

class Model {
 public:
  // Labels are the distinct labels of `examples` (at least two, each at least once; a label seen
  // fewer times than calibration_folds is still learnt). keywords: label → words (labels not in
  // the examples are ignored).
  static Result<Model> train(const std::vector<Example>& examples,
                             const std::map<std::string, std::vector<std::string>>& keywords,
                             const TrainOptions& options, std::shared_ptr<const Normalizer> normalizer);
  // Reads a file written by save(); kParse when it is not one (or of another version).
  static Result<Model> load(const std::filesystem::path& path, std::shared_ptr<const Normalizer> normalizer);
  Status save(const std::filesystem::path& path) const;

  Prediction predict(std::string_view text) const;
  // The text as the model reads it (normalised, or only decoded when trained without), and the
  // prediction of a text prepared so: for a caller that also needs the normalised text (the
  // safety check) and normalises once.
  std::u32string prepare(std::string_view text) const;
  Prediction predict_prepared(std::u32string_view prepared) const;
  // The uncalibrated decision values, one per label (labels() order).
  std::vector<double> decision(std::string_view text) const;

  const std::vector<std::string>& labels() const { return labels_; }
  const std::string& id() const { return id_; }
  double temperature() const { return temperature_; }
  // The suggested auto-fill threshold (above 1 when no threshold reached the target precision).
  double threshold() const { return threshold_; }
  const TrainOptions& options() const { return options_; }
  size_t features() const { return columns_.size(); }

  // Calibration helpers, exposed for evaluation and tests.
  static std::vector<double> softmax(const std::vector<double>& decision, double temperature);
  // The temperature minimising the log loss of `decisions` against `truth` (label indexes).
  static double fit_temperature(const std::vector<std::vector<double>>& decisions, const std::vector<size_t>& truth);
  // The lowest p such that the predictions with top probability ≥ p are right at least `target`
  // of the time and their mean top probability is at least `target` too; 1.01 when none is.
  static double pick_threshold(const std::vector<double>& top_p, const std::vector<bool>& right, double target);

 private:
  Model() = default;
  SparseVector encode(std::u32string_view prepared) const;
  std::vector<double> decision_prepared(std::u32string_view prepared) const;
  static Result<Model> fit(const std::vector<const Example*>& examples, const std::vector<std::string>& labels,
                           const std::map<std::string, std::vector<std::string>>& keywords,
                           const TrainOptions& options, std::shared_ptr<const Normalizer> normalizer);

  std::shared_ptr<const Normalizer> normalizer_;
  TrainOptions options_;
  std::vector<std::string> labels_;
  KeywordMatcher keywords_;
  std::unordered_map<uint32_t, uint32_t> columns_;  // hashed n-gram → column
  std::vector<float> idf_;                          // per column
  std::vector<float> weights_;                      // (columns + labels + 1 bias) × labels
  double temperature_ = 1;
  double threshold_ = 1.01;
  std::string id_;
};

}  // namespace gridwatch::classify
