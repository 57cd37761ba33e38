#include "gridwatch/center/open311.h"

#include <charconv>
#include <cmath>
#include <map>

#include <fmt/format.h>

#include "gridwatch/center/lifecycle.h"
#include "gridwatch/domain/text.h"
#include <nlohmann/json.hpp>

namespace gridwatch::center::open311 {
namespace {

using json = nlohmann::json;

// One JSON object as XML elements, in key order; null values are empty elements; arrays of
// objects repeat `item` elements.
void to_xml(std::string& out, const json& j, std::string_view item = "") {
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& key = it.key();
    const json& v = it.value();
    if (v.is_array()) {
      out += fmt::format("<{}>", key);
      for (const json& e : v) {
        out += fmt::format("<{}>", item.empty() ? "item" : item);
        if (e.is_object()) to_xml(out, e, "value");
        else out += xml_escape(e.is_string() ? e.get<std::string>() : e.dump());
        out += fmt::format("</{}>", item.empty() ? "item" : item);
      }
      out += fmt::format("</{}>", key);
    } else if (v.is_null()) {
      out += fmt::format("<{}/>", key);
    } else {
      out += fmt::format("<{0}>{1}</{0}>", key, xml_escape(v.is_string() ? v.get<std::string>() : v.dump()));
    }
  }
}

constexpr const char* kXmlHead = "<?xml version=\"1.0\" encoding=\"utf-8\"?>";

json service_json(const Category& c, std::string_view locale) {
  const bool zh = locale == "zh";
  return {{"service_code", c.code},
          {"service_name", zh ? c.name.zh : c.name.en},
          {"description", fmt::format("{} / {} — {} {}", c.name.zh, c.name.en, c.department.zh, c.department.en)},
          {"metadata", true},
          {"type", "realtime"},
          {"keywords", fmt::format("{},{}", c.taxonomy_code, c.taxonomy_name)},
          {"group", c.department_code}};
}

}  // namespace

std::optional<std::pair<std::string, Format>> split_format(std::string_view tail) {
  const size_t dot = tail.rfind('.');
  if (dot == std::string_view::npos) return std::make_pair(std::string(tail), Format::kJson);
  const std::string_view ext = tail.substr(dot + 1);
  if (ext == "json") return std::make_pair(std::string(tail.substr(0, dot)), Format::kJson);
  if (ext == "xml") return std::make_pair(std::string(tail.substr(0, dot)), Format::kXml);
  return std::nullopt;
}

std::string services(const Catalog& catalog, Format format, std::string_view locale) {
  if (format == Format::kJson) {
    json out = json::array();
    for (const Category& c : catalog.all()) out.push_back(service_json(c, locale));
    return out.dump();
  }
  std::string out = kXmlHead;
  out += "<services>";
  for (const Category& c : catalog.all()) {
    out += "<service>";
    to_xml(out, service_json(c, locale));
    out += "</service>";
  }
  out += "</services>";
  return out;
}

std::string service_definition(const Category& c, Format format) {
  json attributes = json::array(
      {{{"variable", true},
        {"code", "building"},
        {"datatype", "string"},
        {"required", false},
        {"datatype_description", "The building code on the door's QR sheet (一楼一码), e.g. DC-0107-12"},
        {"order", 1},
        {"description", "楼栋编码 Building code"}},
       {{"variable", true},
        {"code", "severity"},
        {"datatype", "singlevaluelist"},
        {"required", false},
        {"datatype_description", nullptr},
        {"order", 2},
        {"description", "严重程度 How bad is it?"},
        {"values", json::array({{{"key", "low"}, {"name", "轻微 Minor"}},
                                {{"key", "normal"}, {"name", "一般 Normal"}},
                                {{"key", "high"}, {"name", "严重 Serious"}}})}}});
  json def = {{"service_code", c.code}, {"attributes", attributes}};
  if (format == Format::kJson) return def.dump();
  std::string out = kXmlHead;
  out += "<service_definition>";
  out += fmt::format("<service_code>{}</service_code><attributes>", xml_escape(c.code));
  for (const json& a : attributes) {
    out += "<attribute>";
    json plain = a;
    plain.erase("values");
    to_xml(out, plain);
    if (a.contains("values")) {
      out += "<values>";
      for (const json& v : a["values"]) {
        out += "<value>";
        to_xml(out, v);
        out += "</value>";
      }
      out += "</values>";
    }
    out += "</attribute>";
  }
  out += "</attributes></service_definition>";
  return out;
}

