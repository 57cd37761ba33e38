#include "gridwatch/domain/config.h"

#include <cmath>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace gridwatch {

ConfigNode::ConfigNode(YAML::Node node, std::shared_ptr<const std::string> file, std::string path)
    : node_(std::move(node)), file_(std::move(file)), path_(std::move(path)) {}

int ConfigNode::line() const { return node_.Mark().line >= 0 ? node_.Mark().line + 1 : 0; }

std::string ConfigNode::child_path(std::string_view key) const {
  if (key.empty()) return path_;
  if (path_.empty()) return std::string(key);
  return fmt::format("{}.{}", path_, key);
}

int ConfigNode::line_of(std::string_view key) const {
  if (!key.empty() && node_.IsMap()) {
    for (auto it = node_.begin(); it != node_.end(); ++it) {
      if (it->first.IsScalar() && it->first.Scalar() == key) return it->first.Mark().line + 1;
    }
  }
  return line();
}

void ConfigNode::raise(std::string_view key, std::string_view message) const {
  std::string where = child_path(key);
  std::string text = where.empty() ? fmt::format("{}:{}: {}", *file_, line_of(key), message)
                                   : fmt::format("{}:{}: {}: {}", *file_, line_of(key), where,
                                                 message);
  throw ConfigError(Error{ErrorCode::kConfig, std::move(text), std::move(where)});
}

void ConfigNode::allow_only(std::initializer_list<std::string_view> allowed) const {
  if (!node_.IsMap()) raise("", "expected a mapping (key: value)");
  for (auto it = node_.begin(); it != node_.end(); ++it) {
    std::string key = it->first.IsScalar() ? it->first.Scalar() : "?";
    bool known = false;
    for (auto a : allowed) known = known || a == key;
    if (!known) {
      std::string where = child_path(key);
      throw ConfigError(Error{
          ErrorCode::kConfig,
          fmt::format("{}:{}: {}: unknown key (allowed here: {})", *file_,
                      it->first.Mark().line + 1, where, fmt::join(allowed, ", ")),
          where});
    }
  }
}

bool ConfigNode::has(std::string_view key) const {
  return node_.IsMap() && node_[std::string(key)].IsDefined() && !node_[std::string(key)].IsNull();
}

YAML::Node ConfigNode::child(std::string_view key) const {
  if (!node_.IsMap()) raise("", "expected a mapping (key: value)");
  return node_[std::string(key)];
}

ConfigNode ConfigNode::at(std::string_view key) const {
  YAML::Node n = child(key);
  if (!n.IsDefined() || n.IsNull()) raise(key, "required key is missing");
  return ConfigNode(n, file_, child_path(key));
}

std::optional<ConfigNode> ConfigNode::find(std::string_view key) const {
  if (!has(key)) return std::nullopt;
  return ConfigNode(child(key), file_, child_path(key));
}

std::vector<ConfigNode> ConfigNode::list(std::string_view key, bool required) const {
  std::vector<ConfigNode> out;
  if (!has(key)) {
    if (required) raise(key, "required key is missing");
    return out;
  }
  YAML::Node n = child(key);
  if (!n.IsSequence()) raise(key, "expected a list");
  for (size_t i = 0; i < n.size(); ++i) {
    out.emplace_back(n[i], file_, fmt::format("{}[{}]", child_path(key), i));
  }
  return out;
}

std::vector<std::string> ConfigNode::strings(std::string_view key) const {
  std::vector<std::string> out;
  if (!has(key)) return out;
  YAML::Node n = child(key);
  if (n.IsScalar()) raise(key, "expected a list, e.g. [a, b]");
  for (const ConfigNode& item : list(key)) {
    if (!item.yaml().IsScalar()) item.raise("", "expected a string");
    out.push_back(item.yaml().Scalar());
  }
  return out;
}

std::string ConfigNode::string(std::string_view key) const {
  YAML::Node n = child(key);
  if (!n.IsDefined() || n.IsNull()) raise(key, "required key is missing");
  if (!n.IsScalar()) raise(key, "expected a string");
  return n.Scalar();
}

std::string ConfigNode::string(std::string_view key, std::string_view fallback) const {
  if (!has(key)) return std::string(fallback);
  return string(key);
}

