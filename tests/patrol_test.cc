// Grid workers on patrol, against a real center, PostGIS and Mosquitto: verification on site
// (separation of duties, photo, refusal, a sensor's clear), reports from the round, and tracks
// with their coverage, glitches and retention (docs/patrol.md).
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include <fmt/format.h>

#include "dispatch_fixture.h"
#include "gridwatch/geo/distance.h"

namespace gridwatch::testing {
namespace {

class Patrol : public Dispatch {
 protected:
  HttpReply verify(const std::string& id, const char* token, const std::string& photo, const std::string& reason = "",
                   const std::string& action = "verify") {
    json body = {{"action", action}};
    if (!photo.empty()) body["photo_url"] = photo;
    if (!reason.empty()) body["reason"] = reason;
    return http_request(port_, "POST", fmt::format("/api/v1/orders/{}/actions", id), body.dump(), token);
  }
  std::string photo() {
    static const std::string kPng(
        "\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89\0\0\0\rIDATx\x9c"
        "c\xf8\x0f\0\0\x01\x01\0\x05\x18\xd8N\0\0\0\0IEND\xae\x42\x60\x82",
        67);
    auto r = http_request(port_, "POST", "/api/v1/media", kPng, kWorker3);
    EXPECT_EQ(r.status, 201) << r.body;
    const json j = json::parse(r.body, nullptr, false);
    return j.contains("url") && j.at("url").is_string() ? j.at("url").get<std::string>() : std::string();
  }
  HttpReply report(const char* token, const std::string& worker_id, json body) {
    return http_request(port_, "POST", fmt::format("/api/v1/workers/{}/reports", worker_id), body.dump(), token);
  }
  HttpReply track(const char* token, const std::string& worker_id, const json& positions) {
    return http_request(port_, "POST", fmt::format("/api/v1/workers/{}/track", worker_id),
                        json({{"shift", "day"}, {"positions", positions}}).dump(), token);
  }
};

TEST_F(Patrol, ASecondWorkerVerifiesWithAPhotoARefusalReopensAndTheResolverMayNot) {
  // Workers 1 and 3 are on duty in the same grid; worker 1 is nearer the problem.
  ok(position(worker(1), kWorker1, at(0, 0.0010, 0.0010)));
  ok(position(worker(3), kWorker3, at(0, 0.0020, 0.0020)));
  const std::string id = ticket("sanitation.dumped_waste", at(0, 0.0011, 0.0011), "建筑垃圾 rubble dumped");
  auto sent = act(id, "dispatch");
  ASSERT_EQ(sent.status, 200) << sent.body;
  EXPECT_EQ(json::parse(sent.body)["worker"], worker(1));
  ok(act(id, "accept", kWorker1));
  auto resolved = act(id, "resolve", kWorker1);
  ASSERT_EQ(resolved.status, 200) << resolved.body;
  // Dumped waste is verified on site by a worker (catalog): another one of the grid is asked.
  EXPECT_EQ(json::parse(resolved.body)["state"], "verifying") << resolved.body;
  EXPECT_EQ(json::parse(resolved.body)["verifier"], worker(3)) << resolved.body;
  json c = case_of(id);
  EXPECT_EQ(c["properties"]["verification"]["by"], "worker");
  EXPECT_EQ(c["properties"]["verification"]["verifier"], worker(3));
  EXPECT_EQ(c["properties"]["verification"]["resolved_by"], worker(1));
  EXPECT_FALSE(c["properties"]["verification"]["due"].is_null());

  // The resolver may not verify their own work.
  auto own = verify(id, kWorker1, photo());
  EXPECT_EQ(own.status, 403) << own.body;
  EXPECT_NE(own.body.find(worker(1) + " resolved case \\\"" + id + "\\\" and may not verify their own work"),
            std::string::npos)
      << own.body;
  // A worker of another grid cannot see the case at all.
  EXPECT_EQ(verify(id, kWorker2, photo()).status, 403);
  // The verifier shows the place as it is now, or says what is not fixed.
  auto bare = verify(id, kWorker3, "");
  EXPECT_EQ(bare.status, 400);
  EXPECT_NE(bare.body.find("verify needs a photo_url"), std::string::npos) << bare.body;
  auto silent = verify(id, kWorker3, "", "", "refuse");
  EXPECT_EQ(silent.status, 400);
  EXPECT_NE(silent.body.find("refuse needs a reason"), std::string::npos) << silent.body;

  // 再派件: refused, the case goes back to the unit.
  auto refused = verify(id, kWorker3, photo(), "碎砖还在 bricks still on the pavement", "refuse");
  ASSERT_EQ(refused.status, 200) << refused.body;
  EXPECT_EQ(json::parse(refused.body)["state"], "reopened");
  ok(act(id, "dispatch"));
  ok(act(id, "accept", kWorker1));
  ok(act(id, "resolve", kWorker1));
  const std::string shot = photo();
  auto verified = verify(id, kWorker3, shot);
  ASSERT_EQ(verified.status, 200) << verified.body;
  EXPECT_EQ(json::parse(verified.body)["state"], "closed");

  // The timeline holds both rounds, the refusal's reason and the verifier's photo.
  c = case_of(id);
  EXPECT_EQ(c["properties"]["state"], "closed");
  std::vector<std::string> steps;
  json verify_step;
  for (const json& h : steps_of(c)) {
    if (h["action"] == "opened") continue;
    steps.push_back(h["action"].get<std::string>() + ":" + h["actor"].get<std::string>());
    if (h["action"] == "verify") verify_step = h;
    if (h["action"] == "refuse") {
      EXPECT_EQ(h["detail"]["reason"], "碎砖还在 bricks still on the pavement") << h.dump();
    }
  }
  const std::string w1 = worker(1), w3 = worker(3);
  EXPECT_EQ(steps, (std::vector<std::string>{"dispatch:disp", "accept:" + w1, "resolve:" + w1, "refuse:" + w3,
                                             "dispatch:disp", "accept:" + w1, "resolve:" + w1, "verify:" + w3}));
  EXPECT_EQ(verify_step["detail"]["photo_url"], shot) << verify_step.dump();
}

TEST_F(Patrol, TheWorkerACaseWasDispatchedToDoesNotVerifyItWhoeverResolvedIt) {
  ok(position(worker(1), kWorker1, at(0, 0.0010, 0.0010)));
  ok(position(worker(3), kWorker3, at(0, 0.0020, 0.0020)));
  const std::string id = ticket("traffic.bike_clutter", at(0, 0.0009, 0.0012), "共享单车堵路 bikes block the way");
  auto sent = act(id, "dispatch");
  ASSERT_EQ(sent.status, 200) << sent.body;
  EXPECT_EQ(json::parse(sent.body)["worker"], worker(1));
  ok(act(id, "accept", kWorker1));
  // The street office resolves it; worker 1 did the work on the spot all the same.
  auto resolved = act(id, "resolve", kAdminToken);
  ASSERT_EQ(resolved.status, 200) << resolved.body;
  EXPECT_EQ(json::parse(resolved.body)["verifier"], worker(3)) << resolved.body;
  auto own = verify(id, kWorker1, photo());
  EXPECT_EQ(own.status, 403) << own.body;
  EXPECT_NE(own.body.find(worker(1) + " was dispatched case \\\"" + id + "\\\" and may not verify their own work"),
            std::string::npos)
      << own.body;
  auto verified = verify(id, kWorker3, photo());
  ASSERT_EQ(verified.status, 200) << verified.body;
  EXPECT_EQ(json::parse(verified.body)["state"], "closed");
}

TEST_F(Patrol, WithNoOtherWorkerOnDutyTheDispatcherVerifiesAndASensorsClearClosesASensorsCase) {
  // Street C: nobody on duty. Dumped waste resolved by the unit waits for the dispatcher.
  const std::string id = ticket("sanitation.dumped_waste", at(2, 0.0011, 0.0011), "rubble");
  ok(act(id, "dispatch"));
  ok(act(id, "accept", kAdminToken));
  auto resolved = act(id, "resolve", kAdminToken);
  ASSERT_EQ(resolved.status, 200) << resolved.body;
  EXPECT_TRUE(json::parse(resolved.body)["verifier"].is_null()) << resolved.body;
  const json c = case_of(id);
  json resolve_step;
  for (const json& h : steps_of(c))
    if (h["action"] == "resolve") resolve_step = h;
  EXPECT_EQ(resolve_step["detail"]["verifier_why"],
            "no other worker of the grid is on duty nearby: the dispatcher verifies");
  ok(act(id, "verify"));  // a dispatcher: no photo needed
  EXPECT_EQ(case_of(id)["properties"]["state"], "closed");

  // Waterlogging is verified by its gauge: resolved before the water is gone, it waits; the
  // gauge's clear closes it.
  const std::string gauge = tag_ + "-patrol-gauge";
  publish_order(gauge, "open", "sensor", "water.waterlogging", at(2, 0.004, 0.004));
  ASSERT_TRUE(eventually([&] { return http_get(port_, "/api/v1/orders/" + gauge).status == 200; }));
  ok(act(gauge, "dispatch"));
  ok(act(gauge, "accept", kAdminToken));
  auto r = act(gauge, "resolve", kAdminToken);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["state"], "verifying");
  publish_order(gauge, "clear", "sensor", "water.waterlogging", at(2, 0.004, 0.004));
  ASSERT_TRUE(eventually([&] { return case_of(gauge)["properties"]["state"] == "closed"; })) << case_of(gauge).dump();
  json last;
  for (const json& h : steps_of(case_of(gauge)))
    if (h["action"] == "verify") last = h;
  EXPECT_EQ(last["actor"], "sensor") << last.dump();
  EXPECT_EQ(last["detail"]["to"], "closed");
  // The resident's evaluation afterwards is kept; the case stays closed.
  ok(http_request(port_, "POST", fmt::format("/api/v1/orders/{}/feedback", gauge),
                  json({{"satisfied", true}}).dump(), kDispatcher));
  EXPECT_EQ(case_of(gauge)["properties"]["state"], "closed");
  EXPECT_EQ(case_of(gauge)["properties"]["satisfaction"], "satisfied");
}

TEST_F(Patrol, AWorkersReportIsAProactiveCaseThatAResidentsCallLaterJoins) {
  const std::string shot = photo();
  const LonLat p = at(0, 0.0020, 0.0006);
  json body = {{"category", "sanitation.dumped_waste"}, {"lon", p.lon}, {"lat", p.lat}, {"accuracy_m", 8},
               {"note", "路边一堆装修垃圾 renovation rubble by the kerb"}, {"photos", {shot}},
               {"request_id", "r-0001"}};
  auto r = report(kWorker1, worker(1), body);
  ASSERT_EQ(r.status, 201) << r.body;
  const json first = json::parse(r.body);
  EXPECT_EQ(first["result"], "new");
  EXPECT_EQ(first["area"], cell(0, 0, 0));
  const std::string id = first["case_id"].get<std::string>();
  // Sent again by a phone that lost the answer: the same report, nothing new.
  auto again = report(kWorker1, worker(1), body);
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(json::parse(again.body)["case_id"], id);
  EXPECT_EQ(json::parse(again.body)["replayed"], true);

  json c = case_of(id);
  EXPECT_EQ(c["properties"]["proactive"], true);
  EXPECT_EQ(c["properties"]["preempted"], false);
  const json& sources = c["properties"]["sources"];
  ASSERT_EQ(sources.size(), 1u) << c.dump();
  EXPECT_EQ(sources[0]["kind"], "patrol");
  // A resident calls about it later: the call joins the case, which was found first (未诉先办).
  const std::string call = ticket("sanitation.dumped_waste", at(0, 0.0021, 0.0006), "门口有垃圾 rubble at the gate");
  ASSERT_FALSE(call.empty());
  c = case_of(id);
  EXPECT_EQ(c["properties"]["preempted"], true) << c.dump();
  EXPECT_EQ(c["properties"]["sources"].size(), 2u);

  // Anywhere outside the configured areas: no unit owns it, the dispatcher decides.
  body["lon"] = lon0_ - 0.05;
  body["request_id"] = "r-0002";
  auto outside = report(kWorker1, worker(1), body);
  ASSERT_EQ(outside.status, 201) << outside.body;
  EXPECT_TRUE(json::parse(outside.body)["area"].is_null());
  EXPECT_EQ(json::parse(outside.body)["queue"], "dispatcher");

  // Bad reports are refused with the reason; another worker cannot report as worker 1.
  body["request_id"] = "r-0003";
  body["category"] = "no.such";
  auto bad = report(kWorker1, worker(1), body);
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("unknown category \\\"no.such\\\""), std::string::npos) << bad.body;
  body["category"] = "sanitation.dumped_waste";
  body["lat"] = 91;
  bad = report(kWorker1, worker(1), body);
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("lat within [-90, 90]"), std::string::npos) << bad.body;
  body["lat"] = p.lat;
  body["photos"] = {shot, shot, shot, shot};
  bad = report(kWorker1, worker(1), body);
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("at most 3"), std::string::npos) << bad.body;
  EXPECT_EQ(report(kWorker2, worker(1), body).status, 403);
}