std::string error(int code, std::string_view description, Format format) {
  if (format == Format::kJson)
    return json::array({{{"code", code}, {"description", description}}})
        .dump(-1, ' ', false, json::error_handler_t::replace);
  return fmt::format("{}<errors><error><code>{}</code><description>{}</description></error></errors>", kXmlHead, code,
                     xml_escape(description));
}

std::string content_type(Format format) {
  return format == Format::kJson ? "application/json; charset=utf-8" : "text/xml; charset=utf-8";
}

// ---------------------------------------------------------------------------- POST requests

namespace {

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// application/x-www-form-urlencoded: '+' is a space, %XX a byte; a '%' not followed by two hex
// digits is malformed.
std::optional<std::string> form_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      const int hi = hex(s[i + 1]), lo = hex(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::unexpected<FormError> bad(std::string message) { return std::unexpected(FormError{400, std::move(message)}); }

// FNV-1a: a stable, non-reversible key for a caller, to count independent reports without
// keeping the caller's details in the counting column.
std::string caller_key(std::string_view v) {
  uint64_t h = 1469598103934665603ull;
  for (char c : v) {
    h ^= static_cast<unsigned char>(std::tolower(static_cast<unsigned char>(c)));
    h *= 1099511628211ull;
  }
  return fmt::format("caller:{:016x}", h);
}

}  // namespace

std::expected<TicketForm, FormError> parse_request_form(std::string_view body, std::string_view content_type,
                                                        const Catalog& catalog, const std::vector<ApiKey>& keys,
                                                        Timestamp now, bool suggests) {
  if (content_type.substr(0, 33) != "application/x-www-form-urlencoded")
    return bad(fmt::format("POST requests takes a form (Content-Type application/x-www-form-urlencoded), not \"{}\"",
                           printable(content_type)));
  std::map<std::string, std::string> form;
  size_t pos = 0;
  while (pos <= body.size() && !body.empty()) {
    size_t amp = body.find('&', pos);
    if (amp == std::string_view::npos) amp = body.size();
    std::string_view pair = body.substr(pos, amp - pos);
    pos = amp + 1;
    if (pair.empty()) {
      if (amp >= body.size()) break;
      continue;
    }
    const size_t eq = pair.find('=');
    auto key = form_decode(pair.substr(0, eq));
    auto value = form_decode(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1));
    if (!key || !value) return bad(fmt::format("malformed form: bad %-escape in \"{}\"", printable(pair)));
    if (!is_valid_utf8(*key) || !is_valid_utf8(*value))
      return bad(fmt::format("malformed form: \"{}\" is not valid UTF-8", is_valid_utf8(*key) ? printable(*key) : "a key"));
    if (has_control_chars(*key) || has_control_chars(*value))
      return bad(fmt::format("malformed form: \"{}\" holds a control character", printable(*key)));
    if (form.contains(*key)) return bad(fmt::format("{} is given twice", printable(*key)));
    form.emplace(std::move(*key), std::move(*value));
    if (amp >= body.size()) break;
  }
  auto get = [&](const std::string& k) -> std::optional<std::string> {
    auto it = form.find(k);
    if (it == form.end() || it->second.empty()) return std::nullopt;
    return it->second;
  };
  // The key first: an unknown caller learns nothing else about the request.
  const auto key = get("api_key");
  if (!key) return std::unexpected(FormError{403, "api_key is required"});
  const ApiKey* who = find_api_key(keys, *key);
  if (!who) return std::unexpected(FormError{403, "unknown api_key"});

