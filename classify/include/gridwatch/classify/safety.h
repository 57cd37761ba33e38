// Safety words: the hard rule before the model. A complaint that mentions a gas leak, a fire or
// someone trapped is urgent and goes to a person whatever the model says; the model's category is
// never filled in for it.
//
// Words are matched in the normalised text (so 燃氣洩漏 matches 燃气泄漏); an English word must
// stand on its own (no letter right before or after it). Exceptions are removed first: 火灾隐患
// (a fire *hazard*, a blocked lane) is not a fire.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gridwatch/classify/normalize.h"

namespace gridwatch::classify {

struct SafetyRules {
  std::vector<std::string> words;
  std::vector<std::string> except;
  // The built-in lists (documented in docs/classify.md).
  static SafetyRules defaults();
};

class SafetyCheck {
 public:
  SafetyCheck(const SafetyRules& rules, std::shared_ptr<const Normalizer> normalizer);
  // The first safety word `text` mentions, as the rules spell it; nullopt when none.
  std::optional<std::string> match(std::string_view text) const;
  std::optional<std::string> match_normalized(std::u32string text) const;

 private:
  std::shared_ptr<const Normalizer> normalizer_;
  std::vector<std::pair<std::u32string, std::string>> words_;  // normalised, as spelled
  std::vector<std::u32string> except_;
};

}  // namespace gridwatch::classify
