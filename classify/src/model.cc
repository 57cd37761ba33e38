#include "gridwatch/classify/model.h"

#include <linear.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <random>
#include <set>

#include <fmt/format.h>

namespace gridwatch::classify {
namespace {

void quiet(const char*) {}

// A label that a training subset lacks never wins.
constexpr float kAbsentBias = -20.0f;

}  // namespace

std::vector<size_t> stratified_folds(const std::vector<size_t>& label_of, size_t folds, uint64_t seed) {
  std::vector<size_t> fold(label_of.size(), 0);
  if (folds == 0) return fold;
  std::map<size_t, std::vector<size_t>> by_label;
  for (size_t i = 0; i < label_of.size(); ++i) by_label[label_of[i]].push_back(i);
  std::mt19937_64 rng(seed);
  size_t next = 0;  // continue the round-robin across labels so small labels do not pile on fold 0
  for (auto& [label, members] : by_label) {
    std::shuffle(members.begin(), members.end(), rng);
    for (size_t i : members) fold[i] = next++ % folds;
  }
  return fold;
}

std::u32string Model::prepare(std::string_view text) const {
  return options_.normalize ? normalizer_->normalize(text) : Normalizer::decode(text);
}

SparseVector Model::encode(std::u32string_view u) const {
  SparseVector x;
  double norm = 0;
  for (const auto& [hash, count] : ngram_counts(u, options_.hash_bits)) {
    auto it = columns_.find(hash);
    if (it == columns_.end()) continue;
    const float v = options_.tfidf ? (1.0f + std::log(count)) * idf_[it->second] : count;
    x.emplace_back(it->second, v);
    norm += double(v) * double(v);
  }
  if (options_.tfidf && norm > 0) {
    const auto scale = static_cast<float>(1.0 / std::sqrt(norm));
    for (auto& [col, v] : x) v *= scale;
  }
  std::sort(x.begin(), x.end());
  if (options_.keywords) {
    const auto base = static_cast<uint32_t>(columns_.size());
    for (const auto& [label, count] : keywords_.counts(u))
      x.emplace_back(base + label, static_cast<float>(options_.keyword_weight * std::log1p(double(count))));
  }
  return x;
}

std::vector<double> Model::decision(std::string_view text) const { return decision_prepared(prepare(text)); }

std::vector<double> Model::decision_prepared(std::u32string_view prepared) const {
  const size_t k = labels_.size();
  const size_t bias_row = columns_.size() + KeywordMatcher::kColumnsPerLabel * k;
  std::vector<double> d(k);
  for (size_t j = 0; j < k; ++j) d[j] = double(weights_[bias_row * k + j]);
  for (const auto& [col, v] : encode(prepared))
    for (size_t j = 0; j < k; ++j) d[j] += double(v) * double(weights_[size_t(col) * k + j]);
  return d;
}

std::vector<double> Model::softmax(const std::vector<double>& decision, double temperature) {
  std::vector<double> p(decision.size());
  if (decision.empty()) return p;
  const double top = *std::max_element(decision.begin(), decision.end());
  double sum = 0;
  for (size_t j = 0; j < p.size(); ++j) sum += p[j] = std::exp((decision[j] - top) / temperature);
  for (double& v : p) v /= sum;
  return p;
}

Prediction Model::predict(std::string_view text) const { return predict_prepared(prepare(text)); }

Prediction Model::predict_prepared(std::u32string_view prepared) const {
  const std::vector<double> p = softmax(decision_prepared(prepared), temperature_);
  Prediction out;
  out.ranked.reserve(p.size());
  for (size_t j = 0; j < p.size(); ++j) out.ranked.push_back({labels_[j], p[j]});
  std::stable_sort(out.ranked.begin(), out.ranked.end(), [](const Scored& a, const Scored& b) { return a.p > b.p; });
  return out;
}

double Model::fit_temperature(const std::vector<std::vector<double>>& decisions, const std::vector<size_t>& truth) {
  auto loss = [&](double log_t) {
    const double t = std::exp(log_t);
    double sum = 0;
    for (size_t i = 0; i < decisions.size(); ++i) {
      const auto& d = decisions[i];
      const double top = *std::max_element(d.begin(), d.end());
      double z = 0;
      for (double v : d) z += std::exp((v - top) / t);
      sum -= (d[truth[i]] - top) / t - std::log(z);
    }
    return sum;
  };
  if (decisions.empty()) return 1;
  // The log loss is unimodal in log T: a golden-section search over T in [0.01, 100].
  const double phi = (std::sqrt(5.0) - 1) / 2;
  double lo = std::log(0.01), hi = std::log(100.0);
  double a = hi - phi * (hi - lo), b = lo + phi * (hi - lo);
  double fa = loss(a), fb = loss(b);
  for (int i = 0; i < 80; ++i) {
    if (fa < fb) {
      hi = b, b = a, fb = fa;
      a = hi - phi * (hi - lo), fa = loss(a);
    } else {
      lo = a, a = b, fa = fb;
      b = lo + phi * (hi - lo), fb = loss(b);
    }
  }
  return std::exp((lo + hi) / 2);
}

double Model::pick_threshold(const std::vector<double>& top_p, const std::vector<bool>& right, double target) {
  std::vector<size_t> order(top_p.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return top_p[a] > top_p[b]; });
  double best = 1.01;
  size_t correct = 0;
  double expected = 0;
  for (size_t n = 0; n < order.size(); ++n) {
    correct += right[order[n]] ? size_t{1} : size_t{0};
    expected += top_p[order[n]];
    // only cut between distinct probabilities: everything at a threshold is filled or none is
    if (n + 1 < order.size() && top_p[order[n + 1]] == top_p[order[n]]) continue;
    // Both estimates of the precision above the cut must reach the target: the share seen right
    // (noisy: a few lucky examples can lift it at one cut) and the mean calibrated p (smooth).
    const double filled = double(n + 1);
    if (double(correct) >= target * filled && expected >= target * filled) best = top_p[order[n]];
  }
  return best;
}

