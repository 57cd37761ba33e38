// Open311 GeoReport v2 documents built from the category catalog: the service list and each
// service's definition, in JSON and XML, and the spec's error documents. Pure functions; the
// HTTP routes are in Center (under /open311/v2/).
#pragma once

#include <string>
#include <string_view>

#include <expected>
#include <optional>
#include <vector>

#include <nlohmann/json.hpp>

#include "gridwatch/center/config.h"
#include "gridwatch/domain/catalog.h"
#include "gridwatch/domain/time.h"
#include "gridwatch/geo/distance.h"

namespace gridwatch::center::open311 {

enum class Format { kJson, kXml };

// "services.json" -> ("services", kJson); no extension means JSON. nullopt for another extension.
std::optional<std::pair<std::string, Format>> split_format(std::string_view path_tail);

// GET services: every category; service_name in `locale` ("en" default, "zh"), the other language
// in the description with the department; group = the department code; keywords = the 12345
// taxonomy code and name; metadata true (see the definition).
std::string services(const Catalog& catalog, Format format, std::string_view locale);
// GET services/{code}: the attributes a request of that service may carry.
std::string service_definition(const Category& category, Format format);
// The spec's error list: [{"code": 404, "description": "..."}] / <errors><error>...</error></errors>.
std::string error(int code, std::string_view description, Format format);
std::string content_type(Format format);

// ---------------------------------------------------------------------------- POST requests

// The longest description accepted, in UTF-8 code points (the schema's maxLength).
inline constexpr size_t kMaxDescription = 4000;
// The service whose attributes a form without service_code is checked against (and the
// dispatcher's queue when no category is suggested with confidence).
inline constexpr std::string_view kNoCodeCategory = "general.other";

struct FormError {
  int http_status;  // 400 or 403
  std::string message;
};

// A ticket ready for Store::add_source: the source JSON (kind hotline, channel open311, category,
// priority, reported_at, description, address, attributes, contact, reporter, media_url) and its
// place when lat/long were given. `api_key` names the key that posted it.
struct TicketForm {
  nlohmann::json source;
  std::optional<LonLat> where;
  std::string api_key;
};

// Parses and checks the body of POST requests (application/x-www-form-urlencoded): api_key (one
// of `keys`, else 403), service_code, lat+long or address_string or address_id, attribute[code]
// of the service definition, description of at most kMaxDescription code points, email,
// device_id, account_id, first_name, last_name, phone, media_url, jurisdiction_id. Every value
// must be valid UTF-8 and every key known and given once; anything else is a 400 naming it.
// `suggests`: the center suggests categories (docs/classify.md), so a form without service_code
// but with a description is accepted; its source's category is then empty (the caller fills it).
std::expected<TicketForm, FormError> parse_request_form(std::string_view body,
                                                        std::string_view content_type,
                                                        const Catalog& catalog,
                                                        const std::vector<ApiKey>& keys, Timestamp now,
                                                        bool suggests = false);

// The first value of field `name` in a form (decoded), or nullopt when it has none or it does
// not decode.
std::optional<std::string> form_field(std::string_view body, std::string_view name);

// The form without its api_key (however the key's name is %-encoded), to keep a refused form.
std::string without_api_key(std::string_view body);

// ----------------------------------------------------------------------------- GET requests

// One stored source (a row of Store::requests) as a GeoReport v2 request: status open/closed from
// its case, service name and agency from the catalog in `locale` ("en" or "zh", as the service
// list of the same locale names them), expected_datetime from the SLA, and status_notes saying
// which case it belongs to.
nlohmann::json request_json(const nlohmann::json& row, const Catalog& catalog, std::string_view locale);
// A list of requests as the spec's JSON array or <service_requests> document.
std::string requests(const nlohmann::json& list, Format format);
// The answer to POST requests and to GET tokens/{token}: [{service_request_id, token, service_notice}].
std::string receipt(const nlohmann::json& fields, Format format);

}  // namespace gridwatch::center::open311
