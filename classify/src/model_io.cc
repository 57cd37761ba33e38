// The model file: "GWCLS" and a format version, then the options, labels, keywords, vocabulary
// (hashed n-gram per column), IDF and weights, little-endian as the machine writes them (the
// file is for the machines of one deployment, x86-64 and arm64 alike).
#include <bit>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "gridwatch/classify/model.h"

namespace gridwatch::classify {
namespace {

static_assert(std::endian::native == std::endian::little, "the model file is little-endian");

constexpr char kMagic[] = "GWCLS";
constexpr uint32_t kVersion = 1;
constexpr uint32_t kMaxCount = 1u << 28;  // elements of one array
constexpr uint32_t kMaxLabels = 10000;

class Writer {
 public:
  explicit Writer(std::ostream& out) : out_(out) {}
  template <class T>
  void pod(const T& v) { out_.write(reinterpret_cast<const char*>(&v), sizeof v); }
  void str(std::string_view s) {
    pod(uint32_t(s.size()));
    out_.write(s.data(), std::streamsize(s.size()));
  }
  void u32str(std::u32string_view s) {
    pod(uint32_t(s.size()));
    out_.write(reinterpret_cast<const char*>(s.data()), std::streamsize(s.size() * sizeof(char32_t)));
  }
  template <class T>
  void array(const std::vector<T>& v) {
    pod(uint32_t(v.size()));
    out_.write(reinterpret_cast<const char*>(v.data()), std::streamsize(v.size() * sizeof(T)));
  }

 private:
  std::ostream& out_;
};

class Reader {
 public:
  explicit Reader(std::istream& in) : in_(in) {}
  template <class T>
  T pod() {
    T v{};
    in_.read(reinterpret_cast<char*>(&v), sizeof v);
    if (!in_) ok_ = false;
    return v;
  }
  uint32_t count() {
    const auto n = pod<uint32_t>();
    if (n > kMaxCount) ok_ = false;
    return ok_ ? n : 0;
  }
  std::string str() {
    std::string s(count(), '\0');
    in_.read(s.data(), std::streamsize(s.size()));
    if (!in_) ok_ = false;
    return s;
  }
  std::u32string u32str() {
    std::u32string s(count(), U'\0');
    in_.read(reinterpret_cast<char*>(s.data()), std::streamsize(s.size() * sizeof(char32_t)));
    if (!in_) ok_ = false;
    return s;
  }
  template <class T>
  std::vector<T> array() {
    std::vector<T> v(count());
    in_.read(reinterpret_cast<char*>(v.data()), std::streamsize(v.size() * sizeof(T)));
    if (!in_) ok_ = false;
    return v;
  }
  bool ok() const { return ok_; }

 private:
  std::istream& in_;
  bool ok_ = true;
};

}  // namespace

Status Model::save(const std::filesystem::path& path) const {
  if (labels_.size() > kMaxLabels || weights_.size() > kMaxCount)
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("a model of {} labels and {} weights is larger than a model file holds ({} labels, {} weights)",
                            labels_.size(), weights_.size(), kMaxLabels, kMaxCount));
  std::ostringstream buf;
  Writer w(buf);
  buf.write(kMagic, 5);
  w.pod(kVersion);
  w.str(id_);
  w.str(options_.name);
  w.pod(uint8_t(options_.normalize));
  w.pod(uint8_t(options_.keywords));
  w.pod(uint8_t(options_.tfidf));
  w.pod(int32_t(options_.hash_bits));
  w.pod(options_.c);
  w.pod(options_.keyword_weight);
  w.pod(options_.target_precision);
  w.pod(temperature_);
  w.pod(threshold_);
  w.pod(uint32_t(labels_.size()));
  for (const auto& l : labels_) w.str(l);
  for (size_t j = 0; j < labels_.size(); ++j) {
    const auto& words = j < keywords_.words().size() ? keywords_.words()[j] : std::vector<std::u32string>{};
    w.pod(uint32_t(words.size()));
    for (const auto& word : words) w.u32str(word);
  }
  std::vector<uint32_t> hashes(columns_.size());
  for (const auto& [hash, col] : columns_) hashes[col] = hash;
  w.array(hashes);
  w.array(idf_);
  w.array(weights_);
  // Written beside and renamed: a reader never sees half a model.
  const std::filesystem::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    const std::string bytes = buf.str();
    out.write(bytes.data(), std::streamsize(bytes.size()));
    out.close();
    if (!out) return fail(ErrorCode::kIo, fmt::format("cannot write {}", tmp.string()));
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return fail(ErrorCode::kIo, fmt::format("cannot rename {} to {}: {}", tmp.string(), path.string(), ec.message()));
  return {};
}

Result<Model> Model::load(const std::filesystem::path& path, std::shared_ptr<const Normalizer> normalizer) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(ErrorCode::kIo, fmt::format("cannot open the model {}", path.string()));
  char magic[5] = {};
  in.read(magic, 5);
  if (!in || std::memcmp(magic, kMagic, 5) != 0)
    return fail(ErrorCode::kParse, fmt::format("{} is not a gridwatch classifier model", path.string()));
  Reader r(in);
  const auto version = r.pod<uint32_t>();
  if (version != kVersion)
    return fail(ErrorCode::kParse, fmt::format("{}: model format {} (this gridwatch reads {})", path.string(), version, kVersion));
  Model m;
  m.normalizer_ = std::move(normalizer);
  m.id_ = r.str();
  m.options_.name = r.str();
  m.options_.normalize = r.pod<uint8_t>() != 0;
  m.options_.keywords = r.pod<uint8_t>() != 0;
  m.options_.tfidf = r.pod<uint8_t>() != 0;
  m.options_.hash_bits = r.pod<int32_t>();
  m.options_.c = r.pod<double>();
  m.options_.keyword_weight = r.pod<double>();
  m.options_.target_precision = r.pod<double>();
  m.temperature_ = r.pod<double>();
  m.threshold_ = r.pod<double>();
  const uint32_t k = r.count();
  if (!r.ok() || k < 2 || k > kMaxLabels)
    return fail(ErrorCode::kParse, fmt::format("{}: the model file is truncated or damaged", path.string()));
  for (uint32_t j = 0; j < k && r.ok(); ++j) m.labels_.push_back(r.str());
  std::vector<std::vector<std::u32string>> words(k);
  for (uint32_t j = 0; j < k && r.ok(); ++j) {
    const uint32_t n = r.count();
    for (uint32_t i = 0; i < n && r.ok(); ++i) words[j].push_back(r.u32str());
  }
  m.keywords_ = KeywordMatcher(std::move(words));
  const auto hashes = r.array<uint32_t>();
  m.idf_ = r.array<float>();
  m.weights_ = r.array<float>();
  if (!r.ok() || m.idf_.size() != hashes.size() ||
      m.weights_.size() != (hashes.size() + KeywordMatcher::kColumnsPerLabel * k + 1) * size_t(k) || k < 2 || m.options_.hash_bits < 10 ||
      m.options_.hash_bits > 28 || !(m.temperature_ > 0))
    return fail(ErrorCode::kParse, fmt::format("{}: the model file is truncated or damaged", path.string()));
  if (m.options_.normalize && !m.normalizer_) return fail(ErrorCode::kInvalidArgument, "no normaliser");
  for (uint32_t col = 0; col < hashes.size(); ++col) m.columns_[hashes[col]] = col;
  return m;
}

}  // namespace gridwatch::classify
