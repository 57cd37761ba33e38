// Open311 GeoReport v2 on a running center: errors as the spec says them, tickets merged with
// edge orders into cases, the lifecycle and the residents' feedback. The answers' shape:
// open311_answers_test.cc.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <random>

#include <fmt/format.h>

#include "gridwatch/domain/catalog.h"
#include "gridwatch/domain/time.h"
#include "gridwatch/geo/distance.h"
#include "gridwatch/platform/mqtt.h"
#include "gridwatch/platform/process.h"
#include "open311_fixture.h"
#include "support.h"

namespace gridwatch::testing {
namespace {

using json = nlohmann::json;

TEST_F(Open311, XmlCarriesTheSameContentAndErrorsFollowTheSpec) {
  auto xml = http_get(port_, "/open311/v2/services.xml");
  ASSERT_EQ(xml.status, 200);
  write_file(dir_ / "services.xml", xml.body);
  // Well-formed, and one <service> with the same code per catalog entry.
  platform::SpawnOptions o;
  o.log_file = dir_ / "xml.log";
  const char* check = R"(import sys, xml.dom.minidom as m
d = m.parse(sys.argv[1])
codes = [e.firstChild.data for e in d.getElementsByTagName('service_code')]
sys.exit(0 if codes == sys.argv[2].split(',') else 1))";
  std::string codes;
  for (const Category& c : Catalog::builtin().all()) codes += (codes.empty() ? "" : ",") + c.code;
  EXPECT_TRUE(platform::run_to_completion({"/usr/bin/python3", "-c", check, (dir_ / "services.xml").string(), codes}, o,
                                          std::chrono::seconds{30})
                  .has_value())
      << read_file(dir_ / "xml.log") << xml.body;
  auto def = http_get(port_, "/open311/v2/services/sanitation.bin_overflow.xml");
  EXPECT_EQ(def.status, 200);
  EXPECT_NE(def.body.find("<service_code>sanitation.bin_overflow</service_code>"), std::string::npos) << def.body;
  EXPECT_NE(def.body.find("<key>high</key>"), std::string::npos) << def.body;
  // Unknown service: 404 in the spec's error format, in the asked format.
  auto missing = http_get(port_, "/open311/v2/services/no.such.json");
  EXPECT_EQ(missing.status, 404);
  const json err = json::parse(missing.body);
  ASSERT_TRUE(err.is_array());
  EXPECT_EQ(err[0]["code"], 404);
  EXPECT_NE(err[0]["description"].get<std::string>().find("no service \"no.such\""), std::string::npos);
  auto missing_xml = http_get(port_, "/open311/v2/services/no.such.xml");
  EXPECT_EQ(missing_xml.status, 404);
  EXPECT_NE(missing_xml.body.find("<errors><error><code>404</code>"), std::string::npos) << missing_xml.body;
}

// A request's service_name (and agency) is the service list's name in the same locale: English by
// default, Chinese with ?locale=zh, for the list of requests and for one request.
TEST_F(Open311, RequestsNameTheirServiceAsTheServiceListOfTheSameLocale) {
  const json receipt = ticket("sanitation.bin_overflow", east_of_spot(700), "bin full again");
  const std::string id = receipt.value("service_request_id", "");
  ASSERT_FALSE(id.empty());
  for (const std::string locale : {"en", "zh"}) {
    const json services = json::parse(http_get(port_, "/open311/v2/services.json?locale=" + locale).body);
    std::string listed;
    for (const json& s : services)
      if (s["service_code"] == "sanitation.bin_overflow") listed = s["service_name"];
    ASSERT_FALSE(listed.empty()) << locale;
    const json many = json::parse(
        http_get(port_, fmt::format("/open311/v2/requests.json?service_request_id={}&locale={}", id, locale)).body);
    const json one = json::parse(http_get(port_, fmt::format("/open311/v2/requests/{}.json?locale={}", id, locale)).body);
    ASSERT_EQ(many.size(), 1u) << many.dump();
    ASSERT_EQ(one.size(), 1u) << one.dump();
    EXPECT_EQ(many[0]["service_name"], listed) << locale;
    EXPECT_EQ(one[0]["service_name"], listed) << locale;
    EXPECT_EQ(one[0]["agency_responsible"], locale == "zh" ? "环卫中心" : "Sanitation service");
  }
  const json plain = json::parse(http_get(port_, fmt::format("/open311/v2/requests/{}.json", id)).body);
  EXPECT_EQ(plain[0]["service_name"], "Overflowing bin") << "English without a locale, as services.json";
  const auto bad = http_get(port_, "/open311/v2/requests.json?locale=fr");
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("locale must be en or zh"), std::string::npos) << bad.body;
}

