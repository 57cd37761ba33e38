// Dispatch suggestion cost: milliseconds per ticket of the full classifier (NFKC + OpenCC +
// placeholders, TF-IDF n-grams, taxonomy keywords, calibrated probabilities) on one core, against
// the liblinear baseline without normalisation or keywords (raw code points, raw n-gram counts),
// both trained on the same texts and timed in the same run over the same tickets.
//
// Data: the 394 labelled provincial hotline messages with their taxonomy as keywords (the
// real-data folder, text/); each ticket's text is classified `ROUNDS` times in all.
//
//   build/bench/classify_bench [ROUNDS]
#include <chrono>
#include <fstream>

#include <fmt/format.h>

#include "bench_data.h"
#include "gridwatch/classify/dataset.h"
#include "gridwatch/classify/model.h"
#include "gridwatch/classify/safety.h"

using namespace gridwatch;
using namespace gridwatch::classify;

namespace {

double ms_per_ticket(const Model& m, const SafetyCheck* safety, const std::vector<Example>& data, int rounds,
                     size_t& checksum) {
  const auto t0 = std::chrono::steady_clock::now();
  for (int r = 0; r < rounds; ++r)
    for (const auto& e : data) {
      // as the center does: normalised once for the model and the safety words
      const std::u32string prepared = m.prepare(e.text);
      checksum += m.predict_prepared(prepared).ranked.front().label.size();
      if (safety && safety->match_normalized(prepared)) ++checksum;
    }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return 1000.0 * s / double(rounds) / double(data.size());
}

}  // namespace

int main(int argc, char** argv) {
  const int rounds = argc > 1 ? std::max(1, std::atoi(argv[1])) : 5;
  const auto csv_path = bench::need_data("text/hotline-messages-labelled.csv");
  const auto taxonomy = bench::need_data("text/hotline-taxonomy-3level.csv");
  auto mapping = load_dataset_mapping(std::filesystem::path(GRIDWATCH_SOURCE_DIR) / "config/tickets/hotline-messages.yaml");
  std::ifstream csv(csv_path);
  auto data = mapping ? load_dataset(csv, *mapping, {}) : std::unexpected(mapping.error());
  auto keywords = load_keywords_csv(taxonomy);
  auto normalizer = Normalizer::create();
  if (!data || !keywords || !normalizer) {
    fmt::print(stderr, "cannot load the data or the normaliser\n");
    return 1;
  }
  TrainOptions full;
  TrainOptions base;
  base.normalize = false;
  base.keywords = false;
  base.tfidf = false;
  base.c = 1;
  auto m_full = Model::train(data->examples, *keywords, full, *normalizer);
  auto m_base = Model::train(data->examples, {}, base, *normalizer);
  if (!m_full || !m_base) {
    fmt::print(stderr, "training failed\n");
    return 1;
  }
  const SafetyCheck safety(SafetyRules::defaults(), *normalizer);
  size_t checksum = 0;
  ms_per_ticket(*m_full, &safety, data->examples, 1, checksum);  // warm caches
  ms_per_ticket(*m_base, nullptr, data->examples, 1, checksum);
  const double base_ms = ms_per_ticket(*m_base, nullptr, data->examples, rounds, checksum);
  const double full_ms = ms_per_ticket(*m_full, nullptr, data->examples, rounds, checksum);
  const double with_safety_ms = ms_per_ticket(*m_full, &safety, data->examples, rounds, checksum);
  double chars = 0;
  for (const auto& e : data->examples) chars += double(e.text.size());
  fmt::print("{} tickets (mean {:.0f} bytes of UTF-8), {} rounds, one thread\n", data->examples.size(),
             chars / double(data->examples.size()), rounds);
  fmt::print("baseline (raw text, counts, no keywords): {:.3f} ms/ticket ({} features)\n", base_ms, m_base->features());
  fmt::print("full classifier:                          {:.3f} ms/ticket ({} features), {:.2f}x the baseline\n",
             full_ms, m_full->features(), full_ms / base_ms);
  fmt::print("full classifier + safety words:           {:.3f} ms/ticket, {:.2f}x the baseline\n", with_safety_ms,
             with_safety_ms / base_ms);
  fmt::print("RESULT base_ms={:.3f} full_ms={:.3f} full_safety_ms={:.3f} ratio={:.2f} checksum={}\n", base_ms, full_ms,
             with_safety_ms, with_safety_ms / base_ms, checksum);
  return 0;
}
