// Strict reading of YAML configuration files.
//
// A ConfigNode is a view of one YAML node together with the file it came from and its key path
// ("sensors[2].location.lon"). Readers ask for typed values with bounds; anything missing, of the
// wrong type, out of bounds or not listed in allow_only() raises ConfigError, whose Error says
// "FILE:LINE: KEY: what is wrong". read_config() turns that into a Result at the module edge.
// ConfigNode is a cheap value; it is not synchronised (read a config on one thread).
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <exception>
#include <filesystem>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gridwatch/domain/error.h"
#include "gridwatch/domain/time.h"

namespace gridwatch {

class ConfigError : public std::exception {
 public:
  explicit ConfigError(Error e) : error_(std::move(e)) {}
  const char* what() const noexcept override { return error_.message.c_str(); }
  const Error& error() const { return error_; }

 private:
  Error error_;
};

class ConfigNode {
 public:
  ConfigNode(YAML::Node node, std::shared_ptr<const std::string> file, std::string path);

  const std::string& file() const { return *file_; }
  const std::string& path() const { return path_; }
  int line() const;  // 1-based; 0 when unknown
  const YAML::Node& yaml() const { return node_; }

  // Fails unless this node is a mapping whose keys are all in `allowed`.
  void allow_only(std::initializer_list<std::string_view> allowed) const;

  bool has(std::string_view key) const;
  ConfigNode at(std::string_view key) const;  // required child
  std::optional<ConfigNode> find(std::string_view key) const;
  // A sequence under `key`; missing means empty when `required` is false.
  std::vector<ConfigNode> list(std::string_view key, bool required = false) const;
  // A sequence of strings under `key` (`[a, b]` or one per line); missing means empty.
  std::vector<std::string> strings(std::string_view key) const;

  std::string string(std::string_view key) const;
  std::string string(std::string_view key, std::string_view fallback) const;
  // A file path; a relative one is relative to the directory of the configuration file.
  std::filesystem::path path(std::string_view key) const;
  // A string that must be one of `choices`.
  std::string choice(std::string_view key, std::initializer_list<std::string_view> choices,
                     std::string_view fallback) const;
  double number(std::string_view key, double lo, double hi) const;
  double number(std::string_view key, double fallback, double lo, double hi) const;
  int64_t integer(std::string_view key, int64_t fallback, int64_t lo, int64_t hi) const;
  bool boolean(std::string_view key, bool fallback) const;
  Duration duration(std::string_view key, Duration fallback, Duration lo, Duration hi) const;

  // Raises ConfigError for `key` below this node (or this node itself when key is empty).
  [[noreturn]] void raise(std::string_view key, std::string_view message) const;

 private:
  std::string child_path(std::string_view key) const;
  YAML::Node child(std::string_view key) const;
  int line_of(std::string_view key) const;

  YAML::Node node_;
  std::shared_ptr<const std::string> file_;
  std::string path_;
};

// Parses `text` (named `source` in messages) and hands its root to `read`. Any ConfigError,
// YAML syntax error or unreadable file becomes an Error with code kConfig.
template <class T>
Result<T> read_config_text(std::string_view text, std::string source,
                           const std::function<T(const ConfigNode&)>& read);
template <class T>
Result<T> read_config_file(const std::filesystem::path& path,
                           const std::function<T(const ConfigNode&)>& read);

// Non-template core of the two functions above.
Result<ConfigNode> parse_config_text(std::string_view text, std::string source);
Result<std::string> read_text_file(const std::filesystem::path& path);

// A secret under `node`, given inline (`KEY`) or as the first line of a file (`KEY_file`, see
// ConfigNode::path): nullopt when neither is there; raises when both are, when the file cannot be
// read or when the secret is shorter than `min_length`.
std::optional<std::string> read_secret(const ConfigNode& node, const std::string& key, size_t min_length);

template <class T>
Result<T> read_config_text(std::string_view text, std::string source,
                           const std::function<T(const ConfigNode&)>& read) {
  auto root = parse_config_text(text, std::move(source));
  if (!root) return std::unexpected(root.error());
  try {
    return read(*root);
  } catch (const ConfigError& e) {
    return std::unexpected(e.error());
  }
}

template <class T>
Result<T> read_config_file(const std::filesystem::path& path,
                           const std::function<T(const ConfigNode&)>& read) {
  auto text = read_text_file(path);
  if (!text) return std::unexpected(text.error());
  return read_config_text<T>(*text, path.string(), read);
}

}  // namespace gridwatch
