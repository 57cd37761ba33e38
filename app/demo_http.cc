#include "demo_http.h"

#include <httplib.h>

#include <string_view>

#include <spdlog/spdlog.h>

namespace gridwatch::app {

std::optional<nlohmann::json> demo_call(int port, const char* method, const std::string& path,
                                        const nlohmann::json& body, const char* token, const std::string& raw,
                                        const std::string& content_type) {
  httplib::Client cli("127.0.0.1", port);
  cli.set_connection_timeout(2);
  cli.set_read_timeout(30);  // the analytics over weeks of history take a few seconds
  if (*token) cli.set_bearer_token_auth(token);
  const std::string payload = content_type.empty() ? body.dump() : raw;
  const std::string type = content_type.empty() ? "application/json" : content_type;
  auto r = std::string_view(method) == "PUT"   ? cli.Put(path, payload, type)
           : std::string_view(method) == "GET" ? cli.Get(path)
                                               : cli.Post(path, payload, type);
  if (!r || (r->status != 200 && r->status != 201)) {
    spdlog::warn("demo: {} {} refused: {}", method, path, r ? r->body : httplib::to_string(r.error()));
    return std::nullopt;
  }
  auto j = nlohmann::json::parse(r->body, nullptr, false);
  if (j.is_discarded()) return std::nullopt;
  return j;
}

}  // namespace gridwatch::app