  static const char* kKnown[] = {"api_key", "jurisdiction_id", "service_code", "lat", "long", "address_string",
                                 "address_id", "email", "device_id", "account_id", "first_name", "last_name",
                                 "phone", "description", "media_url"};
  for (const auto& [k, v] : form) {
    if (k != "description" && utf8_length(v) > 500)
      return bad(fmt::format("{} is longer than 500 characters", printable(k)));
    if (k.starts_with("attribute[") && k.ends_with("]")) continue;
    if (std::find(std::begin(kKnown), std::end(kKnown), k) == std::end(kKnown))
      return bad(fmt::format("unknown field \"{}\"", printable(k)));
  }
  const auto code = get("service_code");
  if (!code && !(suggests && get("description")))
    return bad(suggests ? "service_code is required, or a description to suggest it from" : "service_code is required");
  const Category* cat = code ? catalog.find(*code) : catalog.find(kNoCodeCategory);
  if (!cat)
    return bad(code ? fmt::format("service_code \"{}\" is not a service (see services.json)", printable(*code))
                    : std::string("service_code is required (this catalog has no service for unsorted tickets)"));

  TicketForm t;
  t.api_key = who->name;
  nlohmann::json& s = t.source;
  s = {{"kind", "hotline"},
       {"channel", "open311"},
       {"category", code ? cat->code : std::string()},
       {"priority", std::string(to_string(cat->default_priority))},
       {"reported_at", format_rfc3339(now)},
       {"want_token", true}};
  const auto lat = get("lat"), lon = get("long");
  if (lat.has_value() != lon.has_value()) return bad(lat ? "long is required with lat" : "lat is required with long");
  if (lat) {
    const auto la = parse_finite(*lat), lo = parse_finite(*lon);
    if (!la || *la < -90 || *la > 90) return bad("lat must be a number from -90 to 90");
    if (!lo || *lo < -180 || *lo > 180) return bad("long must be a number from -180 to 180");
    t.where = LonLat{.lon = *lo, .lat = *la};
  }
  const auto address = get("address_string"), address_id = get("address_id");
  if (!lat && !address && !address_id) return bad("a location is required: lat and long, address_string or address_id");
  if (address) s["address"] = *address;
  nlohmann::json attributes = nlohmann::json::object();
  if (address_id) attributes["address_id"] = *address_id;
  if (const auto d = get("description")) {
    if (utf8_length(*d) > kMaxDescription)
      return bad(fmt::format("description is longer than {} characters", kMaxDescription));
    s["description"] = *d;
  }
  if (const auto m = get("media_url")) {
    if (!m->starts_with("http://") && !m->starts_with("https://")) return bad("media_url must be an http(s) URL");
    s["media_url"] = *m;
  }
  for (const auto& [k, v] : form) {
    if (!k.starts_with("attribute[")) continue;
    const std::string attr = k.substr(10, k.size() - 11);
    if (attr == "building") {
      attributes["building"] = v;
    } else if (attr == "severity") {
      if (v != "low" && v != "normal" && v != "high")
        return bad(fmt::format("attribute[severity] must be low, normal or high, not \"{}\"", printable(v, 40)));
      attributes["severity"] = v;
    } else {
      return bad(fmt::format("attribute[{}] is not an attribute of {} (see services/{}.json)", printable(attr, 40),
                             cat->code, cat->code));
    }
  }
  s["attributes"] = attributes;
  nlohmann::json contact = nlohmann::json::object();
  for (const char* k : {"email", "phone", "device_id", "account_id", "first_name", "last_name"})
    if (const auto v = get(k)) contact[k] = *v;
  contact["api_key"] = who->name;
  s["contact"] = contact;
  // Reports of one caller (by email, phone, device or account) are not independent of each other.
  for (const char* k : {"email", "phone", "account_id", "device_id"})
    if (const auto v = get(k)) {
      s["reporter"] = caller_key(fmt::format("{}:{}", k, *v));
      break;
    }
  return t;
}

