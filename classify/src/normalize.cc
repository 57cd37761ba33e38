#include "gridwatch/classify/normalize.h"

#include <opencc/opencc.h>
#include <unicode/normalizer2.h>
#include <unicode/unistr.h>

#include <algorithm>
#include <array>
#include <filesystem>

#include <fmt/format.h>

namespace gridwatch::classify {
namespace {

// Characters after a number that make it part of an address: 12号, 3栋, 2单元, 501室, 6楼, 8层.
constexpr std::array<char32_t, 9> kAddressSuffix = {U'号', U'栋', U'幢', U'单', U'室', U'楼', U'层', U'弄', U'巷'};
// English street words after "<number> ": "1234 broadway" is left a number, "12 main st" is an
// address (the word is checked after the next word too: "12 west 4th street").
constexpr std::array<std::u32string_view, 12> kStreetWords = {
    U"st", U"street", U"ave", U"avenue", U"rd", U"road", U"blvd", U"boulevard", U"pl", U"place", U"dr", U"lane"};

bool is_digit(char32_t c) { return c >= U'0' && c <= U'9'; }
bool is_latin(char32_t c) { return (c >= U'a' && c <= U'z') || is_digit(c); }

std::u32string_view word_at(std::u32string_view s, size_t i) {
  size_t j = i;
  while (j < s.size() && is_latin(s[j])) ++j;
  return s.substr(i, j - i);
}

bool street_follows(std::u32string_view s, size_t i) {
  for (int w = 0; w < 3 && i < s.size(); ++w) {
    if (s[i] != U' ') return false;
    ++i;
    const auto word = word_at(s, i);
    if (word.empty()) return false;
    for (auto street : kStreetWords)
      if (word == street) return true;
    i += word.size();
  }
  return false;
}

// Replaces digit runs (with the '-' and ' ' inside phone numbers) by placeholders.
std::u32string mask_numbers(std::u32string_view s) {
  std::u32string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    if (!is_digit(s[i])) {
      out.push_back(s[i++]);
      continue;
    }
    size_t j = i;
    size_t digits = 0;
    bool dash = false;
    while (j < s.size()) {
      if (is_digit(s[j])) {
        ++digits;
        ++j;
      } else if ((s[j] == U'-' || s[j] == U' ') && j + 1 < s.size() && is_digit(s[j + 1]) && digits >= 3 &&
                 digits < 11) {  // groups of one phone number, never past its length
        dash = dash || s[j] == U'-';
        ++j;
      } else {
        break;
      }
    }
    const bool mobile = digits == 11 && s[i] == U'1';
    const bool landline = (digits >= 10 && digits <= 12 && s[i] == U'0') || (dash && digits >= 10);
    char32_t mark = kNumber;
    if (mobile || landline) {
      mark = kPhone;
    } else {
      // "12 34" grouped above only counts as one phone number: give back an unused tail
      j = i;
      while (j < s.size() && is_digit(s[j])) ++j;
      const bool han_suffix = j < s.size() && std::find(kAddressSuffix.begin(), kAddressSuffix.end(), s[j]) != kAddressSuffix.end();
      if (han_suffix || street_follows(s, j)) mark = kAddress;
    }
    out.push_back(mark);
    i = j;
  }
  return out;
}

}  // namespace

bool is_han(char32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0xF900 && c <= 0xFAFF) ||
         (c >= 0x20000 && c <= 0x3134F);
}

bool is_placeholder(char32_t c) { return c >= kNumber && c <= kAddress; }

struct Normalizer::Impl {
  const icu::Normalizer2* nfkc = nullptr;
  std::unique_ptr<opencc::SimpleConverter> t2s;
};

Normalizer::Normalizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Normalizer::~Normalizer() = default;

Result<std::shared_ptr<const Normalizer>> Normalizer::create() {
  auto impl = std::make_unique<Impl>();
  UErrorCode status = U_ZERO_ERROR;
  impl->nfkc = icu::Normalizer2::getNFKCCasefoldInstance(status);
  if (U_FAILURE(status) || impl->nfkc == nullptr)
    return fail(ErrorCode::kUnavailable, fmt::format("ICU's NFKC_Casefold normaliser: {}", u_errorName(status)));
  // Debian's libopencc1.1 keeps its configurations in /usr/share/opencc.
  const std::filesystem::path config = std::filesystem::exists("/usr/share/opencc/t2s.json")
                                           ? std::filesystem::path("/usr/share/opencc/t2s.json")
                                           : std::filesystem::path("t2s.json");
  try {
    impl->t2s = std::make_unique<opencc::SimpleConverter>(config.string());
  } catch (const std::exception& e) {
    return fail(ErrorCode::kUnavailable,
                fmt::format("OpenCC's traditional → simplified dictionaries ({}): {}", config.string(), e.what()));
  }
  return std::shared_ptr<const Normalizer>(new Normalizer(std::move(impl)));
}

std::u32string Normalizer::decode(std::string_view utf8) {
  std::u32string out;
  out.reserve(utf8.size());
  size_t i = 0;
  while (i < utf8.size()) {
    const auto b = static_cast<unsigned char>(utf8[i]);
    int len = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 0;
    if (len == 0 || i + static_cast<size_t>(len) > utf8.size()) {
      ++i;
      continue;
    }
    char32_t c = len == 1 ? b : len == 2 ? (b & 0x1Fu) : len == 3 ? (b & 0x0Fu) : (b & 0x07u);
    bool ok = true;
    for (int k = 1; k < len; ++k) {
      const auto cb = static_cast<unsigned char>(utf8[i + static_cast<size_t>(k)]);
      if ((cb & 0xC0u) != 0x80u) {
        ok = false;
        break;
      }
      c = (c << 6) | (cb & 0x3Fu);
    }
    if (ok && c != 0xFFFD) out.push_back(c);  // ICU's replacement for bytes that were not UTF-8
    i += ok ? static_cast<size_t>(len) : 1;
  }
  return out;
}

std::string Normalizer::to_utf8(std::u32string_view text) {
  std::string out;
  for (char32_t c : text) {
    if (c == kNumber) out += "<num>";
    else if (c == kPhone) out += "<tel>";
    else if (c == kAddress) out += "<addr>";
    else if (c < 0x80) out.push_back(static_cast<char>(c));
    else if (c < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (c >> 6)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else if (c < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (c >> 12)));
      out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (c >> 18)));
      out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    }
  }
  return out;
}

std::u32string Normalizer::normalize(std::string_view utf8) const {
  UErrorCode status = U_ZERO_ERROR;
  const icu::UnicodeString folded =
      impl_->nfkc->normalize(icu::UnicodeString::fromUTF8(icu::StringPiece(utf8.data(), static_cast<int32_t>(utf8.size()))), status);
  if (U_FAILURE(status)) return mask_numbers(decode(utf8));  // OpenCC wants what ICU could read
  std::string nfkc;
  folded.toUTF8String(nfkc);
  std::replace(nfkc.begin(), nfkc.end(), '\0', ' ');  // OpenCC's output would end at a NUL
  std::string simplified;
  try {
    simplified = impl_->t2s->Convert(nfkc);
  } catch (const std::exception&) {
    simplified = std::move(nfkc);  // OpenCC refuses malformed UTF-8: classify the text unconverted
  }
  return mask_numbers(decode(simplified));
}

}  // namespace gridwatch::classify
