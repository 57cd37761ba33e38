// The center's HTTP server: its settings, the route groups, and what every route asks first
// (who the caller is, which case it names).
#include "gridwatch/center/center.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "gridwatch/domain/text.h"
#include "http/answers.h"
#include "http/server.h"

namespace gridwatch::center {

void Center::setup_http() {
  http_ = std::make_unique<http::Server>(http::ServerOptions{
      .threads = config_.http_threads,
      .queue = config_.http_queue,
      .max_body = 1 << 20,
      // No answer is read as another type than it says; no URL (a clip link's ?access_token=)
      // leaves in a Referer.
      .default_headers = {{"X-Content-Type-Options", "nosniff"}, {"Referrer-Policy", "no-referrer"}},
      .tls_cert = config_.tls_cert,
      .tls_key = config_.tls_key});
  http::Server& server = *http_;
  add_service_routes(server);
  add_order_routes(server);
  add_action_routes(server);
  add_worker_routes(server);
  add_event_routes(server);
  add_open311_routes(server);
  add_media_routes(server);
  add_web_routes(server);
  add_patrol_routes(server);
  add_label_routes(server);
  add_analytics_routes(server);
  add_monthly_problem_routes(server);
  add_report_routes(server);
  server.not_found([](const http::Request& req, http::Response& res) {
    http::json_error(res, 404, fmt::format("no such resource: {}", printable(req.path)));
  });
}

std::vector<std::pair<std::string, std::string>> Center::http_routes() const {
  return http_ ? http_->routes() : std::vector<std::pair<std::string, std::string>>{};
}

std::optional<Principal> Center::caller(const http::Request& req, http::Response& res, bool query_token) {
  auto who = auth_.authenticate(query_token && req.has_param("access_token") && !req.has_header("Authorization")
                                    ? "Bearer " + req.get_param_value("access_token")
                                    : req.get_header_value("Authorization"),
                                now_utc());
  if (!who) {
    spdlog::debug("HTTP {} {}: {}", req.method, req.path, who.error().message);
    answer_error(res, who.error(), 400);
    return std::nullopt;
  }
  return *who;
}

std::optional<std::chrono::milliseconds> Center::over_limit(const std::string& key, const http::Request& req) {
  auto wait = key.empty() ? by_address_.take(address_bucket(req.remote_addr)) : by_key_.take(key);
  if (wait) {
    ++(key.empty() ? metrics_.limited_by_address : metrics_.limited_by_key);
    spdlog::debug("HTTP {} {} from {} limited ({}): {} ms to wait", req.method, req.path, req.remote_addr,
                  key.empty() ? "address" : key, wait->count());
  }
  return wait;
}

std::optional<std::chrono::milliseconds> Center::over_limit(const ApiKey* key, const http::Request& req) {
  return over_limit(key && key->name != config_.web.report_key ? "open311:" + key->name : "", req);
}

std::optional<Center::ReadableCase> Center::readable_case(const http::Request& req, http::Response& res,
                                                          bool query_token) {
  const auto who = caller(req, res, query_token);
  if (!who) return std::nullopt;
  std::string id = req.matches[1];
  if (!is_valid_id(id)) return json_error(res, 400, "malformed order id", "id"), std::nullopt;
  auto body = store_->order_geojson(id);
  if (!body) return json_error(res, 503, body.error().message), std::nullopt;
  if (!*body) return json_error(res, 404, fmt::format("no order \"{}\"", id), "id"), std::nullopt;
  nlohmann::json feature = nlohmann::json::parse(**body);
  if (feature.contains("id") && feature.at("id").is_string()) id = feature.at("id").get<std::string>();
  if (const Scope scope = who->read_scope(config_.worker_level); !scope.empty())
    if (auto in = store_->check_scope(id, scope); !in) return answer_error(res, in.error(), 400), std::nullopt;
  auto more = store_->case_sources(id);
  if (!more) return json_error(res, 503, more.error().message), std::nullopt;
  return ReadableCase{*who, std::move(feature), std::move(*more)};
}

}  // namespace gridwatch::center
