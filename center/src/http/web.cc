// Routes: the pages (control center, worker, report), their settings and the building registry.
#include "gridwatch/center/center.h"

#include "gridwatch/domain/text.h"
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include "http/answers.h"
#include "http/server.h"

namespace gridwatch::center {

namespace {

// The media type of a built asset by its extension.
std::string_view asset_type(std::string_view name) {
  static constexpr std::pair<std::string_view, std::string_view> kTypes[] = {
      {".js", "text/javascript"},  {".mjs", "text/javascript"}, {".css", "text/css"},
      {".html", "text/html; charset=utf-8"}, {".json", "application/json"}, {".map", "application/json"},
      {".svg", "image/svg+xml"},   {".png", "image/png"},       {".jpg", "image/jpeg"},
      {".webp", "image/webp"},     {".ico", "image/x-icon"},    {".woff2", "font/woff2"},
      {".woff", "font/woff"},      {".ttf", "font/ttf"},        {".pbf", "application/x-protobuf"},
      {".wasm", "application/wasm"}, {".txt", "text/plain; charset=utf-8"}};
  for (const auto& [ext, type] : kTypes)
    if (name.ends_with(ext)) return type;
  return "application/octet-stream";
}

// The origin of a URL ("https://{s}.tiles.example.org/{z}/..." -> "https://*.tiles.example.org"),
// "" for a path on this center.
std::string origin_of(const std::string& url) {
  const size_t scheme = url.find("://");
  if (scheme == std::string::npos) return "";
  std::string host = url.substr(scheme + 3, url.find('/', scheme + 3) - (scheme + 3));
  if (host.starts_with("{s}.")) host = "*." + host.substr(4);
  return url.substr(0, scheme + 3) + host;
}

}  // namespace

std::string content_security_policy(const WebConfig& web) {
  std::string others;
  for (const std::string& o : web.origins) others += " " + o;
  if (const std::string tiles = origin_of(web.tile_url); !tiles.empty()) others += " " + tiles;
  // Scripts and styles of the center only (the built pages have no inline script); MapLibre's
  // workers start from blob: URLs and draw images from blob: and data:; nothing is framed but by
  // the center's own pages, no form posts elsewhere.
  return fmt::format(
      "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:{0}; "
      "connect-src 'self'{0}; worker-src 'self' blob:; child-src 'self' blob:; font-src 'self' data:{0}; "
      "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'self'",
      others);
}

void Center::add_web_routes(http::Server& server) {
  // What the pages need to know: the base map, the report page's key, the area levels.
  server.get("/web/config.json", [this](const http::Request&, http::Response& res) {
    nlohmann::json tiles = nullptr;
    if (!config_.web.tile_url.empty())
      tiles = {{"url", config_.web.tile_url},
               {"type", config_.web.tile_type},
               {"crs", config_.web.tile_crs},
               {"attribution", config_.web.tile_attribution}};
    nlohmann::json report_key = nullptr;
    for (const ApiKey& k : config_.api_keys)
      if (k.name == config_.web.report_key) report_key = k.key;
    nlohmann::json levels = nlohmann::json::array();
    for (const AreaLayerConfig& layer : config_.areas) levels.push_back(layer.options.level_name);
    res.set_header("Cache-Control", "no-cache");
    res.set_content(nlohmann::json{{"tiles", tiles},
                                   {"report_api_key", report_key},
                                   {"levels", levels},
                                   {"dispatch_level", config_.dispatch_level},
                                   {"worker_level", config_.worker_level},
                                   {"buildings", buildings_.size()}}
                        .dump(),
                    "application/json");
  });

  // A building of the registry, for the report page a door's QR code opens (no token: the door
  // shows the same).
  server.get(R"(/buildings/([^/]+))", [this](const http::Request& req, http::Response& res) {
    const std::string code = req.matches[1];
    const Building* b = find_building(buildings_, code);
    if (!b) return json_error(res, 404, fmt::format("no building \"{}\" in the registry", printable(code)), "b");
    res.set_content(nlohmann::json{{"code", b->code},
                                   {"name", b->name},
                                   {"address", b->address},
                                   {"lon", b->where.lon},
                                   {"lat", b->where.lat}}
                        .dump(),
                    "application/json");
  });

  // The built pages (web/dist): the control center at /, the worker's page at /worker, the report
  // page at /report; their hashed assets under /assets.
  const std::filesystem::path root = config_.web.root;
  if (root.empty()) {
    server.get("/", [](const http::Request&, http::Response& res) {
      json_error(res, 404, "this center serves no web pages (set web.root to the built web/dist)");
    });
    return;
  }
  if (!std::filesystem::exists(root / "index.html"))
    spdlog::warn("web.root {} has no index.html: build the pages (npm run build in web/)", root.string());
  // Names carry a hash of the content: cached for good.
  server.get(R"(/assets/([A-Za-z0-9._-]+(?:/[A-Za-z0-9._-]+)*))", [root](const http::Request& req, http::Response& res) {
    const std::string& name = req.matches[1];
    const std::filesystem::path file = root / "assets" / name;
    std::error_code ec;
    if (name.find("..") != std::string::npos || !std::filesystem::is_regular_file(file, ec))
      return json_error(res, 404, fmt::format("no asset {}", printable(name)));
    auto bytes = read_text_file(file);
    if (!bytes) return json_error(res, 404, fmt::format("no asset {}", name));
    res.set_header("Cache-Control", "public, max-age=31536000, immutable");
    res.set_content(std::move(*bytes), std::string(asset_type(name)));
  });
  for (const auto& [path, file] : std::initializer_list<std::pair<const char*, const char*>>{
           {"/", "index.html"}, {"/worker", "worker.html"}, {"/report", "report.html"}}) {
    server.get(path, [root, name = std::string(file), csp = content_security_policy(config_.web)](
                         const http::Request&, http::Response& res) {
      auto page = read_text_file(root / name);
      if (!page) return json_error(res, 404, fmt::format("page {} is not built (npm run build in web/)", name));
      res.set_header("Cache-Control", "no-cache");
      res.set_header("Content-Security-Policy", csp);
      res.set_content(std::move(*page), "text/html; charset=utf-8");
    });
  }
}


}  // namespace gridwatch::center
