// Dispatch, access, 吹哨报到, sensor verification and the three rates on the dispatch fixture's
// center (dispatch_fixture.h).
#include <httplib.h>

#include <opencv2/imgcodecs.hpp>

#include "dispatch_fixture.h"

namespace gridwatch::testing {
namespace {

TEST_F(Dispatch, AStepSentAgainWithItsRequestIdIsAnsweredOnceAndCarriesItsPhoto) {
  const std::string id = ticket("utilities.manhole_cover", at(0, 0.0009, 0.0013), "cover gone");
  ok(act(id, "dispatch"));
  auto accept = [&](const std::string& action, const std::string& rid, const std::string& photo = "") {
    json body = {{"action", action}, {"reason", "on my way"}, {"request_id", rid}};
    if (!photo.empty()) body["photo_url"] = photo;
    return http_request(port_, "POST", fmt::format("/api/v1/orders/{}/actions", id), body.dump(), kWorker1);
  };
  const std::string rid = fmt::format("{}-phone-1", tag_);
  auto first = accept("accept", rid);
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_FALSE(json::parse(first.body).contains("replayed"));
  // The phone lost the answer and sends the same step again: the first result, nothing changed.
  auto again = accept("accept", rid);
  ASSERT_EQ(again.status, 200) << again.body;
  const json a1 = json::parse(first.body), a2 = json::parse(again.body);
  EXPECT_EQ(a2["replayed"], true);
  EXPECT_EQ(a2["state"], "accepted");
  EXPECT_EQ(a2["from"], "dispatched");
  EXPECT_EQ(a2["at"], a1["at"]);
  int accepts = 0;
  for (const json& h : steps_of(case_of(id))) accepts += h["action"] == "accept";
  EXPECT_EQ(accepts, 1);
  // The same id for another step is a client's bug: refused, naming what it was used for.
  auto other = accept("start", rid);
  EXPECT_EQ(other.status, 409) << other.body;
  EXPECT_NE(other.body.find("already used for accept"), std::string::npos) << other.body;
  EXPECT_EQ(accept("start", "not a plain id!").status, 400);
  EXPECT_EQ(accept("start", "x", "ftp://elsewhere/p.jpg").status, 400);

  // A photo of the work: uploaded, then named by the step.
  std::vector<uchar> jpeg;
  cv::imencode(".jpg", cv::Mat(48, 64, CV_8UC3, cv::Scalar(40, 120, 200)), jpeg);
  const std::string bytes(jpeg.begin(), jpeg.end());
  httplib::Client cli("127.0.0.1", port_);
  auto up = cli.Post("/api/v1/media", {{"Authorization", std::string("Bearer ") + kWorker1}}, bytes, "image/jpeg");
  ASSERT_TRUE(up);
  ASSERT_EQ(up->status, 201) << up->body;
  const std::string url = json::parse(up->body)["url"];
  EXPECT_TRUE(url.starts_with("/media/") && url.ends_with(".jpg")) << url;
  auto bad = cli.Post("/api/v1/media", {{"Authorization", std::string("Bearer ") + kWorker1}}, "GIF89a...", "image/jpeg");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  EXPECT_NE(bad->body.find("JPEG or PNG"), std::string::npos) << bad->body;
  auto anon = cli.Post("/api/v1/media", bytes, "image/jpeg");
  ASSERT_TRUE(anon);
  EXPECT_EQ(anon->status, 401);
  ok(accept("start", rid + "-s"));
  ok(accept("resolve", rid + "-r", url));
  json resolve;
  for (const json& h : steps_of(case_of(id)))
    if (h["action"] == "resolve") resolve = h;
  EXPECT_EQ(resolve["detail"]["photo_url"], url);
  EXPECT_EQ(resolve["actor"], worker(1));
  auto got = cli.Get(url);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->status, 200);
  EXPECT_EQ(got->get_header_value("Content-Type"), "image/jpeg");
  EXPECT_EQ(got->body, bytes);
  EXPECT_EQ(cli.Get("/media/0123456789abcdef0123456789abcdef.jpg")->status, 404);
  // A resident's photo goes up with the Open311 key.
  EXPECT_EQ(cli.Post("/open311/v2/media.json?api_key=wrong", bytes, "image/jpeg")->status, 403);
  auto resident = cli.Post(fmt::format("/open311/v2/media.json?api_key={}", kKey), bytes, "image/jpeg");
  ASSERT_TRUE(resident);
  EXPECT_EQ(resident->status, 201) << resident->body;
}

TEST_F(Dispatch, ADispatcherMergesACaseIntoAnotherAndTheMapDropsIt) {
  // One burst pipe reported by two callers 300 m apart (beyond the merge radius): two cases.
  const std::string a = ticket("water.waterlogging", at(1, 0.0005, 0.0005), "water on the road");
  const std::string b = ticket("water.waterlogging", at(1, 0.0040, 0.0005), "water pouring from a pipe");
  ASSERT_NE(case_of(a)["id"], case_of(b)["id"]);
  auto merge = [&](const std::string& from, const json& body, const char* token = kDispatcher) {
    return http_request(port_, "POST", fmt::format("/api/v1/orders/{}/merge", from), body.dump(), token);
  };
  auto r = merge(b, {{"into", a}, {"reason", "same burst pipe"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["sources_moved"], 1);
  const json into = case_of(a), gone = case_of(b);
  EXPECT_EQ(into["properties"]["source_count"], 2);
  EXPECT_EQ(into["properties"]["reports"], 2);
  EXPECT_EQ(gone["properties"]["state"], "duplicate");
  EXPECT_TRUE(gone["properties"]["sources"].empty());
  bool noted = false;
  for (const json& h : steps_of(gone)) noted |= h["action"] == "merged_into" && h["detail"]["into"] == a;
  EXPECT_TRUE(noted) << gone.dump();
  // The map asks for open work: the duplicate is gone from it.
  auto map = http_get(port_, fmt::format("/api/v1/orders?status=open&state=new,dispatched&fields=map&bbox={:.6f},{:.6f},{:.6f},{:.6f}",
                                         lon0_ + 0.005, kLat0, lon0_ + 0.01, kLat0 + 0.005));
  ASSERT_EQ(map.status, 200) << map.body;
  EXPECT_NE(map.body.find(a), std::string::npos);
  EXPECT_EQ(map.body.find("\"id\":\"" + b + "\""), std::string::npos) << map.body;
  // Refused: into itself, into the duplicate, from an unknown case, by a worker, an unknown state.
  r = merge(a, {{"into", a}, {"reason", "x"}});
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("cannot be merged into itself"), std::string::npos) << r.body;
  r = merge(a, {{"into", b}, {"reason", "x"}});
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("is duplicate: merge into an open case"), std::string::npos) << r.body;
  EXPECT_EQ(merge("no-such-case-" + tag_, {{"into", a}, {"reason", "x"}}).status, 404);
  EXPECT_EQ(merge(a, {{"into", b}}).status, 400);
  EXPECT_EQ(merge(a, {{"into", b}, {"reason", "x"}}, kWorker1).status, 403);
  EXPECT_EQ(http_get(port_, "/api/v1/orders?state=lost").status, 400);
}

TEST_F(Dispatch, ThePagesTheirSettingsTheBuildingsAndWhoATokenIs) {
  httplib::Client cli("127.0.0.1", port_);
  auto page = cli.Get("/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_NE(page->body.find("center page"), std::string::npos);
  EXPECT_EQ(page->get_header_value("Cache-Control"), "no-cache");
  EXPECT_NE(cli.Get("/worker")->body.find("worker page"), std::string::npos);
  auto missing = cli.Get("/report");  // not in this build
  EXPECT_EQ(missing->status, 404);
  EXPECT_NE(missing->body.find("report.html is not built"), std::string::npos) << missing->body;
  auto asset = cli.Get("/assets/app-1a2b.js");
  EXPECT_EQ(asset->status, 200);
  EXPECT_NE(asset->get_header_value("Cache-Control").find("immutable"), std::string::npos);
  // Browsers offer Brotli; the center answers with gzip (Debian's httplib would use Brotli's
  // slowest setting: seconds for the map's script).
  auto zipped = cli.Get("/web/config.json", {{"Accept-Encoding", "gzip, deflate, br, zstd"}});
  ASSERT_TRUE(zipped);
  EXPECT_EQ(zipped->get_header_value("Content-Encoding"), "gzip");
  const json config = json::parse(cli.Get("/web/config.json")->body);
  EXPECT_EQ(config["report_api_key"], kKey);
  EXPECT_EQ(config["levels"], json::array({"street", "grid"}));
  EXPECT_EQ(config["tiles"], nullptr);
  EXPECT_EQ(config["buildings"], 1);
  const json b = json::parse(cli.Get("/buildings/B-1")->body);
  EXPECT_EQ(b["name"], "一号楼");
  EXPECT_NEAR(b["lon"].get<double>(), at(0, 0.001, 0.001).lon, 1e-6);
  auto nob = cli.Get("/buildings/B-404");
  EXPECT_EQ(nob->status, 404);
  EXPECT_NE(nob->body.find(R"(no building \"B-404\" in the registry)"), std::string::npos) << nob->body;
  auto me = http_request(port_, "GET", "/api/v1/me", "", kWorker1);
  ASSERT_EQ(me.status, 200) << me.body;
  const json m = json::parse(me.body);
  EXPECT_EQ(m["name"], worker(1));
  EXPECT_EQ(m["role"], "worker");
  EXPECT_EQ(m["grid"], cell(0, 0, 0));
  EXPECT_EQ(m["may"]["actions"], json::array({"accept", "start", "resolve", "verify", "refuse"}));
  EXPECT_EQ(m["may"]["stats"], false);
  EXPECT_EQ(http_request(port_, "GET", "/api/v1/me", "", "").status, 401);
}

TEST_F(Dispatch, ToTheStreetOfficeTheDepartmentAndTheNearestWorkerOnDuty) {
  ok(position(worker(1), kWorker1, at(0, 0.0006, 0.0006)));
  ok(position(worker(2), kWorker2, at(0, 0.0001, 0.0001)));  // nearer, but of another grid
  const std::string id = ticket("water.waterlogging", at(0, 0.0005, 0.0005));
  auto r = act(id, "dispatch");
  ASSERT_EQ(r.status, 200) << r.body;
  const json step = json::parse(r.body);
  EXPECT_EQ(step["unit"], street(0));
  EXPECT_EQ(step["worker"], worker(1));
  json c = case_of(id);
  EXPECT_EQ(c["properties"]["areas"]["street"], street(0));
  EXPECT_EQ(c["properties"]["areas"]["grid"], cell(0, 0, 0));
  EXPECT_EQ(c["properties"]["unit_code"], street(0));
  EXPECT_EQ(c["properties"]["department"], "water_authority");
  EXPECT_EQ(c["properties"]["assignee"], worker(1));
  const json last = steps_of(c).back();
  EXPECT_EQ(last["actor"], "disp");
  EXPECT_EQ(last["detail"]["worker"], worker(1));
  EXPECT_NEAR(last["detail"]["worker_distance_m"].get<double>(), 14.1, 2.0);  // 0.0001° × √2 at 30° N

  // Off duty: the next case of that grid goes to the street office only.
  ok(position(worker(1), kWorker1, at(0, 0.0006, 0.0006), false));
  const std::string second = ticket("utilities.manhole_cover", at(0, 0.0015, 0.0015));
  r = act(second, "dispatch");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_FALSE(json::parse(r.body).contains("worker"));
  EXPECT_TRUE(case_of(second)["properties"]["assignee"].is_null());
  // Back on duty, but the phone sends no position and the last one is an hour old: not used.
  sql(svc_.pg_conninfo, "UPDATE workers SET located_at = now() - interval '1 hour' WHERE id = $1", {worker(1)});
  ok(http_request(port_, "PUT", fmt::format("/api/v1/workers/{}/position", worker(1)), R"({"on_duty": true})",
                  kWorker1));
  const std::string third = ticket("sanitation.dumped_waste", at(0, 0.0012, 0.0012));
  r = act(third, "dispatch");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_FALSE(json::parse(r.body).contains("worker")) << "an hour-old position is not where the worker is";

  // In no street: the dispatcher queue, and a dispatch must name the unit.
  const std::string nowhere = ticket("water.waterlogging", at(6, 0.001, 0.001));
  c = case_of(nowhere);
  EXPECT_EQ(c["properties"]["queue"], "dispatcher");
  r = act(nowhere, "dispatch");
  EXPECT_EQ(r.status, 409);
  EXPECT_NE(r.body.find("is in no street area (dispatcher queue): name the unit to dispatch to"), std::string::npos)
      << r.body;
  ok(act(nowhere, "dispatch", kDispatcher, "district-water-office"));
  EXPECT_EQ(case_of(nowhere)["properties"]["unit_code"], "district-water-office");

  // The dispatcher sees where the workers are.
  auto w = http_request(port_, "GET", "/api/v1/workers", "", kDispatcher);
  ASSERT_EQ(w.status, 200) << w.body;
  int mine = 0;
  const json workers = json::parse(w.body);
  for (const json& f : workers["features"])
    if (f["id"] == worker(1)) {
      ++mine;
      EXPECT_EQ(f["properties"]["grid"], cell(0, 0, 0));
      EXPECT_EQ(f["properties"]["on_duty"], true);
      EXPECT_EQ(f["properties"]["open_cases"], 1);
    }
  EXPECT_EQ(mine, 1);
}

TEST_F(Dispatch, AWorkerSeesAndChangesOnlyItsGridAndTokensAreChecked) {
  const std::string in_grid = ticket("sanitation.bin_overflow", at(0, 0.0008, 0.0009));
  const std::string other_grid = ticket("sanitation.bin_overflow", at(0, 0.0035, 0.0009));
  ASSERT_EQ(case_of(other_grid)["properties"]["areas"]["grid"], cell(0, 0, 1));
  ok(act(in_grid, "dispatch"));
  ok(act(other_grid, "dispatch"));

  // Listing: only cases of its grid.
  auto list = http_request(port_, "GET", "/api/v1/orders?limit=10000", "", kWorker1);
  ASSERT_EQ(list.status, 200) << list.body;
  bool saw = false;
  const json listed = json::parse(list.body);
  for (const json& f : listed["features"]) {
    EXPECT_EQ(f["properties"]["areas"]["grid"], cell(0, 0, 0)) << f["id"];
    if (f["id"] == in_grid) {
      saw = true;
      EXPECT_EQ(f["properties"]["allowed_actions"], json({"accept"})) << "the worker's steps, in the list too";
    }
  }
  EXPECT_TRUE(saw);
  // Another grid's case: neither read nor changed.
  auto read = http_request(port_, "GET", "/api/v1/orders/" + other_grid, "", kWorker1);
  EXPECT_EQ(read.status, 403);
  EXPECT_NE(read.body.find(fmt::format("is not in grid {}", cell(0, 0, 0))), std::string::npos) << read.body;
  auto change = act(other_grid, "accept", kWorker1);
  EXPECT_EQ(change.status, 403);
  EXPECT_NE(change.body.find("is not in grid"), std::string::npos) << change.body;
  EXPECT_EQ(case_of(other_grid)["properties"]["state"], "dispatched");
  // The case view offers each caller the steps it may take now: the admin every step of the
  // state, the worker only its own.
  EXPECT_EQ(case_of(in_grid)["properties"]["allowed_actions"], json({"accept", "reject", "cancel", "mark_duplicate"}));
  auto mine = http_request(port_, "GET", "/api/v1/orders/" + in_grid, "", kWorker1);
  ASSERT_EQ(mine.status, 200) << mine.body;
  EXPECT_EQ(json::parse(mine.body)["properties"]["allowed_actions"], json({"accept"}));
  // Its own: accepted, in its name.
  ok(act(in_grid, "accept", kWorker1));
  mine = http_request(port_, "GET", "/api/v1/orders/" + in_grid, "", kWorker1);
  EXPECT_EQ(json::parse(mine.body)["properties"]["allowed_actions"], json({"start", "resolve"}));
  EXPECT_EQ(steps_of(case_of(in_grid)).back()["actor"], worker(1));
  // Steps of the dispatcher's, and other workers' positions, are not a worker's.
  auto dispatch = act(in_grid, "cancel", kWorker1);
  EXPECT_EQ(dispatch.status, 403);
  EXPECT_NE(dispatch.body.find(worker(1) + " (worker) may not cancel a case"), std::string::npos) << dispatch.body;
  EXPECT_EQ(position(worker(1), kWorker2, at(0, 0.001, 0.001)).status, 403);
  EXPECT_EQ(http_request(port_, "GET", "/api/v1/stats", "", kWorker1).status, 403);
  EXPECT_EQ(http_request(port_, "GET", "/api/v1/workers", "", kWorker1).status, 403);
  // A department acts only on its own cases.
  auto police = act(other_grid, "accept", kPolice);
  EXPECT_EQ(police.status, 403);
  EXPECT_NE(police.body.find("is neither dispatched to unit traffic_police nor of its department"), std::string::npos)
      << police.body;
  ok(act(other_grid, "accept", kStreetA));
  // 退单: the street office says it is not theirs; the case goes back to the dispatcher, who must
  // route it (it is not sent back to the same office by itself).
  ok(act(other_grid, "reject", kStreetA, "", "不属于本街道 not ours: a private compound"));
  auto again = act(other_grid, "dispatch");
  EXPECT_EQ(again.status, 409);
  EXPECT_NE(again.body.find(fmt::format("was rejected by street-a (unit {}): name the unit to dispatch to", street(0))),
            std::string::npos)
      << again.body;
  ok(act(other_grid, "dispatch", kDispatcher, "property-management-3"));
  const json rerouted = case_of(other_grid);
  EXPECT_EQ(rerouted["properties"]["unit_code"], "property-management-3");
  EXPECT_EQ(rerouted["properties"]["state"], "dispatched");

  // No token, a malformed header, an unknown or an expired token: 401 with the reason.
  struct Bad {
    std::string token, message;
  } bad[] = {{"", "a token is required"},
             {"not-a-token-of-this-center", "unknown token"},
             {kExpired, "the token of \\\"gone\\\" expired at 2026-01-01T00:00:00Z"}};
  for (const Bad& b : bad)
    for (const std::string& path : {std::string("/api/v1/orders"), "/api/v1/orders/" + in_grid,
                                    std::string("/api/v1/areas"), std::string("/api/v1/stats")}) {
      auto r = http_request(port_, "GET", path, "", b.token);
      EXPECT_EQ(r.status, 401) << path << " " << b.token;
      EXPECT_NE(r.body.find(b.message), std::string::npos) << path << ": " << r.body;
    }
  auto r = http_request(port_, "POST", fmt::format("/api/v1/orders/{}/actions", in_grid), R"({"action":"start"})",
                        "not-a-token-of-this-center");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(case_of(in_grid)["properties"]["state"], "accepted");
  // Open311 stays open to read.
  EXPECT_EQ(http_request(port_, "GET", "/open311/v2/services.json", "", "").status, 200);
}

TEST_F(Dispatch, SqlMetacharactersInEveryFieldAreDataNotSql) {
  const std::string evil = "'; DROP TABLE orders; -- \" \\ $1 %s ) OR 1=1 --";
  const std::string id = ticket("sanitation.dumped_waste", at(1, 0.004, 0.004), evil);
  // Lifecycle fields: reason and unit are stored as given.
  auto r = act(id, "dispatch", kDispatcher, evil, evil);
  ASSERT_EQ(r.status, 200) << r.body;
  json c = case_of(id);
  EXPECT_EQ(c["properties"]["unit_code"], evil);
  EXPECT_EQ(c["properties"]["description"], evil);
  EXPECT_EQ(steps_of(c).back()["detail"]["reason"], evil);
  ok(act(id, "accept", kDispatcher, "", evil));
  r = http_request(port_, "POST", fmt::format("/api/v1/orders/{}/summon", id),
                   json({{"units", {"water_authority"}}, {"reason", evil}}).dump(), kDispatcher);
  ASSERT_EQ(r.status, 200) << r.body;
  r = http_request(port_, "POST", fmt::format("/api/v1/orders/{}/tasks/water_authority/actions", id),
                   json({{"action", "acknowledge"}, {"note", evil}}).dump(), kWater);
  ASSERT_EQ(r.status, 200) << r.body;
  c = case_of(id);
  ASSERT_EQ(c["properties"]["tasks"].size(), 1u);
  EXPECT_EQ(c["properties"]["tasks"][0]["reason"], evil);
  EXPECT_EQ(c["properties"]["tasks"][0]["note"], evil);
  // Where metacharacters cannot be valid they are refused by name, not run.
  EXPECT_EQ(http_request(port_, "POST", fmt::format("/api/v1/orders/{}/summon", id),
                         json({{"units", {evil}}, {"reason", "x"}}).dump(), kDispatcher)
                .status,
            400);
  const std::string quoted = "x%27%20OR%20%271%27%3D%271";
  for (const std::string& path :
       {"/api/v1/orders?category=" + quoted, "/api/v1/orders?status=" + quoted, "/api/v1/orders?since=" + quoted,
        "/api/v1/stats?by=" + quoted, "/api/v1/stats?area=" + quoted, "/api/v1/stats?tz=" + quoted,
        "/api/v1/stats?from=" + quoted, "/api/v1/orders/" + quoted, "/api/v1/areas?level=" + quoted}) {
    auto bad = http_get(port_, path);
    EXPECT_TRUE(bad.status == 400 || bad.status == 404) << path << " " << bad.status << " " << bad.body;
  }
  EXPECT_EQ(position(evil, kAdminToken, at(1, 0.001, 0.001)).status, 404);
  // The resident's evaluation.
  r = http_request(port_, "POST", fmt::format("/api/v1/orders/{}/feedback", id),
                   json({{"satisfied", false}, {"comment", evil}, {"token", evil}}).dump(), "");
  EXPECT_EQ(r.status, 403) << r.body;
  // Everything is still there.
  EXPECT_EQ(sql(svc_.pg_conninfo, "SELECT count(*) FROM orders WHERE id = $1", {id})[0][0], "1");
  EXPECT_EQ(sql(svc_.pg_conninfo, "SELECT unit_code FROM orders WHERE id = $1", {id})[0][0], evil);
}

TEST_F(Dispatch, SummonedUnitsEachAcknowledgeAndFinishAndTheLastResolvesTheCase) {
  const std::string id = ticket("water.waterlogging", at(1, 0.0005, 0.0005), "下穿桥积水 flooded underpass");
  auto summon = [&](const char* token, json units) {
    return http_request(port_, "POST", fmt::format("/api/v1/orders/{}/summon", id),
                        json({{"units", units}, {"reason", "需要水务和交警 pumps and a road closure"}}).dump(), token);
  };
  auto task = [&](const char* token, const std::string& unit, const std::string& action) {
    return http_request(port_, "POST", fmt::format("/api/v1/orders/{}/tasks/{}/actions", id, unit),
                        json({{"action", action}, {"note", action + " by " + unit}}).dump(), token);
  };
  auto early = summon(kDispatcher, {"water_authority"});
  EXPECT_EQ(early.status, 409);
  EXPECT_NE(early.body.find("cannot summon units to a case that is new (summon needs: accepted, in_progress)"),
            std::string::npos)
      << early.body;
  ok(act(id, "dispatch"));
  ok(act(id, "accept"));
  EXPECT_EQ(summon(kWorker1, {"water_authority"}).status, 403);
  ok(summon(kDispatcher, {"water_authority", "traffic_police"}));
  ok(act(id, "start"));
  auto resolve = act(id, "resolve");
  EXPECT_EQ(resolve.status, 409);
  EXPECT_NE(resolve.body.find("summoned units have not finished: traffic_police, water_authority"), std::string::npos)
      << resolve.body;
  // Each unit answers its own summons, in order.
  EXPECT_EQ(task(kWater, "traffic_police", "acknowledge").status, 403);
  auto too_soon = task(kWater, "water_authority", "finish");
  EXPECT_EQ(too_soon.status, 409);
  EXPECT_NE(too_soon.body.find("cannot finish a sub-task that is summoned (finish needs: acknowledged)"),
            std::string::npos)
      << too_soon.body;
  EXPECT_EQ(task(kAdminToken, "housing", "acknowledge").status, 404) << "housing was not summoned";
  ok(task(kWater, "water_authority", "acknowledge"));
  ok(task(kPolice, "traffic_police", "acknowledge"));
  auto first = task(kWater, "water_authority", "finish");
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(json::parse(first.body)["state"], "in_progress");
  // A summoned unit answers its summons; the case itself stays with the unit it was dispatched to.
  EXPECT_EQ(act(id, "resolve", kPolice).status, 403);
  auto last = task(kPolice, "traffic_police", "finish");
  ASSERT_EQ(last.status, 200) << last.body;
  // Waterlogging is verified by a sensor (catalog): no gauge has seen the water gone since the
  // dispatch, so the case waits for its verification.
  EXPECT_EQ(json::parse(last.body)["state"], "verifying");
  EXPECT_EQ(json::parse(last.body)["resolved"], true);
  const json c = case_of(id);
  EXPECT_EQ(c["properties"]["state"], "verifying");
  EXPECT_EQ(c["properties"]["verification"]["by"], "sensor") << c.dump();
  EXPECT_FALSE(c["properties"]["resolved_at"].is_null());
  std::vector<std::string> steps;
  for (const json& h : steps_of(c))
    if (h["action"] != "opened") steps.push_back(h["action"].get<std::string>() + ":" + h["actor"].get<std::string>());
  EXPECT_EQ(steps, (std::vector<std::string>{"dispatch:disp", "accept:disp", "summon:disp", "start:disp",
                                             "task_acknowledged:water", "task_acknowledged:police",
                                             "task_done:water", "task_done:police", "resolve:police"}));
  for (const json& t : c["properties"]["tasks"]) {
    EXPECT_EQ(t["state"], "done");
    EXPECT_FALSE(t["acknowledged_at"].is_null());
    EXPECT_FALSE(t["done_at"].is_null());
  }

  // A case sent back (退单) ends its summons: they can no longer be answered, nor resolve it.
  const std::string back = ticket("water.waterlogging", at(1, 0.0025, 0.0045), "另一处积水 another flood");
  ok(act(back, "dispatch"));
  ok(act(back, "accept"));
  ok(http_request(port_, "POST", fmt::format("/api/v1/orders/{}/summon", back),
                  json({{"units", {"water_authority"}}, {"reason", "pumps"}}).dump(), kDispatcher));
  ok(act(back, "reject", kDispatcher, "", "a private compound's drain"));
  auto late = http_request(port_, "POST", fmt::format("/api/v1/orders/{}/tasks/water_authority/actions", back),
                           json({{"action", "acknowledge"}}).dump(), kWater);
  EXPECT_EQ(late.status, 409);
  EXPECT_NE(late.body.find("cannot acknowledge a sub-task that is cancelled (acknowledge needs: summoned)"),
            std::string::npos)
      << late.body;
  ok(act(back, "dispatch", kDispatcher, "property-management-9"));
  ok(act(back, "accept"));
  ok(act(back, "resolve"));  // nothing summoned is open any more
}

TEST_F(Dispatch, ASensorClearMarksTheCaseVerifiedByTheSensor) {
  const std::string sensor = tag_ + "-gauge-order", camera = tag_ + "-camera-order";
  publish_order(sensor, "open", "sensor", "water.waterlogging", at(1, 0.004, 0.0005));
  publish_order(camera, "open", "camera", "sanitation.bin_overflow", at(1, 0.004, 0.0045));
  ASSERT_TRUE(eventually([&] { return http_get(port_, "/api/v1/orders/" + camera).status == 200; }));
  ASSERT_TRUE(eventually([&] { return http_get(port_, "/api/v1/orders/" + sensor).status == 200; }));
  ok(act(sensor, "dispatch"));
  ok(act(sensor, "accept"));
  EXPECT_TRUE(case_of(sensor)["properties"]["verified_by_sensor"].is_null());
  publish_order(sensor, "clear", "sensor", "water.waterlogging", at(1, 0.004, 0.0005));
  publish_order(camera, "clear", "camera", "sanitation.bin_overflow", at(1, 0.004, 0.0045));
  ASSERT_TRUE(eventually([&] { return case_of(sensor)["properties"]["status"] == "cleared"; }));
  ASSERT_TRUE(eventually([&] { return case_of(camera)["properties"]["status"] == "cleared"; }));
  const json c = case_of(sensor);
  ASSERT_TRUE(c["properties"]["verified_by_sensor"].is_object()) << c.dump();
  EXPECT_EQ(c["properties"]["verified_by_sensor"]["source_id"], sensor);
  EXPECT_EQ(c["properties"]["state"], "accepted") << "verification does not close the work";
  const json h = steps_of(c).back();
  EXPECT_EQ(h["action"], "verified");
  EXPECT_EQ(h["detail"]["state"], "accepted");
  EXPECT_TRUE(case_of(camera)["properties"]["verified_by_sensor"].is_null()) << "a camera is not a sensor";
}

// The three rates of a fixed scenario, counted by hand:
//   street C: c1 camera, parking: dispatched, accepted in time, resolved, resident satisfied (closed)
//             c2 ticket, noise: dispatched, accepted in time, resolved, resident not satisfied (reopened)
//             c3 ticket, heating: dispatched, never accepted, respond time passed
//             c4 ticket, other: never dispatched
//             c7 ticket, dumped waste: dispatched, within its respond time (not yet due)
//   street D: c5 sensor, waterlogging: dispatched, accepted after its respond time, resolved (waiting for
//             its gauge: not counted), then verified by the admin
//             c6 ticket, odor: cancelled (not counted)
// C: 5 cases, 4 dispatched, 3 due to respond, 2 on time (2/3), 1 resolved (1/4), 2 evaluated,
//    1 satisfied (1/2), 1 proactive (1/5). D: 1 case, 0 of 1 on time, 1 of 1 resolved, none
//    evaluated (no rate), 1 proactive (1/1).
TEST_F(Dispatch, TheThreeRatesAndTheProactiveShareOfAFixedScenario) {
  const Timestamp begun = now_utc();
  const std::string c1 = tag_ + "-c1-camera", c5 = tag_ + "-c5-gauge";
  publish_order(c1, "open", "camera", "traffic.illegal_parking", at(2, 0.0005, 0.0005));
  publish_order(c5, "open", "sensor", "water.waterlogging", at(3, 0.0005, 0.0005));
  const std::string c2 = ticket("environment.noise", at(2, 0.004, 0.0005));
  const std::string c3 = ticket("utilities.heating", at(2, 0.0005, 0.004));
  const std::string c4 = ticket("general.other", at(2, 0.004, 0.004));
  const std::string c6 = ticket("environment.odor", at(3, 0.004, 0.004));
  const std::string c7 = ticket("sanitation.dumped_waste", at(2, 0.0025, 0.0025));
  ASSERT_TRUE(eventually([&] { return http_get(port_, "/api/v1/orders/" + c1).status == 200; }));
  ASSERT_TRUE(eventually([&] { return http_get(port_, "/api/v1/orders/" + c5).status == 200; }));
  auto feedback = [&](const std::string& id, bool satisfied) {
    ok(http_request(port_, "POST", fmt::format("/api/v1/orders/{}/feedback", id),
                    json({{"satisfied", satisfied}}).dump(), kDispatcher));
  };
  for (const std::string& id : {c1, c2}) {
    ok(act(id, "dispatch"));
    ok(act(id, "accept"));
    ok(act(id, "resolve"));
  }
  feedback(c1, true);
  feedback(c2, false);
  ok(act(c3, "dispatch"));
  ok(act(c5, "dispatch"));
  ok(act(c7, "dispatch"));  // still within its respond time: not yet counted for the response rate
  // The clock moves: c3 and c5 were due to respond a minute ago.
  for (const std::string& id : {c3, c5})
    sql(svc_.pg_conninfo, "UPDATE orders SET respond_due = now() - interval '1 minute' WHERE id = $1", {id});
  ok(act(c5, "accept"));
  ok(act(c5, "start"));
  ok(act(c5, "resolve"));  // waits for its gauge's verification
  ok(act(c6, "cancel"));
  const std::string span = fmt::format("from={}", format_rfc3339(started_ - 1min));
  // A case waiting for its verification is not resolved yet (docs/api.md, the three rates).
  auto waiting = stats(fmt::format("by=street&area={}&{}", street(3), span));
  ASSERT_EQ(waiting.status, 200) << waiting.body;
  EXPECT_DOUBLE_EQ(json::parse(waiting.body)["groups"][0]["resolution_rate"].get<double>(), 0.0) << waiting.body;
  // No worker on duty there: a dispatcher verifies — not the one who resolved it.
  EXPECT_EQ(act(c5, "verify").status, 403);
  ok(act(c5, "verify", kAdminToken));

  auto r = stats(fmt::format("by=street&area={}&{}", street(2), span));
  ASSERT_EQ(r.status, 200) << r.body;
  json s = json::parse(r.body);
  ASSERT_EQ(s["groups"].size(), 1u) << s.dump();
  json g = s["groups"][0];
  EXPECT_EQ(g["key"], street(2));
  EXPECT_EQ(g["cases"], 5);
  EXPECT_EQ(g["dispatched"], 4);
  EXPECT_EQ(g["response_due"], 3);
  EXPECT_EQ(g["responded_on_time"], 2);
  EXPECT_EQ(g["resolved"], 1);
  EXPECT_EQ(g["evaluated"], 2);
  EXPECT_EQ(g["satisfied"], 1);
  EXPECT_EQ(g["proactive"], 1);
  EXPECT_DOUBLE_EQ(g["response_rate"].get<double>(), 2.0 / 3);
  EXPECT_DOUBLE_EQ(g["resolution_rate"].get<double>(), 0.25);
  EXPECT_DOUBLE_EQ(g["satisfaction_rate"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(g["proactive_share"].get<double>(), 0.2);
  EXPECT_EQ(s["total"]["cases"], 5);

  r = stats(fmt::format("by=street&area={}&{}", street(3), span));
  ASSERT_EQ(r.status, 200) << r.body;
  g = json::parse(r.body)["groups"][0];
  EXPECT_EQ(g["cases"], 1) << "the cancelled case is not counted";
  EXPECT_DOUBLE_EQ(g["response_rate"].get<double>(), 0.0);
  EXPECT_DOUBLE_EQ(g["resolution_rate"].get<double>(), 1.0);
  EXPECT_TRUE(g["satisfaction_rate"].is_null());
  EXPECT_DOUBLE_EQ(g["proactive_share"].get<double>(), 1.0);

  // Per department in street C: the case never dispatched has no department yet.
  r = stats(fmt::format("by=department&area={}&{}", street(2), span));
  ASSERT_EQ(r.status, 200) << r.body;
  s = json::parse(r.body);
  std::map<std::string, std::array<int, 4>> got;  // dispatched, on time, resolved, satisfied
  for (const json& d : s["groups"])
    got[d["key"].is_null() ? "(none)" : d["key"].get<std::string>()] = {
        d["dispatched"].get<int>(), d["responded_on_time"].get<int>(), d["resolved"].get<int>(),
        d["satisfied"].get<int>()};
  const std::map<std::string, std::array<int, 4>> want = {{"traffic_police", {1, 1, 1, 1}},
                                                          {"ecology_environment", {1, 1, 0, 0}},
                                                          {"heating", {1, 0, 0, 0}},
                                                          {"sanitation", {1, 0, 0, 0}},
                                                          {"(none)", {0, 0, 0, 0}}};
  EXPECT_EQ(got, want);
  EXPECT_EQ(s["total"]["cases"], 5);
  EXPECT_EQ(s["total"]["response_due"], 3);
  EXPECT_DOUBLE_EQ(s["total"]["response_rate"].get<double>(), 2.0 / 3);

  // Per day in Beijing time: one period, today there (two if the test ran across midnight).
  r = stats(fmt::format("period=day&tz=Asia/Shanghai&area={}&{}", street(2), span));
  ASSERT_EQ(r.status, 200) << r.body;
  s = json::parse(r.body);
  const std::string first_day = format_rfc3339(begun + 8h).substr(0, 10), last_day = format_rfc3339(now_utc() + 8h).substr(0, 10);
  ASSERT_EQ(s["groups"].size(), first_day == last_day ? 1u : 2u) << s.dump();
  EXPECT_EQ(s["groups"][0]["period"], first_day);
  EXPECT_EQ(s["total"]["cases"], 5);
  // Bad parameters are named.
  r = stats("by=planet");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("cannot group by \\\"planet\\\" (known: unit, department, street, grid)"), std::string::npos)
      << r.body;
  EXPECT_EQ(stats("period=fortnight").status, 400);
  EXPECT_EQ(stats("tz=Mars/Olympus").status, 400);
  EXPECT_EQ(stats("from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z").status, 400);
}

}  // namespace
}  // namespace gridwatch::testing