std::optional<std::string> form_field(std::string_view body, std::string_view name) {
  size_t pos = 0;
  while (pos <= body.size()) {
    const size_t amp = std::min(body.find('&', pos), body.size());
    const std::string_view pair = body.substr(pos, amp - pos);
    const size_t eq = pair.find('=');
    if (form_decode(pair.substr(0, eq)) == name)
      return eq == std::string_view::npos ? std::optional<std::string>("") : form_decode(pair.substr(eq + 1));
    pos = amp + 1;
  }
  return std::nullopt;
}

std::string without_api_key(std::string_view body) {
  std::string kept;
  size_t pos = 0;
  while (pos <= body.size()) {
    const size_t amp = std::min(body.find('&', pos), body.size());
    const std::string_view pair = body.substr(pos, amp - pos);
    const auto key = form_decode(pair.substr(0, pair.find('=')));
    if (!pair.empty() && key != "api_key") kept.append(kept.empty() ? "" : "&").append(pair);
    pos = amp + 1;
  }
  return kept;
}

// ----------------------------------------------------------------------------- GET requests

namespace {

// A string member, or "" (get_ref: no conversion, so no -Wnull-dereference false positive).
std::string str(const json& row, const char* key) {
  auto it = row.find(key);
  return it != row.end() && it->is_string() ? it->get_ref<const std::string&>() : std::string();
}

}  // namespace

nlohmann::json request_json(const nlohmann::json& row, const Catalog& catalog, std::string_view locale) {
  const std::string code = str(row, "service_code");
  const Category* cat = catalog.find(code);
  const bool zh = locale == "zh";
  json r = {{"service_request_id", row.at("service_request_id")},
            {"status", row.at("status")},
            {"service_code", code},
            {"service_name", cat ? json(zh ? cat->name.zh : cat->name.en) : json()},
            {"agency_responsible", cat ? json(zh ? cat->department.zh : cat->department.en) : json()},
            {"description", row.contains("description") ? row.at("description") : json()},
            {"requested_datetime", row.at("requested_datetime")},
            {"updated_datetime", row.contains("updated_datetime") ? row.at("updated_datetime") : json()},
            {"expected_datetime", nullptr},
            {"service_notice", nullptr},
            {"address", row.contains("address") ? row.at("address") : json()},
            {"address_id", row.contains("address_id") ? row.at("address_id") : json()},
            {"zipcode", nullptr},
            {"lat", row.contains("lat") ? row.at("lat") : json()},
            {"long", row.contains("long") ? row.at("long") : json()},
            {"media_url", row.contains("media_url") ? row.at("media_url") : json()}};
  if (cat) {
    if (auto t = parse_rfc3339(str(row, "requested_datetime")))
      r["expected_datetime"] = format_rfc3339(*t + cat->resolve_within);
  }
  const std::string case_id = str(row, "case_id");
  const auto count = row.find("source_count");
  const int64_t sources = count != row.end() && count->is_number_integer() ? count->get_ref<const int64_t&>() : 1;
  std::string notes = case_id == str(row, "service_request_id")
                          ? fmt::format("案件 {} / case {}", case_id, case_id)
                          : fmt::format("并入案件 {} / joined case {}", case_id, case_id);
  if (sources > 1) notes += fmt::format(" ({} reports)", sources);
  if (const auto state = parse_case_state(str(row, "state")))
    notes += fmt::format("; {} / {}", name_zh(*state), to_string(*state));
  r["status_notes"] = notes;
  return r;
}

std::string requests(const nlohmann::json& list, Format format) {
  if (format == Format::kJson) return list.dump();
  std::string out = kXmlHead;
  out += "<service_requests>";
  for (const json& r : list) {
    out += "<request>";
    to_xml(out, r);
    out += "</request>";
  }
  out += "</service_requests>";
  return out;
}

std::string receipt(const nlohmann::json& fields, Format format) {
  if (format == Format::kJson) return json::array({fields}).dump();
  std::string out = kXmlHead;
  out += "<service_requests><request>";
  to_xml(out, fields);
  out += "</request></service_requests>";
  return out;
}

}  // namespace gridwatch::center::open311
