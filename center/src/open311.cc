#include "gridwatch/center/open311.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace gridwatch::center::open311 {
namespace {

using json = nlohmann::json;

std::string xml_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out += c;
    }
  }
  return out;
}

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
  if (format == Format::kJson) return json::array({{{"code", code}, {"description", description}}}).dump();
  return fmt::format("{}<errors><error><code>{}</code><description>{}</description></error></errors>", kXmlHead, code,
                     xml_escape(description));
}

std::string content_type(Format format) {
  return format == Format::kJson ? "application/json; charset=utf-8" : "text/xml; charset=utf-8";
}

}  // namespace gridwatch::center::open311
