// Open311 GeoReport v2 answers of a running center, in the shape the specification asks: every
// answer checked by the project's own rules (the fields GeoReport v2 requires, their types,
// enumerations and date-times), and, where the real data is, by the official JSON schemas and
// the outside validator (../shared/tools, ../shared/data/open311).
#include <gtest/gtest.h>

#include <functional>
#include <regex>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "gridwatch/domain/catalog.h"
#include "gridwatch/domain/text.h"
#include "open311_fixture.h"
#include "test_data.h"

namespace gridwatch::testing {
namespace {

using json = nlohmann::json;

// ---- what GeoReport v2 asks of each answer ----------------------------------------------------

enum class Type { kString, kNumber, kInteger, kBool, kArray, kDateTime };

struct Field {
  const char* name;
  Type type;
  bool required = false;
  std::vector<std::string> one_of = {};
};

const char* type_name(Type t) {
  switch (t) {
    case Type::kString: return "a string";
    case Type::kNumber: return "a number";
    case Type::kInteger: return "a whole number";
    case Type::kBool: return "true or false";
    case Type::kArray: return "an array";
    case Type::kDateTime: return "an RFC 3339 date-time";
  }
  return "?";
}

bool has_type(const json& v, Type t) {
  static const std::regex date_time(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2}))");
  switch (t) {
    case Type::kString: return v.is_string();
    case Type::kNumber: return v.is_number();
    case Type::kInteger: return v.is_number_integer();
    case Type::kBool: return v.is_boolean();
    case Type::kArray: return v.is_array();
    case Type::kDateTime:
      return v.is_string() && std::regex_match(v.get<std::string>(), date_time) &&
             parse_rfc3339(v.get<std::string>()).has_value();
  }
  return false;
}

// Problems of the object `j` at `path` against `fields`; null counts as absent (the
// specification's optional fields may be null).
void check_object(const json& j, const std::string& path, const std::vector<Field>& fields,
                  std::vector<std::string>& out) {
  if (!j.is_object()) {
    out.push_back(path + ": not an object");
    return;
  }
  for (const Field& f : fields) {
    const std::string at = path + "." + f.name;
    if (!j.contains(f.name) || j[f.name].is_null()) {
      if (f.required) out.push_back(at + ": missing");
      continue;
    }
    const json& v = j[f.name];
    if (!has_type(v, f.type)) {
      out.push_back(fmt::format("{}: {} is not {}", at, v.dump(), type_name(f.type)));
    } else if (!f.one_of.empty() && std::find(f.one_of.begin(), f.one_of.end(), v.get<std::string>()) == f.one_of.end()) {
      out.push_back(fmt::format("{}: {} is not one of {}", at, v.dump(), fmt::join(f.one_of, ", ")));
    }
  }
}

