// Requests and answers of the HTTP server: header lookups, byte ranges and gzip (server.h).
#include <zlib.h>

#include <algorithm>
#include <charconv>
#include <cstring>

#include <fmt/format.h>

#include "http/server.h"

namespace gridwatch::center::http {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

const std::string* find_header(const Headers& headers, std::string_view name) {
  for (const auto& [k, v] : headers)
    if (iequals(k, name)) return &v;
  return nullptr;
}

// True when an Accept-Encoding value accepts gzip (not with q=0). Brotli is never offered:
// only gzip is answered, at zlib's default level (~50 ms a megabyte).
bool accepts_gzip(std::string_view accepted) {
  size_t pos = 0;
  while (pos <= accepted.size()) {
    size_t end = accepted.find(',', pos);
    if (end == std::string_view::npos) end = accepted.size();
    std::string_view item = trim(accepted.substr(pos, end - pos));
    std::string_view coding = trim(item.substr(0, item.find(';')));
    if (iequals(coding, "gzip") || iequals(coding, "x-gzip")) {
      const size_t q = item.find("q=");
      return q == std::string_view::npos || std::strtod(std::string(item.substr(q + 2)).c_str(), nullptr) > 0;
    }
    pos = end + 1;
  }
  return false;
}

// Text worth compressing (JSON, GeoJSON, scripts, pages); never an event stream, images or video.
bool compressible(std::string_view type) {
  if (type.starts_with("text/")) return !type.starts_with("text/event-stream");
  return type.find("json") != std::string_view::npos || type.find("javascript") != std::string_view::npos ||
         type.find("xml") != std::string_view::npos;
}

std::optional<std::string> gzip(std::string_view in) {
  z_stream zs{};
  if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return std::nullopt;
  std::string out(deflateBound(&zs, in.size()), '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) return std::nullopt;
  return out;
}

std::optional<size_t> number(std::string_view s) {
  size_t v = 0;
  if (s.empty()) return std::nullopt;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

// One range "bytes=A-B" | "bytes=A-" | "bytes=-N" of a body of `size` bytes as [first, last];
// nullopt when the header is not one range (the whole body is sent), {1, 0} when not satisfiable.
std::optional<std::pair<size_t, size_t>> one_range(std::string_view header, size_t size) {
  header = trim(header);
  if (!header.starts_with("bytes=") || header.find(',') != std::string_view::npos) return std::nullopt;
  std::string_view spec = trim(header.substr(6));
  const size_t dash = spec.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  const auto a = number(spec.substr(0, dash)), b = number(spec.substr(dash + 1));
  if (!a && !b) return std::nullopt;
  if (!a) {  // the last N bytes
    if (*b == 0 || size == 0) return std::make_pair(size_t{1}, size_t{0});
    return std::make_pair(size - std::min(*b, size), size - 1);
  }
  if (*a >= size || (b && *b < *a)) return std::make_pair(size_t{1}, size_t{0});
  return std::make_pair(*a, b ? std::min(*b, size - 1) : size - 1);
}

}  // namespace

bool Request::has_header(std::string_view name) const { return find_header(headers, name) != nullptr; }

std::string Request::get_header_value(std::string_view name) const {
  const std::string* v = find_header(headers, name);
  return v ? *v : std::string();
}

std::string Request::get_param_value(std::string_view key) const {
  auto it = params.find(std::string(key));
  return it == params.end() ? std::string() : it->second;
}

void Response::set_header(std::string name, std::string value) {
  for (auto& [k, v] : headers)
    if (iequals(k, name)) {
      v = std::move(value);
      return;
    }
  headers.emplace_back(std::move(name), std::move(value));
}

std::string Response::get_header_value(std::string_view name) const {
  const std::string* v = find_header(headers, name);
  return v ? *v : std::string();
}

void finish_response(Response& res, std::string_view accept_encoding, std::string_view range, bool head) {
  if (res.status == 200 && !range.empty() && !res.body.empty()) {
    if (auto r = one_range(range, res.body.size())) {
      const size_t size = res.body.size();
      if (r->first > r->second) {
        res.status = 416;
        res.body.clear();
        res.set_header("Content-Range", fmt::format("bytes */{}", size));
      } else {
        res.status = 206;
        res.body = res.body.substr(r->first, r->second - r->first + 1);
        res.set_header("Content-Range", fmt::format("bytes {}-{}/{}", r->first, r->second, size));
      }
    }
  } else if (compressible(res.content_type) && !res.body.empty() && res.get_header_value("Content-Encoding").empty()) {
    res.set_header("Vary", "Accept-Encoding");
    if (accepts_gzip(accept_encoding))
      if (auto z = gzip(res.body)) {
        res.body = std::move(*z);
        res.set_header("Content-Encoding", "gzip");
      }
  }
  if (res.content_type.starts_with("video/") || res.content_type.starts_with("image/") ||
      res.content_type == "application/octet-stream")
    res.set_header("Accept-Ranges", "bytes");
  if (head) {
    res.set_header("Content-Length", std::to_string(res.body.size()));
    res.body.clear();
  }
}

}  // namespace gridwatch::center::http
