#include "gridwatch/classify/features.h"

#include <algorithm>
#include <map>
#include <set>

#include "gridwatch/classify/normalize.h"

namespace gridwatch::classify {
namespace {

constexpr uint64_t kFnvOffset = 14695981039346656037ull;
constexpr uint64_t kFnvPrime = 1099511628211ull;

enum Kind : uint64_t { kChar1 = 1, kChar2, kChar3, kWord1, kWord2 };

uint64_t mix(uint64_t h, uint64_t v) {
  for (int i = 0; i < 4; ++i) {
    h ^= (v >> (8 * i)) & 0xFFu;
    h *= kFnvPrime;
  }
  return h;
}

bool is_word_char(char32_t c) {
  return (c >= U'a' && c <= U'z') || (c >= U'0' && c <= U'9') || (c >= 0xC0 && c < 0x2000 && c != 0xD7 && c != 0xF7);
}

class Counter {
 public:
  explicit Counter(int bits) : mask_((uint64_t{1} << bits) - 1) {}
  void add(uint64_t hash) { ids_.push_back(static_cast<uint32_t>(hash & mask_)); }
  SparseVector finish() {
    std::sort(ids_.begin(), ids_.end());
    SparseVector out;
    for (uint32_t id : ids_) {
      if (!out.empty() && out.back().first == id) out.back().second += 1.0f;
      else out.emplace_back(id, 1.0f);
    }
    return out;
  }

 private:
  uint64_t mask_;
  std::vector<uint32_t> ids_;
};

}  // namespace

SparseVector ngram_counts(std::u32string_view text, int hash_bits) {
  Counter counter(hash_bits);
  // Chinese runs: character n-grams.
  size_t run_start = 0;
  auto flush_run = [&](size_t end) {
    for (size_t i = run_start; i < end; ++i) {
      uint64_t h = mix(kFnvOffset, kChar1);
      for (size_t n = 0; n < 3 && i + n < end; ++n) {
        h = mix(h, text[i + n]);
        if (n == 0) counter.add(h);
        else counter.add(mix(h, n == 1 ? kChar2 : kChar3));
      }
    }
  };
  // Latin words: unigrams and bigrams within a phrase (punctuation and Chinese end a phrase).
  uint64_t prev_word = 0;
  bool have_prev = false;
  size_t word_start = 0;
  bool in_word = false;
  auto flush_word = [&](size_t end) {
    uint64_t h = mix(kFnvOffset, kWord1);
    for (size_t i = word_start; i < end; ++i) h = mix(h, text[i]);
    counter.add(h);
    if (have_prev) counter.add(mix(mix(mix(kFnvOffset, kWord2), prev_word), h));
    prev_word = h;
    have_prev = true;
    in_word = false;
  };
  bool in_run = false;
  for (size_t i = 0; i <= text.size(); ++i) {
    const char32_t c = i < text.size() ? text[i] : U'\0';
    const bool han = i < text.size() && (is_han(c) || is_placeholder(c));
    if (han && !in_run) {
      run_start = i;
      in_run = true;
    } else if (!han && in_run) {
      flush_run(i);
      in_run = false;
    }
    const bool word = i < text.size() && is_word_char(c);
    if (word && !in_word) {
      word_start = i;
      in_word = true;
    } else if (!word && in_word) {
      flush_word(i);
    }
    if (!word && c != U' ') have_prev = false;  // a phrase ends at anything but a space
  }
  return counter.finish();
}

KeywordMatcher::KeywordMatcher(std::vector<std::vector<std::u32string>> words) : words_(std::move(words)) {
  const auto labels = static_cast<uint32_t>(words_.size());
  std::map<std::u32string, std::set<uint32_t>> owners, piece_owners;
  for (uint32_t label = 0; label < labels; ++label)
    for (const auto& w : words_[label]) {
      if (w.empty()) continue;
      owners[w].insert(label);
      for (size_t i = 0; i + 1 < w.size(); ++i)
        if (is_han(w[i]) && is_han(w[i + 1])) piece_owners[w.substr(i, 2)].insert(label);
    }
  for (const auto& [w, who] : owners)
    if (who.size() == 1) entries_.push_back({w, *who.begin()});
  for (const auto& [piece, who] : piece_owners)
    if (who.size() == 1 && !owners.contains(piece)) entries_.push_back({piece, labels + *who.begin()});
  for (uint32_t e = 0; e < entries_.size(); ++e) by_first_.emplace(entries_[e].text[0], e);
}

std::vector<std::pair<uint32_t, float>> KeywordMatcher::counts(std::u32string_view text) const {
  std::vector<float> per_column(kColumnsPerLabel * words_.size(), 0.0f);
  for (size_t i = 0; i < text.size(); ++i) {
    auto [lo, hi] = by_first_.equal_range(text[i]);
    for (auto it = lo; it != hi; ++it) {
      const Entry& e = entries_[it->second];
      if (text.substr(i, e.text.size()) == e.text) per_column[e.column] += 1.0f;
    }
  }
  std::vector<std::pair<uint32_t, float>> out;
  for (uint32_t col = 0; col < per_column.size(); ++col)
    if (per_column[col] > 0) out.emplace_back(col, per_column[col]);
  return out;
}

}  // namespace gridwatch::classify