Result<Model> Model::fit(const std::vector<const Example*>& examples, const std::vector<std::string>& labels,
                         const std::map<std::string, std::vector<std::string>>& keywords, const TrainOptions& options,
                         std::shared_ptr<const Normalizer> normalizer) {
  Model m;
  m.normalizer_ = std::move(normalizer);
  m.options_ = options;
  m.labels_ = labels;
  const size_t k = labels.size();
  std::map<std::string_view, size_t> index;
  for (size_t j = 0; j < k; ++j) index[labels[j]] = j;

  if (options.keywords) {
    std::vector<std::vector<std::u32string>> words(k);
    for (const auto& [label, list] : keywords) {
      auto it = index.find(label);
      if (it == index.end()) continue;
      for (const auto& w : list)
        if (auto u = m.prepare(w); !u.empty()) words[it->second].push_back(std::move(u));
    }
    m.keywords_ = KeywordMatcher(std::move(words));
  }

  // Vocabulary and document frequencies of the training texts (each normalised once).
  std::vector<std::u32string> prepared;
  prepared.reserve(examples.size());
  std::unordered_map<uint32_t, uint32_t> df;
  for (const Example* e : examples) {
    prepared.push_back(m.prepare(e->text));
    for (const auto& [hash, c] : ngram_counts(prepared.back(), options.hash_bits)) ++df[hash];
  }
  std::vector<uint32_t> hashes;
  hashes.reserve(df.size());
  for (const auto& [hash, n] : df) hashes.push_back(hash);
  std::sort(hashes.begin(), hashes.end());
  m.idf_.resize(hashes.size());
  const double n_docs = double(examples.size());
  for (uint32_t col = 0; col < hashes.size(); ++col) {
    m.columns_[hashes[col]] = col;
    m.idf_[col] = static_cast<float>(std::log((1 + n_docs) / (1 + df[hashes[col]])) + 1);
  }

  // liblinear's problem: 1-based feature indexes, the bias as the last feature.
  const size_t n_cols = hashes.size() + KeywordMatcher::kColumnsPerLabel * k;
  std::vector<std::vector<feature_node>> rows;
  rows.reserve(examples.size());
  std::vector<double> y;
  for (size_t i = 0; i < examples.size(); ++i) {
    const Example* e = examples[i];
    std::vector<feature_node> row;
    for (const auto& [col, v] : m.encode(prepared[i])) row.push_back({int(col) + 1, double(v)});
    row.push_back({int(n_cols) + 1, 1.0});
    row.push_back({-1, 0});
    rows.push_back(std::move(row));
    y.push_back(double(index[e->label]));
  }
  std::vector<feature_node*> x;
  for (auto& r : rows) x.push_back(r.data());
  problem prob{};
  prob.l = int(examples.size());
  prob.n = int(n_cols) + 1;
  prob.y = y.data();
  prob.x = x.data();
  prob.bias = 1;
  parameter param{};
  param.solver_type = L2R_LR;
  param.eps = 0.001;
  param.C = options.c;
  set_print_string_function(&quiet);
  if (const char* err = check_parameter(&prob, &param))
    return fail(ErrorCode::kInvalidArgument, fmt::format("liblinear: {}", err));
  model* trained = ::train(&prob, &param);
  if (trained == nullptr) return fail(ErrorCode::kInternal, "liblinear's train() returned no model");

  m.weights_.assign((n_cols + 1) * k, 0.0f);
  for (size_t j = 0; j < k; ++j) m.weights_[n_cols * k + j] = kAbsentBias;
  const int nr_class = get_nr_class(trained);
  std::vector<int> ll_labels(size_t(std::max(nr_class, 0)));
  get_labels(trained, ll_labels.data());
  for (int c = 0; c < nr_class; ++c) {
    const auto j = size_t(ll_labels[size_t(c)]);
    for (size_t col = 0; col < n_cols; ++col)
      m.weights_[col * k + j] = static_cast<float>(get_decfun_coef(trained, int(col) + 1, c));
    m.weights_[n_cols * k + j] = static_cast<float>(get_decfun_bias(trained, c));
  }
  if (nr_class == 1) {  // one label seen: it always wins
    const auto j = size_t(ll_labels[0]);
    m.weights_[n_cols * k + j] = 0;
  }
  free_and_destroy_model(&trained);
  return m;
}

