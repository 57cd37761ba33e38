#include "http/answers.h"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "gridwatch/domain/text.h"
#include "gridwatch/geo/distance.h"

namespace gridwatch::center::http {

void json_error(Response& res, int status, std::string_view message, std::string_view parameter) {
  nlohmann::json j = {{"error", message}};
  if (!parameter.empty()) j["parameter"] = parameter;
  res.status = status;
  res.set_content(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), "application/json");
}

void answer_error(Response& res, const Error& e, int invalid) {
  int status = 503;
  switch (e.code) {
    case ErrorCode::kNotFound: status = 404; break;
    case ErrorCode::kInvalidArgument: status = invalid; break;
    case ErrorCode::kDenied: status = 403; break;
    case ErrorCode::kUnauthenticated:
      status = 401;
      res.set_header("WWW-Authenticate", "Bearer realm=\"gridwatch\", error=\"invalid_token\"");
      break;
    default: break;
  }
  json_error(res, status, e.message, e.field);
}

std::optional<nlohmann::json> json_body(const Request& req, Response& res, std::initializer_list<std::string_view> known,
                                        std::string_view usage) {
  auto body = nlohmann::json::parse(req.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) {
    json_error(res, 400, fmt::format("the body must be a JSON object {}", usage));
    return std::nullopt;
  }
  for (auto it = body.begin(); it != body.end(); ++it)
    if (std::find(known.begin(), known.end(), it.key()) == known.end()) {
      json_error(res, 400, fmt::format("unknown field \"{}\" (known: {})", printable(it.key()), fmt::join(known, ", ")),
                 it.key());
      return std::nullopt;
    }
  return body;
}

std::optional<std::string> text_field(const nlohmann::json& body, const char* key, size_t max) {
  if (!body.contains(key)) return std::string();
  if (!body.at(key).is_string() || utf8_length(body.at(key).get_ref<const std::string&>()) > max) return std::nullopt;
  return body.at(key).get<std::string>();
}

void deny(Response& res, const Principal& who, std::string_view what) {
  json_error(res, 403, fmt::format("{} ({}) may not {}", who.name, to_string(who.role), what));
}

std::optional<std::string> image_type(std::string_view bytes) {
  if (bytes.starts_with("\xFF\xD8\xFF")) return "image/jpeg";
  if (bytes.starts_with("\x89PNG\r\n\x1A\n")) return "image/png";
  return std::nullopt;
}

namespace {
// Retry-After in whole seconds, rounded up, at least 1.
int64_t retry_after_s(std::chrono::milliseconds wait) { return std::max<int64_t>(1, (wait.count() + 999) / 1000); }
}  // namespace

std::string too_many_message(std::chrono::milliseconds wait) {
  return fmt::format("too many requests: try again in {} s", retry_after_s(wait));
}

void too_many(Response& res, std::chrono::milliseconds wait, std::string body, std::string type) {
  res.set_header("Retry-After", std::to_string(retry_after_s(wait)));
  if (body.empty()) return json_error(res, 429, too_many_message(wait));
  res.status = 429;
  res.set_content(std::move(body), std::move(type));
}

std::expected<LonLat, std::string> point_of(const nlohmann::json& j) {
  if (!j.contains("lon") || !j.contains("lat") || !j.at("lon").is_number() || !j.at("lat").is_number())
    return std::unexpected("lon and lat are numbers, given together");
  const LonLat p{j.at("lon").get<double>(), j.at("lat").get<double>()};
  if (!geo::is_valid_wgs84(p)) return std::unexpected("lon must be within [-180, 180] and lat within [-90, 90]");
  return p;
}

}  // namespace gridwatch::center::http
