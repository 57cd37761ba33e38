// k-fold cross-validation of a classifier configuration, with the figures a dispatcher center
// needs before it lets the model fill categories on its own: top-1 and top-3 accuracy, macro-F1,
// the confusion table, the reliability (calibration) table, and precision against coverage of
// the auto-fill threshold.
//
// Each outer fold trains a Model exactly as `classify train` does (its temperature and suggested
// threshold fitted on inner folds of the training part only) and predicts the held-out part, so
// the auto-fill figures are those of a model used with its own suggested threshold.
#pragma once

#include <string>
#include <vector>

#include "gridwatch/classify/dataset.h"
#include "gridwatch/classify/model.h"

namespace gridwatch::classify {

struct Evaluation {
  std::vector<std::string> labels;
  size_t examples = 0;
  size_t folds = 0;
  double top1 = 0;
  double top3 = 0;
  double macro_f1 = 0;
  double log_loss = 0;
  std::vector<std::vector<size_t>> confusion;  // [true label][predicted label]
  struct Bin {
    double lo = 0, hi = 0;
    size_t n = 0;
    double mean_p = 0;
    double accuracy = 0;
  };
  std::vector<Bin> reliability;  // top-1 probability in tenths
  double ece = 0;                // expected calibration error over the bins
  struct Point {
    double threshold = 0;
    double coverage = 0;
    double precision = 0;
  };
  std::vector<Point> curve;  // pooled held-out predictions, thresholds 0.5, 0.55, ... 0.95
  // Each fold's model filling with its own suggested threshold, pooled.
  double auto_coverage = 0;
  double auto_precision = 0;
  double mean_threshold = 0;
  // Wrong top-1 predictions, most confident first: the tickets to read (often a label to fix).
  struct Mistake {
    size_t example = 0;  // index into the examples
    std::string truth;
    std::string predicted;
    double p = 0;
  };
  std::vector<Mistake> mistakes;
};

[[nodiscard]] Result<Evaluation> cross_validate(const std::vector<Example>& examples, const Keywords& keywords,
                                                const TrainOptions& options, size_t folds,
                                                std::shared_ptr<const Normalizer> normalizer);

// The evaluation as the tables `gridwatch classify eval` prints.
// The first `mistakes` mistakes are listed with the start of their text.
std::string format_evaluation(const Evaluation& e, const std::vector<Example>& examples, size_t mistakes = 0);

}  // namespace gridwatch::classify
