// Text normalisation before classification: one form for the many ways people type the same
// complaint.
//
// normalize() applies, in order: Unicode NFKC with case folding (full-width letters and digits
// become ASCII, "ＡＢＣ" and "abc" are one word), OpenCC's traditional → simplified Chinese
// conversion (t2s: 噪聲 → 噪声), and placeholders for what identifies a caller or a place rather
// than the problem: phone numbers (kPhone), house and room numbers (kAddress: the digits before
// 号 栋 幢 单元 室 楼 层 弄 巷 or an English street word) and every other run of digits (kNumber).
// The result is a sequence of code points; placeholders are single private-use code points so
// that they take part in character n-grams like any character.
//
// A Normalizer loads OpenCC's dictionaries once (a few milliseconds); normalize() is const and
// safe to call from several threads at once.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "gridwatch/domain/error.h"

namespace gridwatch::classify {

inline constexpr char32_t kNumber = 0xE000;
inline constexpr char32_t kPhone = 0xE001;
inline constexpr char32_t kAddress = 0xE002;

// True for a Chinese character (CJK unified ideographs, extensions and compatibility forms).
bool is_han(char32_t c);
bool is_placeholder(char32_t c);

class Normalizer {
 public:
  // Fails (kUnavailable) when ICU's normaliser or OpenCC's t2s dictionaries cannot be loaded.
  static Result<std::shared_ptr<const Normalizer>> create();
  ~Normalizer();

  // Invalid UTF-8 sequences are dropped (they carry no meaning to classify).
  std::u32string normalize(std::string_view utf8) const;
  // Only the UTF-8 → code points step: what the "without normalisation" baseline sees.
  static std::u32string decode(std::string_view utf8);
  // `text` as UTF-8 with placeholders written <num>, <tel>, <addr> (for logs and tests).
  static std::string to_utf8(std::u32string_view text);

 private:
  struct Impl;
  explicit Normalizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace gridwatch::classify