TEST_F(Open311, BadRequestsGetTheSpecErrorAndNothingIsStored) {
  const std::string marker = "bad-" + tag_;
  const std::string lat = fmt::format("{:.6f}", spot().lat), lon = fmt::format("{:.6f}", spot().lon);
  struct Case {
    std::string name;
    std::string body;
    int status;
    std::string says;
  };
  auto form = [&](std::vector<std::pair<std::string, std::string>> f) {
    f.emplace_back("description", marker);
    return form_encode(f);
  };
  const std::vector<Case> cases = {
      {"unknown key", form({{"api_key", "not-a-key-at-all-000"}, {"service_code", "environment.noise"}, {"lat", lat}, {"long", lon}}),
       403, "unknown api_key"},
      {"no key", form({{"service_code", "environment.noise"}, {"lat", lat}, {"long", lon}}), 403, "api_key is required"},
      {"malformed form", form({{"api_key", kKey}, {"service_code", "environment.noise"}, {"long", lon}}) + "&lat=3%G9",
       400, "malformed form"},
      {"invalid UTF-8", form({{"api_key", kKey}, {"service_code", "environment.noise"}, {"lat", lat}, {"long", lon}}) +
                            "&address_string=%C3%28",
       400, "not valid UTF-8"},
      {"no service_code", form({{"api_key", kKey}, {"lat", lat}, {"long", lon}}), 400, "service_code is required"},
      {"unknown service", form({{"api_key", kKey}, {"service_code", "fire.dragon"}, {"lat", lat}, {"long", lon}}), 400,
       "\"fire.dragon\" is not a service"},
      {"SQL in service_code",
       form({{"api_key", kKey}, {"service_code", "x'); DROP TABLE sources; --"}, {"lat", lat}, {"long", lon}}), 400,
       "is not a service"},
      {"lat out of range", form({{"api_key", kKey}, {"service_code", "environment.noise"}, {"lat", "91.5"}, {"long", lon}}),
       400, "lat must be a number from -90 to 90"},
      {"lat not a number", form({{"api_key", kKey}, {"service_code", "environment.noise"}, {"lat", "north"}, {"long", lon}}),
       400, "lat must be a number"},
      {"long without lat", form({{"api_key", kKey}, {"service_code", "environment.noise"}, {"long", lon}}), 400,
       "lat is required with long"},
      {"no location", form({{"api_key", kKey}, {"service_code", "environment.noise"}}), 400, "a location is required"},
      {"unknown attribute",
       form({{"api_key", kKey}, {"service_code", "environment.noise"}, {"lat", lat}, {"long", lon}, {"attribute[colour]", "red"}}),
       400, "attribute[colour] is not an attribute"},
      {"bad severity",
       form({{"api_key", kKey}, {"service_code", "environment.noise"}, {"lat", lat}, {"long", lon}, {"attribute[severity]", "!!"}}),
       400, "attribute[severity] must be"},
      {"unknown field", form({{"api_key", kKey}, {"service_code", "environment.noise"}, {"lat", lat}, {"long", lon}, {"colour", "red"}}),
       400, "unknown field \"colour\""},
      {"twice", form({{"api_key", kKey}, {"service_code", "environment.noise"}, {"lat", lat}, {"lat", lat}, {"long", lon}}),
       400, "lat is given twice"},
      {"control character",
       form_encode({{"api_key", kKey}, {"service_code", "environment.noise"}, {"lat", lat}, {"long", lon},
                    {"description", marker + "\x01"}}),
       400, "holds a control character"},
      {"long attribute",
       form({{"api_key", kKey}, {"service_code", "environment.noise"}, {"lat", lat}, {"long", lon},
             {"attribute[building]", std::string(600, 'b')}}),
       400, "attribute[building] is longer than 500 characters"},
      {"5000 characters",
       form_encode({{"api_key", kKey}, {"service_code", "environment.noise"}, {"lat", lat}, {"long", lon},
                    {"description", marker + std::string(5000, 'x')}}),
       400, "description is longer than 4000 characters"},
  };
  for (const Case& c : cases) {
    auto r = http_post(port_, "/open311/v2/requests.json", c.body);
    EXPECT_EQ(r.status, c.status) << c.name << ": " << r.body;
    const json err = json::parse(r.body, nullptr, false);
    ASSERT_TRUE(err.is_array() && err.size() == 1) << c.name << ": " << r.body;
    EXPECT_EQ(err[0]["code"], c.status) << c.name;
    EXPECT_NE(err[0]["description"].get<std::string>().find(c.says), std::string::npos) << c.name << ": " << r.body;
  }
  // Not a form at all.
  auto js = http_post(port_, "/open311/v2/requests.json", R"({"service_code": "environment.noise"})", "application/json");
  EXPECT_EQ(js.status, 400);
  // XML errors for XML requests.
  auto x = http_post(port_, "/open311/v2/requests.xml", form({{"api_key", kKey}, {"lat", lat}, {"long", lon}}));
  EXPECT_EQ(x.status, 400);
  EXPECT_NE(x.body.find("<errors><error><code>400</code><description>service_code is required"), std::string::npos) << x.body;

  // Nothing half-stored: no source carries the marker; every refused form is kept, without its key.
  EXPECT_EQ(count("SELECT count(*) FROM sources WHERE description LIKE $1 || '%'", marker), 0);
  EXPECT_EQ(count("SELECT count(*) FROM dead_letters WHERE source = 'open311' AND position($1::bytea in payload) > 0",
                  marker),
            static_cast<int>(cases.size()) + 1);  // and the XML one
  EXPECT_EQ(count("SELECT count(*) FROM dead_letters WHERE source = 'open311' AND position($1::bytea in payload) > 0 "
                  "AND position('api_key'::bytea in payload) > 0",
                  marker),
            0);

  // SQL metacharacters and 4,000 Chinese characters (12,000 bytes) are text like any other.
  const std::string sqlish = "Robert'); DROP TABLE sources; -- \\ \" $1 %s " + tag_;
  json ok = ticket("environment.noise", spot(), sqlish);
  ASSERT_TRUE(ok.contains("service_request_id"));
  auto back = json::parse(http_get(port_, fmt::format("/open311/v2/requests/{}.json", ok["service_request_id"].get<std::string>())).body);
  EXPECT_EQ(back[0]["description"], sqlish);
  std::string chinese;
  for (int i = 0; i < 4000; ++i) chinese += "噪";
  json long_ok = ticket("environment.noise", east_of_spot(3000), chinese);
  EXPECT_TRUE(long_ok.contains("service_request_id")) << long_ok;
}

