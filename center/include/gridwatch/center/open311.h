// Open311 GeoReport v2 documents built from the category catalog: the service list and each
// service's definition, in JSON and XML, and the spec's error documents. Pure functions; the
// HTTP routes are in Center (under /open311/v2/).
#pragma once

#include <string>
#include <string_view>

#include "gridwatch/domain/catalog.h"

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

}  // namespace gridwatch::center::open311