// The answer `body` of `kind` (the kinds of the outside validator: services, service-definition,
// post-response, tokens, requests, request): one "PATH: problem" line per problem, none when it
// has the shape GeoReport v2 asks.
std::vector<std::string> georeport_problems(const std::string& kind, const std::string& body) {
  std::vector<std::string> out;
  const json j = json::parse(body, nullptr, false);
  if (j.is_discarded()) return {"$: not JSON"};
  const std::vector<Field> service = {{"service_code", Type::kString, true},
                                      {"service_name", Type::kString, true},
                                      {"description", Type::kString},
                                      {"metadata", Type::kBool, true},
                                      {"type", Type::kString, true, {"realtime", "batch", "blackbox"}},
                                      {"keywords", Type::kString},
                                      {"group", Type::kString}};
  const std::vector<Field> request = {{"service_request_id", Type::kString, true},
                                      {"status", Type::kString, true, {"open", "closed"}},
                                      {"status_notes", Type::kString},
                                      {"service_name", Type::kString},
                                      {"service_code", Type::kString, true},
                                      {"description", Type::kString},
                                      {"agency_responsible", Type::kString},
                                      {"service_notice", Type::kString},
                                      {"requested_datetime", Type::kDateTime, true},
                                      {"updated_datetime", Type::kDateTime},
                                      {"expected_datetime", Type::kDateTime},
                                      {"address", Type::kString},
                                      {"address_id", Type::kString},
                                      {"zipcode", Type::kString},
                                      {"lat", Type::kNumber},
                                      {"long", Type::kNumber},
                                      {"media_url", Type::kString}};
  if (kind == "service-definition") {
    check_object(j, "$", {{"service_code", Type::kString, true}, {"attributes", Type::kArray, true}}, out);
    if (!j.is_object() || !j.contains("attributes") || !j["attributes"].is_array()) return out;
    for (size_t i = 0; i < j["attributes"].size(); ++i) {
      const json& a = j["attributes"][i];
      const std::string at = fmt::format("$.attributes[{}]", i);
      check_object(a, at,
                   {{"variable", Type::kBool, true},
                    {"code", Type::kString, true},
                    {"datatype", Type::kString, true,
                     {"string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"}},
                    {"required", Type::kBool, true},
                    {"datatype_description", Type::kString},
                    {"order", Type::kInteger},
                    {"description", Type::kString},
                    {"values", Type::kArray}},
                   out);
      const bool list = a.is_object() && a.value("datatype", "").ends_with("valuelist");
      if (list && (!a.contains("values") || !a["values"].is_array() || a["values"].empty()))
        out.push_back(at + ".values: a list attribute without values");
      if (a.is_object() && a.contains("values") && a["values"].is_array())
        for (size_t k = 0; k < a["values"].size(); ++k)
          check_object(a["values"][k], fmt::format("{}.values[{}]", at, k),
                       {{"key", Type::kString, true}, {"name", Type::kString, true}}, out);
    }
    return out;
  }
  // The others are arrays.
  if (!j.is_array()) return {"$: not an array"};
  if (kind == "request" && j.size() != 1) out.push_back(fmt::format("$: {} elements, not one", j.size()));
  for (size_t i = 0; i < j.size(); ++i) {
    const std::string at = fmt::format("$[{}]", i);
    if (kind == "services") {
      check_object(j[i], at, service, out);
    } else if (kind == "requests" || kind == "request") {
      check_object(j[i], at, request, out);
      if (j[i].is_object() && j[i].contains("description") && j[i]["description"].is_string() &&
          utf8_length(j[i]["description"].get<std::string>()) > 4000)
        out.push_back(at + ".description: longer than 4000 characters");
    } else if (kind == "post-response") {
      check_object(j[i], at,
                   {{"service_request_id", Type::kString}, {"token", Type::kString}, {"service_notice", Type::kString},
                    {"account_id", Type::kString}},
                   out);
      if (j[i].is_object() && !j[i].contains("service_request_id") && !j[i].contains("token"))
        out.push_back(at + ": neither service_request_id nor token");
    } else if (kind == "tokens") {
      check_object(j[i], at, {{"service_request_id", Type::kString, true}, {"token", Type::kString, true}}, out);
    } else {
      out.push_back("no such kind: " + kind);
    }
  }
  return out;
}

// ---- the answers every check walks through ----------------------------------------------------

// Checks one answer of a kind; a fatal failure in it ends the walk.
using AnswerCheck = std::function<void(const std::string& kind, const std::string& body)>;

class Open311Answers : public Open311 {
 protected:
  // services.json, and each service's definition.
  void walk_services(const AnswerCheck& check) {
    auto r = http_get(port_, "/open311/v2/services.json");
    ASSERT_EQ(r.status, 200);
    check("services", r.body);
    if (HasFatalFailure()) return;
    const json list = json::parse(r.body);
    ASSERT_EQ(list.size(), Catalog::builtin().all().size());
    EXPECT_EQ(list[0]["service_code"], Catalog::builtin().all()[0].code);
    EXPECT_EQ(list[0]["service_name"], Catalog::builtin().all()[0].name.en);
    for (const json& s : list) {
      ASSERT_TRUE(s["metadata"].get<bool>());
      auto d = http_get(port_, fmt::format("/open311/v2/services/{}.json", s["service_code"].get<std::string>()));
      ASSERT_EQ(d.status, 200) << s["service_code"];
      check("service-definition", d.body);
      if (HasFatalFailure()) return;
    }
    // Chinese names on request; no extension means JSON.
    auto zh = json::parse(http_get(port_, "/open311/v2/services?locale=zh").body);
    EXPECT_EQ(zh[0]["service_name"], Catalog::builtin().all()[0].name.zh);
    EXPECT_EQ(http_get(port_, "/open311/v2/services.json?locale=fr").status, 400);
  }