// A camera saw it first; then a resident called. Reports of one problem become one case.
TEST_F(Open311, TicketNearACameraOrderJoinsItsCaseAndTheCaseIsPreempted) {
  const Timestamp seen = now_utc() - std::chrono::minutes{10};
  const std::string edge = "cam-" + tag_ + ".bin";
  publish_order(camera_order(edge, "sanitation.bin_overflow", spot(), seen));
  ASSERT_TRUE(eventually([&] { return count("SELECT count(*) FROM sources WHERE id = $1", edge) == 1; }));

  json near = ticket("sanitation.bin_overflow", east_of_spot(30), "满了 full", {{"phone", "13800000001"}});
  EXPECT_NE(near["service_notice"].get<std::string>().find("joined case " + edge), std::string::npos) << near;
  json c = case_of(near["service_request_id"]);  // a source id finds its case
  EXPECT_EQ(c["id"], edge);
  const json& p = c["properties"];
  EXPECT_EQ(p["source_count"], 2);
  EXPECT_EQ(p["reports"], 2);
  EXPECT_TRUE(p["preempted"].get<bool>());
  EXPECT_TRUE(p["proactive"].get<bool>());
  EXPECT_EQ(p["priority"], "high");  // normal, one step up for a second independent report
  ASSERT_EQ(p["sources"].size(), 2u);
  EXPECT_EQ(p["sources"][0]["kind"], "camera");
  EXPECT_EQ(p["sources"][1]["kind"], "hotline");
  // The decision is explained: which case, how far, how old.
  const json& merged = p["history"][1];
  EXPECT_EQ(merged["action"], "merged");
  EXPECT_EQ(merged["detail"]["case_id"], edge);
  EXPECT_NEAR(merged["detail"]["distance_m"].get<double>(), 30.0, 0.5);
  EXPECT_EQ(merged["detail"]["radius_m"], 50);
  EXPECT_GT(merged["detail"]["age_s"].get<double>(), 590);

  // The same caller again: a second source, but not a second independent report.
  json again = ticket("sanitation.bin_overflow", east_of_spot(20), "还是满 still full", {{"phone", "13800000001"}});
  c = case_of(edge);
  EXPECT_EQ(c["properties"]["source_count"], 3);
  EXPECT_EQ(c["properties"]["reports"], 2);

  // 300 m away, or another category: cases of their own.
  json far = ticket("sanitation.bin_overflow", east_of_spot(300), "far");
  EXPECT_EQ(case_of(far["service_request_id"])["id"], far["service_request_id"]);
  json other = ticket("environment.noise", east_of_spot(30), "noisy");
  json oc = case_of(other["service_request_id"]);
  EXPECT_EQ(oc["id"], other["service_request_id"]);
  EXPECT_FALSE(oc["properties"]["preempted"].get<bool>());
  EXPECT_FALSE(oc["properties"]["proactive"].get<bool>());

  // The same edge order delivered again changes nothing.
  const std::string before = http_get(port_, "/api/v1/orders/" + edge).body;
  publish_order(camera_order(edge, "sanitation.bin_overflow", spot(), seen));
  publish_order(camera_order(edge + ".marker", "general.other", east_of_spot(5000), seen));
  ASSERT_TRUE(eventually([&] { return count("SELECT count(*) FROM sources WHERE id = $1", edge + ".marker") == 1; }));
  EXPECT_EQ(http_get(port_, "/api/v1/orders/" + edge).body, before);
  EXPECT_EQ(count("SELECT count(*) FROM order_events WHERE order_id = $1", edge), 1);

  // An agent cannot clear or rewrite a resident's ticket by using its id.
  json forged = camera_order(far["service_request_id"], "sanitation.bin_overflow", east_of_spot(300), seen);
  forged["event"] = "clear";
  publish_order(forged);
  ASSERT_TRUE(eventually([&] {
    return count("SELECT count(*) FROM dead_letters WHERE reason LIKE '%' || $1 || '\" belongs to another source%'",
                 far["service_request_id"].get<std::string>()) == 1;
  }));
  EXPECT_EQ(case_of(far["service_request_id"])["properties"]["status"], "open");

  // A dispatcher splits the wrong merge; both cases say so in their history.
  const std::string moved = near["service_request_id"];
  auto split = http_post(port_, fmt::format("/api/v1/orders/{}/split", edge),
                         json({{"sources", {moved, again["service_request_id"]}}, {"reason", "two different bins"}}).dump(),
                         "application/json");
  ASSERT_EQ(split.status, 200) << split.body;
  const std::string new_case = json::parse(split.body)["new_case_id"];
  EXPECT_EQ(new_case, moved);
  c = case_of(edge);
  EXPECT_EQ(c["properties"]["source_count"], 1);
  EXPECT_FALSE(c["properties"]["preempted"].get<bool>());
  EXPECT_EQ(c["properties"]["priority"], "normal");
  EXPECT_EQ(c["properties"]["history"].back()["action"], "split");
  json n = case_of(new_case);
  EXPECT_EQ(n["properties"]["source_count"], 2);
  EXPECT_EQ(n["properties"]["history"].back()["action"], "split_from");
  EXPECT_EQ(n["properties"]["history"].back()["detail"]["reason"], "two different bins");
  // Refused splits name the problem.
  auto all = http_post(port_, fmt::format("/api/v1/orders/{}/split", edge),
                       json({{"sources", {edge}}, {"reason", "x"}}).dump(), "application/json");
  EXPECT_EQ(all.status, 400);
  EXPECT_NE(all.body.find("at least one source"), std::string::npos) << all.body;
  auto stranger = http_post(port_, fmt::format("/api/v1/orders/{}/split", edge),
                            json({{"sources", {far["service_request_id"]}}, {"reason", "x"}}).dump(), "application/json");
  EXPECT_EQ(stranger.status, 400);
  EXPECT_NE(stranger.body.find("not every source named is in case"), std::string::npos) << stranger.body;
  EXPECT_EQ(http_post(port_, "/api/v1/orders/no-such-case/split", json({{"sources", {"a"}}, {"reason", "x"}}).dump(),
                      "application/json")
                .status,
            404);
}

