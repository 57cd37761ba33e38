// The answers every route gives the same way: errors in JSON, a JSON body checked field by
// field, a refusal naming who may not do what.
#pragma once

#include <chrono>
#include <expected>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "gridwatch/center/auth.h"
#include "gridwatch/domain/error.h"
#include "gridwatch/domain/order.h"
#include "http/server.h"

namespace gridwatch::center::http {

// {"error": message, "parameter": parameter} with `status`. Bytes of the message that are not
// UTF-8 (it may quote what the client sent) are replaced.
void json_error(Response& res, int status, std::string_view message, std::string_view parameter = {});

// An error of the store or of authentication: kNotFound 404, kDenied 403, kUnauthenticated 401
// (with WWW-Authenticate), kInvalidArgument `invalid` (409 for a step the case's state does not
// allow, 400 for a bad request), anything else 503.
void answer_error(Response& res, const Error& e, int invalid);

// The request's body as a JSON object with only `known` fields; answers 400 (showing `usage`)
// and returns nullopt otherwise.
std::optional<nlohmann::json> json_body(const Request& req, Response& res, std::initializer_list<std::string_view> known,
                                        std::string_view usage);

// A text field of `body` ("" when absent) of at most `max` characters; nullopt when it is not a
// string or too long.
std::optional<std::string> text_field(const nlohmann::json& body, const char* key, size_t max = 1000);

// lon and lat of `j` as a valid WGS-84 point, or the reason they are not.
std::expected<LonLat, std::string> point_of(const nlohmann::json& j);

// 403: "{name} ({role}) may not {what}".
void deny(Response& res, const Principal& who, std::string_view what);

// 429 for a caller over its rate (limits): Retry-After in whole seconds (at least 1), and the
// message; `body` is the error in the route's own format (JSON when empty).
void too_many(Response& res, std::chrono::milliseconds wait, std::string body = {}, std::string type = {});
// The message of a 429.
std::string too_many_message(std::chrono::milliseconds wait);

// The media type of an uploaded image by its first bytes (not by what the client says).
std::optional<std::string> image_type(std::string_view bytes);

}  // namespace gridwatch::center::http