std::filesystem::path ConfigNode::path(std::string_view key) const {
  std::filesystem::path p = string(key);
  if (p.is_relative()) p = std::filesystem::path(file()).parent_path() / p;
  return p;
}

std::string ConfigNode::choice(std::string_view key,
                               std::initializer_list<std::string_view> choices,
                               std::string_view fallback) const {
  std::string v = string(key, fallback);
  for (auto c : choices)
    if (c == v) return v;
  raise(key, fmt::format("\"{}\" is not one of: {}", v, fmt::join(choices, ", ")));
}

double ConfigNode::number(std::string_view key, double lo, double hi) const {
  YAML::Node n = child(key);
  if (!n.IsDefined() || n.IsNull()) raise(key, "required key is missing");
  double v = 0;
  if (!n.IsScalar() || !YAML::convert<double>::decode(n, v) || !std::isfinite(v))
    raise(key, fmt::format("expected a number, got \"{}\"", n.IsScalar() ? n.Scalar() : "?"));
  if (v < lo || v > hi) raise(key, fmt::format("{} is out of range [{}, {}]", v, lo, hi));
  return v;
}

double ConfigNode::number(std::string_view key, double fallback, double lo, double hi) const {
  if (!has(key)) return fallback;
  return number(key, lo, hi);
}

int64_t ConfigNode::integer(std::string_view key, int64_t fallback, int64_t lo, int64_t hi) const {
  if (!has(key)) return fallback;
  YAML::Node n = child(key);
  int64_t v = 0;
  if (!n.IsScalar() || !YAML::convert<int64_t>::decode(n, v))
    raise(key, fmt::format("expected a whole number, got \"{}\"", n.IsScalar() ? n.Scalar() : "?"));
  if (v < lo || v > hi) raise(key, fmt::format("{} is out of range [{}, {}]", v, lo, hi));
  return v;
}

bool ConfigNode::boolean(std::string_view key, bool fallback) const {
  if (!has(key)) return fallback;
  YAML::Node n = child(key);
  bool v = false;
  if (!n.IsScalar() || !YAML::convert<bool>::decode(n, v))
    raise(key, fmt::format("expected true or false, got \"{}\"", n.IsScalar() ? n.Scalar() : "?"));
  return v;
}

Duration ConfigNode::duration(std::string_view key, Duration fallback, Duration lo,
                              Duration hi) const {
  if (!has(key)) return fallback;
  auto d = parse_duration(string(key));
  if (!d) raise(key, d.error().message);
  if (*d < lo || *d > hi)
    raise(key, fmt::format("{} is out of range [{}, {}]", format_duration(*d), format_duration(lo),
                           format_duration(hi)));
  return *d;
}

Result<std::string> read_text_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return fail(ErrorCode::kConfig, fmt::format("{}: cannot open file", path.string()), "");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Result<ConfigNode> parse_config_text(std::string_view text, std::string source) {
  auto file = std::make_shared<const std::string>(std::move(source));
  try {
    YAML::Node root = YAML::Load(std::string(text));
    if (!root.IsMap())
      return fail(ErrorCode::kConfig, fmt::format("{}:1: the file must be a mapping (key: value)",
                                                  *file));
    return ConfigNode(root, file, "");
  } catch (const YAML::Exception& e) {
    return fail(ErrorCode::kConfig,
                fmt::format("{}:{}: YAML syntax error: {}", *file, e.mark.line + 1, e.msg));
  }
}

std::optional<std::string> read_secret(const ConfigNode& n, const std::string& key, size_t min_length) {
  const std::string file_key = key + "_file";
  if (n.has(key) && n.has(file_key)) n.raise(key, fmt::format("give one of {} and {}, not both", key, file_key));
  if (!n.has(key) && !n.has(file_key)) return std::nullopt;
  std::string secret;
  if (n.has(key)) {
    secret = n.string(key);
  } else {
    auto text = read_text_file(n.path(file_key));
    if (!text) n.raise(file_key, text.error().message);
    secret = text->substr(0, text->find_first_of("\r\n"));
  }
  if (secret.size() < min_length)
    n.raise(n.has(key) ? key : file_key, fmt::format("a secret has at least {} characters", min_length));
  return secret;
}

}  // namespace gridwatch