// Edge events out of order, and a sensor's clear in a case a resident also reported.
TEST_F(Open311, UpdateBeforeOpenIsOneCaseAndAClearDoesNotCloseATicket) {
  const Timestamp seen = now_utc() - std::chrono::minutes{3};
  const std::string edge = "sensor-" + tag_ + ".flood";
  json open = camera_order(edge, "water.waterlogging", spot(), seen);
  open["source"]["kind"] = "sensor";
  json update = open;
  update["event"] = "update";
  update["priority"] = "urgent";
  update["observed_at"] = format_rfc3339(seen + std::chrono::minutes{6});
  publish_order(update);  // overtakes its open
  ASSERT_TRUE(eventually([&] { return count("SELECT count(*) FROM sources WHERE id = $1", edge) == 1; }));
  publish_order(open);
  ASSERT_TRUE(eventually([&] { return count("SELECT count(*) FROM order_events WHERE order_id = $1", edge) == 2; }));
  json c = case_of(edge);
  EXPECT_EQ(c["properties"]["source_count"], 1);
  EXPECT_EQ(c["properties"]["priority"], "urgent");  // the later event's, whatever the order of arrival

  json t = ticket("water.waterlogging", east_of_spot(120), "路面积水 water on the road");
  EXPECT_EQ(case_of(t["service_request_id"])["id"], edge);
  json clear = open;
  clear["event"] = "clear";
  clear["observed_at"] = format_rfc3339(seen + std::chrono::minutes{9});
  publish_order(clear);
  ASSERT_TRUE(eventually([&] { return count("SELECT count(*) FROM order_events WHERE order_id = $1", edge) == 3; }));
  c = case_of(edge);
  EXPECT_EQ(c["properties"]["status"], "open") << "the resident's ticket is not answered by the sensor";
  EXPECT_EQ(c["properties"]["sources"][0]["status"], "cleared");
  const json& history = c["properties"]["history"];
  ASSERT_GE(history.size(), 2u);
  EXPECT_EQ(history[history.size() - 2]["action"], "cleared");
  // The sensor saw the water gone: the case is verified by it, still open for the resident.
  EXPECT_EQ(history.back()["action"], "verified");
  EXPECT_EQ(c["properties"]["verified_by_sensor"]["source_id"], edge);
  // Without a ticket, the sensor's clear clears its case.
  const std::string alone = "sensor-" + tag_ + ".alone";
  json o2 = camera_order(alone, "water.waterlogging", east_of_spot(5000), seen);
  publish_order(o2);
  o2["event"] = "clear";
  o2["observed_at"] = format_rfc3339(seen + std::chrono::minutes{7});
  publish_order(o2);
  ASSERT_TRUE(eventually([&] { return count("SELECT count(*) FROM order_events WHERE order_id = $1", alone) == 2; }));
  EXPECT_EQ(case_of(alone)["properties"]["status"], "cleared");
}

