#include "gridwatch/classify/evaluate.h"

#include <algorithm>
#include <cmath>
#include <set>

#include <fmt/format.h>

#include "gridwatch/domain/text.h"

namespace gridwatch::classify {

Result<Evaluation> cross_validate(const std::vector<Example>& examples, const Keywords& keywords,
                                  const TrainOptions& options, size_t folds,
                                  std::shared_ptr<const Normalizer> normalizer) {
  if (folds < 2 || examples.size() < 2 * folds)
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("{}-fold cross-validation needs at least {} examples, got {}", folds, 2 * folds,
                            examples.size()),
                "folds");
  std::set<std::string> distinct;
  for (const auto& e : examples) distinct.insert(e.label);
  Evaluation ev;
  ev.labels.assign(distinct.begin(), distinct.end());
  ev.examples = examples.size();
  ev.folds = folds;
  const size_t k = ev.labels.size();
  std::map<std::string_view, size_t> index;
  for (size_t j = 0; j < k; ++j) index[ev.labels[j]] = j;
  std::vector<size_t> truth;
  for (const auto& e : examples) truth.push_back(index[e.label]);
  const std::vector<size_t> fold = stratified_folds(truth, folds, options.seed + 7919);

  std::vector<std::vector<double>> p(examples.size());  // in ev.labels order
  std::vector<bool> filled(examples.size(), false);
  double threshold_sum = 0;
  for (size_t f = 0; f < folds; ++f) {
    std::vector<Example> train;
    for (size_t i = 0; i < examples.size(); ++i)
      if (fold[i] != f) train.push_back(examples[i]);
    auto model = Model::train(train, keywords, options, normalizer);
    if (!model) return std::unexpected(model.error());
    threshold_sum += std::min(model->threshold(), 1.0);
    for (size_t i = 0; i < examples.size(); ++i) {
      if (fold[i] != f) continue;
      p[i].assign(k, 0.0);
      const Prediction pred = model->predict(examples[i].text);
      for (const auto& s : pred.ranked) p[i][index[s.label]] = s.p;
      filled[i] = pred.ranked.front().p >= model->threshold();
    }
  }
  ev.mean_threshold = threshold_sum / double(folds);

  ev.confusion.assign(k, std::vector<size_t>(k, 0));
  ev.reliability.resize(10);
  for (size_t b = 0; b < 10; ++b) ev.reliability[b].lo = double(b) / 10, ev.reliability[b].hi = double(b + 1) / 10;
  size_t top1 = 0, top3 = 0, n_filled = 0, filled_right = 0;
  std::vector<double> top_p;
  std::vector<bool> right;
  for (size_t i = 0; i < examples.size(); ++i) {
    std::vector<size_t> order(k);
    for (size_t j = 0; j < k; ++j) order[j] = j;
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return p[i][a] > p[i][b]; });
    const size_t best = order[0];
    const bool ok = best == truth[i];
    top1 += ok ? size_t{1} : size_t{0};
    for (size_t r = 0; r < std::min<size_t>(3, k); ++r) top3 += order[r] == truth[i] ? size_t{1} : size_t{0};
    ++ev.confusion[truth[i]][best];
    ev.log_loss -= std::log(std::max(p[i][truth[i]], 1e-12));
    auto& bin = ev.reliability[std::min<size_t>(9, size_t(p[i][best] * 10))];
    ++bin.n;
    bin.mean_p += p[i][best];
    bin.accuracy += ok ? 1 : 0;
    top_p.push_back(p[i][best]);
    right.push_back(ok);
    if (!ok) ev.mistakes.push_back({i, ev.labels[truth[i]], ev.labels[best], p[i][best]});
    if (filled[i]) {
      ++n_filled;
      filled_right += ok ? size_t{1} : size_t{0};
    }
  }
  const double n = double(examples.size());
  ev.top1 = double(top1) / n;
  ev.top3 = double(top3) / n;
  ev.log_loss /= n;
  for (auto& bin : ev.reliability) {
    if (bin.n == 0) continue;
    bin.mean_p /= double(bin.n);
    bin.accuracy /= double(bin.n);
    ev.ece += double(bin.n) / n * std::abs(bin.mean_p - bin.accuracy);
  }
  double f1_sum = 0;
  for (size_t j = 0; j < k; ++j) {
    size_t tp = ev.confusion[j][j], predicted = 0, actual = 0;
    for (size_t o = 0; o < k; ++o) predicted += ev.confusion[o][j], actual += ev.confusion[j][o];
    const double precision = predicted ? double(tp) / double(predicted) : 0;
    const double recall = actual ? double(tp) / double(actual) : 0;
    f1_sum += precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0;
  }
  ev.macro_f1 = f1_sum / double(k);
  for (int t = 50; t <= 95; t += 5) {
    const double threshold = t / 100.0;
    size_t covered = 0, good = 0;
    for (size_t i = 0; i < top_p.size(); ++i)
      if (top_p[i] >= threshold) ++covered, good += right[i] ? size_t{1} : size_t{0};
    ev.curve.push_back({threshold, double(covered) / n, covered ? double(good) / double(covered) : 1.0});
  }
  std::stable_sort(ev.mistakes.begin(), ev.mistakes.end(),
                   [](const Evaluation::Mistake& a, const Evaluation::Mistake& b) { return a.p > b.p; });
  ev.auto_coverage = double(n_filled) / n;
  ev.auto_precision = n_filled ? double(filled_right) / double(n_filled) : 1.0;
  return ev;
}