TEST_F(Patrol, AFixNotVerifiedInTimeIsFlaggedOverdueOnce) {
  // Dumped waste: verified on site within 8 h of its resolve (catalog).
  const std::string id = ticket("sanitation.dumped_waste", at(3, 0.0011, 0.0011), "rubble");
  ok(act(id, "dispatch"));
  ok(act(id, "accept", kAdminToken));
  ok(act(id, "resolve", kAdminToken));
  json c = case_of(id);
  const auto due = parse_rfc3339(c["properties"]["verification"]["due"].get<std::string>());
  ASSERT_TRUE(due.has_value());
  const auto resolved = parse_rfc3339(c["properties"]["resolved_at"].get<std::string>());
  ASSERT_TRUE(resolved.has_value());
  EXPECT_NEAR(std::chrono::duration<double>(*due - *resolved).count(), 8 * 3600, 2);
  center_->check_sla(*due - std::chrono::seconds{1});
  EXPECT_TRUE(case_of(id)["properties"]["overdue"].empty());
  center_->check_sla(*due + std::chrono::seconds{1});
  center_->check_sla(*due + std::chrono::minutes{1});  // flagged once
  c = case_of(id);
  EXPECT_EQ(c["properties"]["overdue"], json::array({"verify"})) << c.dump();
  size_t flags = 0;
  for (const json& h : c["properties"]["history"]) flags += h["action"] == "overdue";
  EXPECT_EQ(flags, 1u);
  // Verified late, it closes all the same.
  ok(act(id, "verify"));
  EXPECT_EQ(case_of(id)["properties"]["state"], "closed");
}