// The work on a case: each step through the API, kept in the history and published for the
// agents and the wall map; steps the lifecycle does not allow are refused naming the state.
TEST_F(Open311, CaseMovesThroughItsLifecycleAndRefusedStepsNameTheState) {
  std::mutex mu;
  std::vector<json> published;
  auto sub = platform::MqttClient::create(mqtt_options(svc_, "t-life-" + tag_));
  ASSERT_TRUE(sub.has_value());
  (*sub)->on_message([&](platform::MqttMessage m) {
    std::lock_guard lock(mu);
    published.push_back(json::parse(m.payload, nullptr, false));
  });
  ASSERT_TRUE((*sub)->subscribe(prefix_ + "/center/orders/#", 1).has_value());
  ASSERT_TRUE((*sub)->connect(std::chrono::seconds{10}).has_value());

  const std::string id = ticket("utilities.heating", spot(), "暖气不热 radiator cold")["service_request_id"];
  EXPECT_EQ(case_of(id)["properties"]["state"], "new");
  auto act = [&](const std::string& action, const std::string& reason = "") {
    return http_request(port_, "POST", fmt::format("/api/v1/orders/{}/actions", id),
                        json({{"action", action}, {"reason", reason}}).dump(), kDispatcherToken);
  };
  // This center has no areas: a case in no street area waits for the dispatcher to name a unit.
  auto queued = act("dispatch");
  EXPECT_EQ(queued.status, 409);
  EXPECT_NE(queued.body.find("is in no street area (dispatcher queue): name the unit"), std::string::npos) << queued.body;
  auto to_unit = [&](const std::string& action, const std::string& reason) {
    return http_request(port_, "POST", fmt::format("/api/v1/orders/{}/actions", id),
                        json({{"action", action}, {"reason", reason}, {"unit", "street-ab"}}).dump(), kDispatcherToken);
  };
  for (const char* step : {"dispatch", "reject", "dispatch", "accept", "start", "resolve", "reopen", "dispatch",
                           "accept", "resolve", "close"}) {
    auto r = std::string_view(step) == "dispatch" ? to_unit(step, std::string("step ") + step)
                                                  : act(step, std::string("step ") + step);
    ASSERT_EQ(r.status, 200) << step << ": " << r.body;
  }
  const json c = case_of(id);
  EXPECT_EQ(c["properties"]["state"], "closed");
  // Dispatched to the unit and the category's department, on the category's clock (2 h / 24 h).
  EXPECT_EQ(c["properties"]["unit_code"], "street-ab");
  EXPECT_EQ(c["properties"]["department"], "heating");
  const auto dispatched = *parse_rfc3339(c["properties"]["dispatched_at"].get<std::string>());
  EXPECT_EQ(*parse_rfc3339(c["properties"]["respond_due"].get<std::string>()) - dispatched, std::chrono::hours{2});
  EXPECT_EQ(*parse_rfc3339(c["properties"]["resolve_due"].get<std::string>()) - dispatched, std::chrono::hours{24});
  EXPECT_FALSE(c["properties"]["responded_at"].is_null());
  EXPECT_FALSE(c["properties"]["resolved_at"].is_null());
  // Every step in the history: who, what, from which state to which, why.
  std::vector<std::string> steps;
  for (const json& h : c["properties"]["history"])
    if (h["actor"] == "dispatcher-7") steps.push_back(h["action"]);
  EXPECT_EQ(steps, (std::vector<std::string>{"dispatch", "reject", "dispatch", "accept", "start", "resolve", "reopen",
                                             "dispatch", "accept", "resolve", "close"}));
  const json& last = c["properties"]["history"].back();
  EXPECT_EQ(last["detail"]["from"], "resolved");
  EXPECT_EQ(last["detail"]["to"], "closed");
  EXPECT_EQ(last["detail"]["reason"], "step close");

  // Refused: the current state is named, with what the action needs; nothing changes.
  auto refused = act("accept");
  EXPECT_EQ(refused.status, 409);
  EXPECT_NE(refused.body.find("cannot accept a case that is closed (accept needs: dispatched)"), std::string::npos)
      << refused.body;
  EXPECT_EQ(case_of(id)["properties"]["state"], "closed");
  EXPECT_EQ(act("approve").status, 400);
  EXPECT_EQ(http_post(port_, "/api/v1/orders/no-such-case/actions", R"({"action":"dispatch"})", "application/json").status,
            404);
  EXPECT_EQ(http_post(port_, fmt::format("/api/v1/orders/{}/actions", id), R"({"action":"close","colour":1})",
                      "application/json")
                .status,
            400);

  // Published, in order, on {prefix}/center/orders/{id}.
  ASSERT_TRUE(eventually([&] {
    std::lock_guard lock(mu);
    return published.size() >= 11;
  }));
  std::lock_guard lock(mu);
  EXPECT_EQ(published.front()["state"], "dispatched");
  EXPECT_EQ(published.back()["state"], "closed");
  EXPECT_EQ(published.back()["state_zh"], "已结案");
  EXPECT_EQ(published.back()["case_id"], id);
}

