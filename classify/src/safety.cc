#include "gridwatch/classify/safety.h"

namespace gridwatch::classify {
namespace {

bool is_letter(char32_t c) { return (c >= U'a' && c <= U'z'); }

}  // namespace

SafetyRules SafetyRules::defaults() {
  return {
      .words = {"燃气泄漏", "煤气泄漏", "天然气泄漏", "液化气泄漏", "燃气漏气", "煤气漏气", "漏气", "燃气味", "煤气味",
                "着火", "起火", "失火", "火灾", "火情", "冒烟", "爆炸", "被困", "困在电梯", "电梯困人", "困人", "触电",
                "坍塌", "倒塌", "有人落水", "gas leak", "leaking gas", "smell of gas", "smell gas", "smells of gas",
                "gas odor", "gas smell", "on fire", "house fire", "building fire", "smoke coming", "explosion",
                "trapped", "stuck in the elevator", "stuck in elevator", "stuck in the lift", "electrocuted",
                "collapsed", "collapse"},
      .except = {"火灾隐患", "消防隐患", "fire hazard"},
  };
}

SafetyCheck::SafetyCheck(const SafetyRules& rules, std::shared_ptr<const Normalizer> normalizer)
    : normalizer_(std::move(normalizer)) {
  for (const auto& w : rules.words)
    if (auto u = normalizer_->normalize(w); !u.empty()) words_.emplace_back(std::move(u), w);
  for (const auto& w : rules.except)
    if (auto u = normalizer_->normalize(w); !u.empty()) except_.push_back(std::move(u));
}

std::optional<std::string> SafetyCheck::match(std::string_view text) const {
  return match_normalized(normalizer_->normalize(text));
}

std::optional<std::string> SafetyCheck::match_normalized(std::u32string text) const {
  for (const auto& ex : except_)
    for (size_t at = text.find(ex); at != std::u32string::npos; at = text.find(ex, at + ex.size()))
      text.replace(at, ex.size(), ex.size(), U' ');
  for (const auto& [word, spelled] : words_) {
    for (size_t at = text.find(word); at != std::u32string::npos; at = text.find(word, at + 1)) {
      const bool latin_start = is_letter(word.front()), latin_end = is_letter(word.back());
      const bool before_ok = !latin_start || at == 0 || !is_letter(text[at - 1]);
      const size_t end = at + word.size();
      const bool after_ok = !latin_end || end == text.size() || !is_letter(text[end]);
      if (before_ok && after_ok) return spelled;
    }
  }
  return std::nullopt;
}

}  // namespace gridwatch::classify