std::string format_evaluation(const Evaluation& e, const std::vector<Example>& examples, size_t mistakes) {
  std::string out;
  out += fmt::format("{} examples, {} labels, {}-fold cross-validation\n", e.examples, e.labels.size(), e.folds);
  out += fmt::format("top-1 {:.1f} %  top-3 {:.1f} %  macro-F1 {:.3f}  log loss {:.3f}  ECE {:.3f}\n", 100 * e.top1,
                     100 * e.top3, e.macro_f1, e.log_loss, e.ece);
  out += fmt::format(
      "auto-fill at each fold's suggested threshold (mean {:.3f}): covers {:.1f} %, precision {:.1f} %\n\n",
      e.mean_threshold, 100 * e.auto_coverage, 100 * e.auto_precision);
  out += "confusion (rows: true label, columns: predicted, in the order of the rows)\n";
  for (size_t j = 0; j < e.labels.size(); ++j) {
    out += fmt::format("{:>3} ", j + 1);
    for (size_t o = 0; o < e.labels.size(); ++o) out += fmt::format("{:>5}", e.confusion[j][o]);
    out += fmt::format("  {}\n", e.labels[j]);
  }
  out += "\nreliability (top-1 probability bins)\n   bin        n   mean p  accuracy\n";
  for (const auto& b : e.reliability)
    if (b.n) out += fmt::format("{:.1f}-{:.1f} {:>6}   {:.3f}    {:.3f}\n", b.lo, b.hi, b.n, b.mean_p, b.accuracy);
  out += "\nthreshold  coverage  precision\n";
  for (const auto& pt : e.curve)
    out += fmt::format("  {:.2f}     {:5.1f} %   {:5.1f} %\n", pt.threshold, 100 * pt.coverage, 100 * pt.precision);
  if (mistakes > 0 && !e.mistakes.empty()) out += "\nmost confident mistakes (p, true → predicted, text)\n";
  for (size_t i = 0; i < std::min(mistakes, e.mistakes.size()); ++i) {
    const auto& m = e.mistakes[i];
    const std::string& text = m.example < examples.size() ? examples[m.example].text : std::string();
    out += fmt::format("{:.3f}  {} → {}  {}\n", m.p, m.truth, m.predicted, printable(text, 150));
  }
  return out;
}

}  // namespace gridwatch::classify