Result<Model> Model::train(const std::vector<Example>& examples,
                           const std::map<std::string, std::vector<std::string>>& keywords,
                           const TrainOptions& options, std::shared_ptr<const Normalizer> normalizer) {
  if (!normalizer && options.normalize) return fail(ErrorCode::kInvalidArgument, "no normaliser");
  if (options.hash_bits < 10 || options.hash_bits > 28)
    return fail(ErrorCode::kInvalidArgument, "hash_bits must be 10-28", "hash_bits");
  if (!(options.c > 0)) return fail(ErrorCode::kInvalidArgument, "C must be above 0", "c");
  std::set<std::string> distinct;
  for (const auto& e : examples) distinct.insert(e.label);
  if (distinct.size() < 2)
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("training needs at least two labels, got {}", distinct.size()), "category");
  const std::vector<std::string> labels(distinct.begin(), distinct.end());
  std::map<std::string_view, size_t> index;
  for (size_t j = 0; j < labels.size(); ++j) index[labels[j]] = j;
  std::vector<size_t> truth;
  for (const auto& e : examples) truth.push_back(index[e.label]);

  double temperature = 1, threshold = 1.01;
  const auto folds = size_t(std::max(options.calibration_folds, 0));
  if (folds >= 2 && examples.size() >= 2 * folds) {
    const std::vector<size_t> fold = stratified_folds(truth, folds, options.seed);
    std::vector<std::vector<double>> held_out(examples.size());
    for (size_t f = 0; f < folds; ++f) {
      std::vector<const Example*> part;
      for (size_t i = 0; i < examples.size(); ++i)
        if (fold[i] != f) part.push_back(&examples[i]);
      auto inner = fit(part, labels, keywords, options, normalizer);
      if (!inner) return std::unexpected(inner.error());
      for (size_t i = 0; i < examples.size(); ++i)
        if (fold[i] == f) held_out[i] = inner->decision(examples[i].text);
    }
    temperature = fit_temperature(held_out, truth);
    std::vector<double> top_p;
    std::vector<bool> right;
    for (size_t i = 0; i < examples.size(); ++i) {
      const auto p = softmax(held_out[i], temperature);
      const auto best = size_t(std::max_element(p.begin(), p.end()) - p.begin());
      top_p.push_back(p[best]);
      right.push_back(best == truth[i]);
    }
    threshold = pick_threshold(top_p, right, options.target_precision);
  }
  std::vector<const Example*> all;
  for (const auto& e : examples) all.push_back(&e);
  auto m = fit(all, labels, keywords, options, std::move(normalizer));
  if (!m) return m;
  m->temperature_ = temperature;
  m->threshold_ = threshold;
  uint64_t h = 14695981039346656037ull;
  for (float w : m->weights_) {
    uint32_t bits = 0;
    std::memcpy(&bits, &w, sizeof bits);
    h = (h ^ bits) * 1099511628211ull;
  }
  m->id_ = fmt::format("{}-{:08x}", options.name, uint32_t(h ^ (h >> 32)));
  return m;
}

}  // namespace gridwatch::classify