// Noon yesterday in Asia/Shanghai (UTC+8 all year), and that day's date: a day wholly past.
std::pair<Timestamp, std::string> yesterday_noon() {
  using namespace std::chrono;
  const auto local = floor<days>(now_utc() + hours{8}) - days{1};
  const year_month_day d{local};
  return {Timestamp{local + hours{12} - hours{8}},
          fmt::format("{:04}-{:02}-{:02}", int(d.year()), unsigned(d.month()), unsigned(d.day()))};
}

TEST_F(Patrol, ARoundThroughTheGridCoversTheCellsItPassedAndAGpsJumpIsDropped) {
  const auto [noon, day] = yesterday_noon();
  const std::string grid = cell(0, 0, 0);
  // The grid's 50 m lattice, every cell with its centre.
  auto cells = http_request(port_, "GET", fmt::format("/api/v1/patrol/cells?grid={}&date={}", grid, day), "", kWorker1);
  ASSERT_EQ(cells.status, 200) << cells.body;
  const json all = json::parse(cells.body)["features"];
  ASSERT_GE(all.size(), 16u) << "a ~250 m grid holds about 25 cells of 50 m";
  auto centre = [](const json& f) {
    const json& ring = f["geometry"]["coordinates"][0];
    return LonLat{(ring[0][0].get<double>() + ring[2][0].get<double>()) / 2,
                  (ring[0][1].get<double>() + ring[2][1].get<double>()) / 2};
  };
  double west = 180, east = -180;
  std::map<double, int> rows;  // centre latitude -> cells in that row
  for (const json& f : all) {
    const LonLat c = centre(f);
    west = std::min(west, c.lon);
    east = std::max(east, c.lon);
    ++rows[std::round(c.lat * 1e6) / 1e6];
  }
  ASSERT_GE(rows.size(), 3u);
  // Along the centres of the second row, from 20 m west of its first centre to 20 m east of its
  // last: that row's cells are passed, the rows beside it (50 m away) are not.
  const auto row = std::next(rows.begin());
  const double m_per_lon = geo::distance_m({west, row->first}, {west + 0.001, row->first}) / 0.001;
  const double from = west - 20 / m_per_lon, to = east + 20 / m_per_lon;
  json positions = json::array();
  const int steps = 12;
  for (int i = 0; i <= steps; ++i)
    positions.push_back({{"at", format_rfc3339(noon + std::chrono::seconds(10 * i))},
                         {"lon", from + (to - from) * i / steps},
                         {"lat", row->first},
                         {"accuracy_m", 6}});
  // A jump of 2 km north in 5 s in the middle of it.
  positions.push_back({{"at", format_rfc3339(noon + std::chrono::seconds(10 * 6 + 5))},
                       {"lon", from},
                       {"lat", row->first + 0.018},
                       {"accuracy_m", 40}});
  // One malformed position among them: refused with its reason, the rest count.
  positions.push_back({{"at", "yesterday"}, {"lon", from}, {"lat", row->first}});
  auto r = track(kWorker1, worker(1), positions);
  ASSERT_EQ(r.status, 200) << r.body;
  json t = json::parse(r.body);
  EXPECT_EQ(t["stored"], steps + 1);
  ASSERT_EQ(t["glitches"].size(), 1u) << r.body;
  EXPECT_EQ(t["glitches"][0], format_rfc3339(noon + std::chrono::seconds(65)));
  ASSERT_EQ(t["refused"].size(), 1u) << r.body;
  EXPECT_EQ(t["refused"][0]["index"], steps + 2);
  EXPECT_EQ(t["refused"][0]["error"], "at is an RFC 3339 time");

  auto coverage = [&](const char* token) {
    auto c = http_request(port_, "GET", fmt::format("/api/v1/stats/coverage?date={}&grid={}", day, grid), "", token);
    EXPECT_EQ(c.status, 200) << c.body;
    const json g = json::parse(c.body)["grids"];
    EXPECT_EQ(g.size(), 1u) << c.body;
    return g.empty() ? json() : g[0];
  };
  json g = coverage(kDispatcher);
  EXPECT_EQ(g["cells"], all.size());
  EXPECT_EQ(g["visited"], row->second) << g.dump();
  EXPECT_DOUBLE_EQ(g["share"].get<double>(),
                   std::round(1e4 * row->second / static_cast<double>(all.size())) / 1e4);
  std::map<std::string, int> per_worker;
  for (const json& w : g["workers"]) per_worker[w["worker"].get<std::string>()] = w["visited"].get<int>();
  EXPECT_EQ(per_worker[worker(1)], row->second);
  EXPECT_EQ(per_worker[worker(3)], 0) << "worker 3 has not walked";
  EXPECT_EQ(coverage(kWorker1)["visited"], row->second) << "a worker sees their own grid's";

  // A walk in another street, 10 minutes later (not joined to the first): nothing in the grid.
  json away = json::array();
  for (int i = 0; i < 5; ++i)
    away.push_back({{"at", format_rfc3339(noon + std::chrono::minutes(10) + std::chrono::seconds(10 * i))},
                    {"lon", at(1, 0.002 + 0.0002 * i, 0.002).lon},
                    {"lat", at(1, 0.002, 0.002).lat}});
  r = track(kWorker1, worker(1), away);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["cells_passed"], 0);
  EXPECT_EQ(coverage(kDispatcher)["visited"], row->second);

  // The unvisited cells are the others; the track is one line of the kept positions.
  auto left = http_request(port_, "GET", fmt::format("/api/v1/patrol/cells?grid={}&date={}&visited=false", grid, day),
                           "", kDispatcher);
  ASSERT_EQ(left.status, 200);
  EXPECT_EQ(json::parse(left.body)["features"].size(), all.size() - static_cast<size_t>(row->second));
  auto lines = http_request(port_, "GET", fmt::format("/api/v1/patrol/tracks?date={}", day), "", kDispatcher);
  ASSERT_EQ(lines.status, 200);
  const json tracks = json::parse(lines.body)["features"];
  ASSERT_EQ(tracks.size(), 1u) << lines.body;
  EXPECT_EQ(tracks[0]["properties"]["worker"], worker(1));
  EXPECT_EQ(tracks[0]["properties"]["positions"], steps + 1 + 5);
  for (const json& pt : tracks[0]["geometry"]["coordinates"])
    EXPECT_LT(pt[1].get<double>(), row->first + 0.01) << "the jump is not on the line";
  // The dispatcher's live map has the worker where the last position puts them.
  const json workers = json::parse(http_get(port_, "/api/v1/workers").body);
  for (const json& w : workers["features"])
    if (w["id"] == worker(1)) {
      EXPECT_NEAR(w["geometry"]["coordinates"][0].get<double>(), away.back()["lon"].get<double>(), 1e-6);
    }
  // Another worker's track is theirs; a department's, no one's.
  EXPECT_EQ(http_request(port_, "GET", "/api/v1/patrol/tracks?worker=" + worker(1), "", kWorker3).status, 403);
  EXPECT_EQ(http_request(port_, "GET", "/api/v1/patrol/tracks", "", kWater).status, 403);
}

TEST_F(Patrol, PositionsOlderThanTheDaysKeptAreDeleted) {
  // 40 days old: past the default 30.
  sql(svc_.pg_conninfo,
      "INSERT INTO patrol_positions (worker, at, geom, grid, shift) "
      "VALUES ($1, now() - interval '40 days', ST_SetSRID(ST_MakePoint(100, 30), 4326), 'g', 's'), "
      "       ($1, now() - interval '1 day', ST_SetSRID(ST_MakePoint(100, 30), 4326), 'g', 's')",
      {worker(2)});
  sql(svc_.pg_conninfo, "INSERT INTO patrol_cells (day, grid, worker, cell) VALUES (current_date - 40, 'g', $1, 1)",
      {worker(2)});
  center_->check_sla(now_utc() + std::chrono::hours{2});  // the trim runs at most hourly
  EXPECT_EQ(sql(svc_.pg_conninfo, "SELECT count(*) FROM patrol_positions WHERE worker = $1", {worker(2)})[0][0], "1");
  EXPECT_EQ(sql(svc_.pg_conninfo, "SELECT count(*) FROM patrol_cells WHERE worker = $1", {worker(2)})[0][0], "0");
}

}  // namespace
}  // namespace gridwatch::testing