// The resident's evaluation: not satisfied re-opens the case for another dispatch (再派件);
// satisfied closes it. An urgent case answers within 2 h and is done within 24 h.
TEST_F(Open311, FeedbackClosesOrReopensAndUrgentCasesRunOnAShorterClock) {
  // Four callers about one smell: normal, two steps up = urgent.
  std::string id, resident, other_resident;
  for (int i = 0; i < 4; ++i) {
    json t = ticket("environment.odor", east_of_spot(10.0 * i), "刺鼻气味 acrid smell",
                    {{"phone", fmt::format("1390000{:04}", i)}});
    if (i == 0) id = t["service_request_id"];
    if (i == 0) resident = t["token"];
  }
  other_resident = ticket("general.other", east_of_spot(5000), "别的事 something else")["token"];
  ASSERT_FALSE(resident.empty());
  json c = case_of(id);
  ASSERT_EQ(c["properties"]["reports"], 4);
  ASSERT_EQ(c["properties"]["priority"], "urgent");
  auto act = [&](const std::string& action) {
    return http_post(port_, fmt::format("/api/v1/orders/{}/actions", id),
                     json({{"action", action}, {"unit", "street-cd"}}).dump(), "application/json");
  };
  ASSERT_EQ(act("dispatch").status, 200);
  c = case_of(id);
  const auto dispatched = *parse_rfc3339(c["properties"]["dispatched_at"].get<std::string>());
  EXPECT_EQ(*parse_rfc3339(c["properties"]["respond_due"].get<std::string>()) - dispatched, std::chrono::hours{2});
  // environment.odor resolves within 72 h; urgent: 24 h.
  EXPECT_EQ(*parse_rfc3339(c["properties"]["resolve_due"].get<std::string>()) - dispatched, std::chrono::hours{24});

  // The resident answers with the token of the ticket; no API token needed.
  auto feedback_with = [&](bool satisfied, const std::string& token) {
    return http_request(port_, "POST", fmt::format("/api/v1/orders/{}/feedback", id),
                        json({{"satisfied", satisfied}, {"comment", satisfied ? "好了 fine now" : "还有味 still smells"},
                              {"token", token}})
                            .dump(),
                        "");
  };
  auto feedback = [&](bool satisfied) { return feedback_with(satisfied, resident); };
  // Another case's ticket token, or no token at all, is refused.
  auto stranger = feedback_with(false, other_resident);
  EXPECT_EQ(stranger.status, 403);
  EXPECT_NE(stranger.body.find("the token is not that of a ticket of case"), std::string::npos) << stranger.body;
  auto anonymous = http_request(port_, "POST", fmt::format("/api/v1/orders/{}/feedback", id), R"({"satisfied":true})", "");
  EXPECT_EQ(anonymous.status, 401) << anonymous.body;
  auto early = feedback(true);  // not resolved yet
  EXPECT_EQ(early.status, 409);
  EXPECT_NE(early.body.find("cannot close a case that is dispatched"), std::string::npos) << early.body;
  ASSERT_EQ(act("accept").status, 200);
  ASSERT_EQ(act("resolve").status, 200);
  auto unhappy = feedback(false);
  ASSERT_EQ(unhappy.status, 200) << unhappy.body;
  EXPECT_EQ(json::parse(unhappy.body)["state"], "reopened");
  EXPECT_EQ(case_of(id)["properties"]["satisfaction"], "unsatisfied");
  ASSERT_EQ(act("dispatch").status, 200);
  ASSERT_EQ(act("accept").status, 200);
  ASSERT_EQ(act("resolve").status, 200);
  auto happy = feedback(true);
  ASSERT_EQ(happy.status, 200) << happy.body;
  c = case_of(id);
  EXPECT_EQ(c["properties"]["state"], "closed");
  EXPECT_EQ(c["properties"]["satisfaction"], "satisfied");
  EXPECT_EQ(c["properties"]["history"].back()["actor"], "resident");
  EXPECT_EQ(c["properties"]["history"].back()["detail"]["reason"], "好了 fine now");
  EXPECT_EQ(http_post(port_, fmt::format("/api/v1/orders/{}/feedback", id), R"({"satisfied":"yes"})", "application/json")
                .status,
            400);
  // Open311 says closed once the work is closed.
  auto r = json::parse(http_get(port_, fmt::format("/open311/v2/requests/{}.json", id)).body);
  EXPECT_EQ(r[0]["status"], "closed");
  EXPECT_NE(r[0]["status_notes"].get<std::string>().find("已结案 / closed"), std::string::npos) << r[0];
}

// A car in a fire lane: the camera calls it a blocked fire lane, a resident calls it illegal
// parking. The catalog says the two merge (merge.with); the case takes the more urgent category.
TEST_F(Open311, CompatibleCategoriesMergeAndTheMoreUrgentOneLeads) {
  const std::string edge = "cam-" + tag_ + ".lane";
  publish_order(camera_order(edge, "fire.blocked_lane", spot(), now_utc() - std::chrono::minutes{2}));
  ASSERT_TRUE(eventually([&] { return count("SELECT count(*) FROM sources WHERE id = $1", edge) == 1; }));
  json t = ticket("traffic.illegal_parking", east_of_spot(10), "车停在消防通道 car in the fire lane");
  json c = case_of(t["service_request_id"]);
  EXPECT_EQ(c["id"], edge);
  EXPECT_EQ(c["properties"]["category"], "fire.blocked_lane");
  EXPECT_EQ(c["properties"]["priority"], "urgent");
  // Outside the smaller of the two radii (30 m), no merge.
  json far = ticket("traffic.illegal_parking", east_of_spot(45), "another car");
  EXPECT_EQ(case_of(far["service_request_id"])["id"], far["service_request_id"]);
}

}  // namespace
}  // namespace gridwatch::testing
