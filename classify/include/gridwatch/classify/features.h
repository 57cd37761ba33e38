// Features of a normalised complaint text for the linear model.
//
// Chinese is not split into words: every run of Chinese characters (placeholders included) gives
// its character 1-, 2- and 3-grams, which cover most words without a segmenter. Latin text is
// split into words (letters and digits) giving word 1- and 2-grams. Each n-gram is hashed
// (64-bit FNV-1a with its kind mixed in) into 2^hash_bits buckets; collisions are rare at the
// vocabularies of hotline exports and cost little accuracy.
//
// A keyword dictionary adds two features per label: how many of the label's words (a catalog
// category's names and taxonomy words, or a taxonomy file's terms) occur in the text, and how
// many of their two-character pieces that belong to no other label's words do (taxonomy terms
// such as 城镇职工社会保险 are rarely written out whole; 社保, 保险 and 职工 are). A word that
// several labels share (其他) says nothing and is dropped.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace gridwatch::classify {

// (index, value) pairs, sorted by index, each index once.
using SparseVector = std::vector<std::pair<uint32_t, float>>;

// Counts of the hashed n-grams of `text`.
SparseVector ngram_counts(std::u32string_view text, int hash_bits);

// Words per label, matched as substrings of the normalised text.
class KeywordMatcher {
 public:
  KeywordMatcher() = default;
  // words[label] = that label's words (already normalised; empty words are ignored).
  explicit KeywordMatcher(std::vector<std::vector<std::u32string>> words);

  static constexpr size_t kColumnsPerLabel = 2;
  // (column, count): column = label for whole words, labels + label for pieces; zero counts are
  // left out.
  std::vector<std::pair<uint32_t, float>> counts(std::u32string_view text) const;
  const std::vector<std::vector<std::u32string>>& words() const { return words_; }
  bool empty() const { return by_first_.empty(); }

 private:
  std::vector<std::vector<std::u32string>> words_;
  struct Entry {
    std::u32string text;
    uint32_t column;
  };
  std::vector<Entry> entries_;
  // first code point → entry
  std::unordered_multimap<char32_t, uint32_t> by_first_;
};

}  // namespace gridwatch::classify