  // A ticket posted, stored with the caller's details, and every answer about it: the receipt,
  // its token, the request in JSON and XML, the lists with their filters and paging.
  void walk_posted_request(const AnswerCheck& check) {
    const std::string text = "垃圾桶满了 — bin full at the north gate " + tag_;
    json receipt = ticket("sanitation.bin_overflow", spot(), text,
                          {{"email", "resident@example.org"}, {"attribute[severity]", "high"},
                           {"attribute[building]", "DC-0107-12"}});
    check("post-response", json::array({receipt}).dump());
    if (HasFatalFailure()) return;
    ASSERT_TRUE(receipt["service_request_id"].is_string());
    const std::string id = receipt["service_request_id"];
    const std::string token = receipt["token"];
    EXPECT_NE(receipt["service_notice"].get<std::string>().find("环卫中心"), std::string::npos) << receipt;

    auto t = http_get(port_, fmt::format("/open311/v2/tokens/{}.json", token));
    ASSERT_EQ(t.status, 200);
    check("tokens", t.body);
    if (HasFatalFailure()) return;
    EXPECT_EQ(json::parse(t.body)[0]["service_request_id"], id);
    EXPECT_EQ(http_get(port_, "/open311/v2/tokens/no-such-token.json").status, 404);

    auto one = http_get(port_, fmt::format("/open311/v2/requests/{}.json", id));
    ASSERT_EQ(one.status, 200);
    check("request", one.body);
    if (HasFatalFailure()) return;
    const json r = json::parse(one.body)[0];
    EXPECT_EQ(r["service_request_id"], id);
    EXPECT_EQ(r["status"], "open");
    EXPECT_EQ(r["description"], text);
    EXPECT_EQ(r["service_code"], "sanitation.bin_overflow");
    EXPECT_NEAR(r["lat"].get<double>(), spot().lat, 1e-7);
    EXPECT_NEAR(r["long"].get<double>(), spot().lon, 1e-7);
    // The expected time is the category's resolve SLA (12 h) after the request.
    EXPECT_EQ(*parse_rfc3339(r["expected_datetime"].get<std::string>()) -
                  *parse_rfc3339(r["requested_datetime"].get<std::string>()),
              std::chrono::hours{12});
    // The swagger file's singular path answers the same; XML carries the same content.
    EXPECT_EQ(http_get(port_, fmt::format("/open311/v2/request/{}.json", id)).body, one.body);
    auto xml = http_get(port_, fmt::format("/open311/v2/requests/{}.xml", id));
    ASSERT_EQ(xml.status, 200);
    EXPECT_NE(xml.body.find(fmt::format("<service_request_id>{}</service_request_id>", id)), std::string::npos) << xml.body;
    EXPECT_NE(xml.body.find(fmt::format("<description>{}</description>", text)), std::string::npos) << xml.body;
    EXPECT_NE(xml.body.find(fmt::format("<lat>{}</lat>", r["lat"].dump())), std::string::npos) << xml.body;
    // The caller's details are kept but never served.
    EXPECT_EQ(one.body.find("resident@example.org"), std::string::npos);
    EXPECT_EQ(count("SELECT count(*) FROM sources WHERE id = $1 AND contact->>'email' = 'resident@example.org' "
                    "AND attributes->>'severity' = 'high' AND attributes->>'building' = 'DC-0107-12'",
                    id),
              1);
    EXPECT_EQ(http_get(port_, "/open311/v2/requests/h19990101-999999.json").status, 404);

    // Lists: filters, default window, paging (newest first).
    const std::string a = ticket("environment.noise", east_of_spot(400), "a")["service_request_id"];
    const std::string b = ticket("environment.noise", east_of_spot(800), "b")["service_request_id"];
    auto list = http_get(port_, "/open311/v2/requests.json?service_code=sanitation.bin_overflow&status=open");
    ASSERT_EQ(list.status, 200);
    check("requests", list.body);
    if (HasFatalFailure()) return;
    bool found = false;
    const json listed = json::parse(list.body);
    for (const json& e : listed) {
      EXPECT_EQ(e["service_code"], "sanitation.bin_overflow");
      found |= e["service_request_id"] == id;
    }
    EXPECT_TRUE(found);
    auto page = http_get(port_, fmt::format("/open311/v2/requests.json?service_request_id={},{},{}&page_size=2&page=2", id, a, b));
    ASSERT_EQ(page.status, 200);
    ASSERT_EQ(json::parse(page.body).size(), 1u) << page.body;
    EXPECT_EQ(json::parse(page.body)[0]["service_request_id"], id);  // the oldest of three
    EXPECT_EQ(http_get(port_, "/open311/v2/requests.json?status=pending").status, 400);
    EXPECT_EQ(http_get(port_, "/open311/v2/requests.json?start_date=yesterday").status, 400);
    EXPECT_EQ(http_get(port_, "/open311/v2/requests.json?page_size=1001").status, 400);
    EXPECT_TRUE(json::parse(http_get(port_, "/open311/v2/requests.json?end_date=2000-01-01T00:00:00Z").body).empty());
  }
};

// The project's own check of an answer: no problem found.
void expect_georeport_shape(const std::string& kind, const std::string& body) {
  const auto problems = georeport_problems(kind, body);
  EXPECT_TRUE(problems.empty()) << kind << ":\n  " << fmt::format("{}", fmt::join(problems, "\n  ")) << "\n" << body;
}

TEST_F(Open311Answers, ServicesAndDefinitionsHaveTheFieldsGeoReportRequires) {
  walk_services(expect_georeport_shape);
  // The check finds what is missing or wrong.
  json broken = json::parse(http_get(port_, "/open311/v2/services.json").body);
  broken[0].erase("type");
  broken[1]["metadata"] = "yes";
  EXPECT_EQ(georeport_problems("services", broken.dump()),
            (std::vector<std::string>{"$[0].type: missing", "$[1].metadata: \"yes\" is not true or false"}));
  json def = json::parse(http_get(port_, "/open311/v2/services/sanitation.bin_overflow.json").body);
  ASSERT_FALSE(def["attributes"].empty());
  def["attributes"][0]["datatype"] = "colour";
  EXPECT_EQ(georeport_problems("service-definition", def.dump()),
            (std::vector<std::string>{
                "$.attributes[0].datatype: \"colour\" is not one of string, number, datetime, text, singlevaluelist, "
                "multivaluelist"}));
}

TEST_F(Open311Answers, PostedRequestIsStoredAndEveryAnswerHasTheFieldsGeoReportRequires) {
  walk_posted_request(expect_georeport_shape);
  // A request whose time is not a date-time, or whose status is another word, is caught.
  json r = json::parse(http_get(port_, "/open311/v2/requests.json").body);
  ASSERT_FALSE(r.empty());
  r[0]["requested_datetime"] = "2026-11-23 08:00";
  r[0]["status"] = "pending";
  EXPECT_EQ(georeport_problems("requests", r.dump()),
            (std::vector<std::string>{"$[0].status: \"pending\" is not one of open, closed",
                                      "$[0].requested_datetime: \"2026-11-23 08:00\" is not an RFC 3339 date-time"}));
}

// ---- the official schemas and the outside validator --------------------------------------------

using Open311RealData = Open311Answers;

// validate.py SCHEMAS KIND on a body: exit status 0 when valid; its output in validate.log.
AnswerCheck official_validator(const std::string& validate_py, const std::string& schemas,
                               const std::filesystem::path& dir) {
  return [=](const std::string& kind, const std::string& body) {
    const auto file = dir / fmt::format("{}.json", kind);
    write_file(file, body);
    platform::SpawnOptions o;
    o.log_file = dir / "validate.log";
    const Status valid =
        platform::run_to_completion({"/usr/bin/python3", validate_py, schemas, kind, file.string()}, o,
                                    std::chrono::seconds{60});
    ASSERT_TRUE(valid.has_value()) << read_file(dir / "validate.log") << body;
  };
}

TEST_F(Open311RealData, ServicesAndDefinitionsValidateAgainstTheOfficialSchemas) {
  GW_NEED_DATA(services_schema, "open311/services.json");
  GW_NEED_DATA(service_schema, "open311/service.json");
  GW_NEED_DATA(definition_schema, "open311/service-definition.json");
  GW_NEED_TOOL(validate_py, "validate.py");
  const std::string schemas = std::filesystem::path(services_schema).parent_path().string();
  walk_services(official_validator(validate_py, schemas, dir_));
}

TEST_F(Open311RealData, PostedRequestIsStoredAndEveryAnswerValidates) {
  GW_NEED_DATA(swagger, "open311/swagger.json");  // post-response, tokens
  GW_NEED_DATA(request_schema, "open311/request.json");
  GW_NEED_DATA(requests_schema, "open311/requests.json");
  GW_NEED_DATA(services_schema, "open311/services.json");  // check_server.sh
  GW_NEED_DATA(definition_schema, "open311/service-definition.json");
  GW_NEED_TOOL(validate_py, "validate.py");
  const std::string schemas = std::filesystem::path(swagger).parent_path().string();
  GW_NEED_TOOL(check_server, "check_server.sh");
  walk_posted_request(official_validator(validate_py, schemas, dir_));
  if (HasFatalFailure()) return;
  // The outside checker on the server.
  platform::SpawnOptions o;
  o.log_file = dir_ / "check_server.log";
  auto checked = platform::run_to_completion(
      {"/bin/sh", check_server, fmt::format("http://127.0.0.1:{}/open311/v2/", port_), schemas}, o,
      std::chrono::seconds{120});
  EXPECT_TRUE(checked.has_value()) << read_file(dir_ / "check_server.log");
  EXPECT_EQ(read_file(dir_ / "check_server.log").find("INVALID"), std::string::npos) << read_file(dir_ / "check_server.log");
}

}  // namespace
}  // namespace gridwatch::testing
