// The command line contract: exit codes 0 / 1 / 2 and error messages that name file, line, key.
#include <gtest/gtest.h>

#include <cstdio>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "gridwatch/center/auth.h"
#include "gridwatch/center/config.h"
#include "gridwatch/domain/time.h"
#include "gridwatch/vision/scene.h"
#include "support.h"
#include "test_data.h"

namespace gridwatch::testing {
namespace {

TEST(Cli, VersionAndHelp) {
  auto [code, out] = run_gridwatch({"--version"});
  EXPECT_EQ(code, 0);
  EXPECT_NE(out.find("gridwatch 0.1.0"), std::string::npos) << out;
  std::tie(code, out) = run_gridwatch({"agent", "--help"});
  EXPECT_EQ(code, 0);
  EXPECT_NE(out.find("--config"), std::string::npos) << out;
}

TEST(Cli, BadUsageExitsTwo) {
  EXPECT_EQ(run_gridwatch({}).first, 2);
  EXPECT_EQ(run_gridwatch({"frobnicate"}).first, 2);
  auto [code, out] = run_gridwatch({"agent", "--config", "/nonexistent.yaml"});
  EXPECT_EQ(code, 2);
  EXPECT_NE(out.find("/nonexistent.yaml"), std::string::npos) << out;
}

// A token made by `token new` is admitted by the line it prints, which holds only its hash.
TEST(Cli, TokenNewPrintsATokenAndTheConfigurationLineThatAdmitsItByHash) {
  auto [code, out] = run_gridwatch({"token", "new", "--name", "w-17", "--role", "worker", "--grid", "110102-g1"});
  ASSERT_EQ(code, 0) << out;
  std::istringstream lines(out);
  std::string line, token, hash, yaml;
  while (std::getline(lines, line)) {
    if (line.starts_with("token: ")) token = line.substr(7);
    if (line.starts_with("sha256: ")) hash = line.substr(8);
    if (line.starts_with("- {")) yaml = line;
  }
  ASSERT_EQ(token.size(), 43u) << out;
  EXPECT_EQ(yaml.find(token), std::string::npos) << "the configuration line holds no token: " << out;
  auto cfg = center::parse_center_config("auth:\n  tokens:\n    " + yaml + "\n", "center.yaml");
  ASSERT_TRUE(cfg.has_value()) << cfg.error().message << "\n" << out;
  ASSERT_EQ(cfg->tokens.size(), 1u);
  EXPECT_EQ(cfg->tokens[0].token_sha256, hash);
  EXPECT_TRUE(cfg->tokens[0].token.empty());
  const center::Authenticator auth(cfg->tokens);
  auto who = auth.authenticate("Bearer " + token, now_utc());
  ASSERT_TRUE(who.has_value()) << who.error().message;
  EXPECT_EQ(who->name, "w-17");
  EXPECT_EQ(who->grid, "110102-g1");
  auto other = auth.authenticate("Bearer " + token.substr(0, 42) + (token.back() == 'A' ? "B" : "A"), now_utc());
  ASSERT_FALSE(other.has_value());
  EXPECT_EQ(other.error().message, "unknown token");
  // A second run makes another token.
  EXPECT_EQ(run_gridwatch({"token", "new"}).second.find(token), std::string::npos);
}

TEST(Cli, AgentConfigErrorsNameFileLineAndKey) {
  auto dir = temp_dir("cli");
  write_file(dir / "agent.yaml", "agent:\n  id: a1\nsensors:\n  - device_id: d1\n    type: bin_fill\n"
                                 "    location: {lon: 116.4, lat: 39.9}\n    colour: red\n");
  auto [code, out] = run_gridwatch({"agent", "--config", (dir / "agent.yaml").string()});
  EXPECT_EQ(code, 2);
  EXPECT_NE(out.find(fmt::format("{}:7: sensors[0].colour: unknown key", (dir / "agent.yaml").string())),
            std::string::npos)
      << out;
  write_file(dir / "agent.yaml", "agent:\n  id: a1\nstatus:\n  interval: 5\n");
  std::tie(code, out) = run_gridwatch({"agent", "--config", (dir / "agent.yaml").string()});
  EXPECT_EQ(code, 2);
  EXPECT_NE(out.find(":4: status.interval: not a duration"), std::string::npos) << out;
  write_file(dir / "agent.yaml", "agent:\n  id: a1\n");
  std::tie(code, out) = run_gridwatch({"agent", "--check", "--config", (dir / "agent.yaml").string()});
  EXPECT_EQ(code, 0) << out;
  std::filesystem::remove_all(dir);
}

TEST(Cli, CenterConfigErrorsNameFileLineAndKey) {
  auto dir = temp_dir("cli");
  write_file(dir / "center.yaml", "database:\n  pool_size: many\n");
  auto [code, out] = run_gridwatch({"center", "--config", (dir / "center.yaml").string()});
  EXPECT_EQ(code, 2);
  EXPECT_NE(out.find(":2: database.pool_size: expected a whole number, got \"many\""), std::string::npos)
      << out;
  std::filesystem::remove_all(dir);
}

TEST(Cli, CenterThatCannotReachTheDatabaseExitsOne) {
  auto dir = temp_dir("cli");
  auto port = platform::free_tcp_port();
  ASSERT_TRUE(port.has_value());
  write_file(dir / "center.yaml",
             fmt::format("database:\n  conninfo: \"host=127.0.0.1 port={} dbname=x user=x connect_timeout=2\"\n",
                         *port));
  auto [code, out] = run_gridwatch({"center", "--config", (dir / "center.yaml").string()});
  EXPECT_EQ(code, 1);
  EXPECT_NE(out.find("cannot connect to PostgreSQL"), std::string::npos) << out;
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace gridwatch::testing

namespace gridwatch::testing {
namespace {

// The example configurations shipped in config/ stay valid.
TEST(Cli, ExampleConfigsPassCheck) {
  std::string root = GRIDWATCH_SOURCE_DIR;
  auto [code, out] = run_gridwatch({"agent", "--check", "--config", root + "/config/agent.example.yaml"});
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("1 cameras, 2 sensors, 4 rules"), std::string::npos) << out;
  std::tie(code, out) = run_gridwatch({"center", "--check", "--config", root + "/config/center.example.yaml"});
  EXPECT_EQ(code, 0) << out;
}

}  // namespace
}  // namespace gridwatch::testing

namespace gridwatch::testing {
namespace {

// The same points and bad lines for Beijing's districts, whichever outline of them is read.
RunResult expect_beijing_assignment(const std::string& areas) {
  auto r = run_gridwatch_with_input({"geo", "assign", "--areas", areas, "--crs", "gcj02"},
                                    "lon,lat\n116.3913,39.9075\nabc,1\n0,0\n116.4,95\n116.3903, 39.9918\n");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "lon,lat,area_id\n116.3913,39.9075,110101\n0,0,\n116.3903,39.9918,110105\n");
  EXPECT_NE(r.err.find("line 3: lon \"abc\" is not a number; skipped"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("line 5: lat 95 is out of range [-90, 90]; skipped"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("3 points: 2 in an area, 1 outside, 2 bad lines skipped"), std::string::npos) << r.err;
  return r;
}

// Beijing's districts as the echarts npm package ships them (GCJ-02, compressed): Tiananmen's GPS
// position is in Dongcheng, (116.3903, 39.9918) in Chaoyang.
TEST(Cli, GeoAssignOnTheEchartsMapReadsStdinAndReportsBadLinesByNumber) {
  const std::string areas = echarts_beijing_map();
  ASSERT_TRUE(std::filesystem::exists(areas)) << areas << ": run npm ci in web/";
  auto r = expect_beijing_assignment(areas);
  // Its outlines cross themselves here and there: repaired, and said so.
  EXPECT_NE(r.err.find("warning: feature 110113 (顺义区): invalid geometry repaired"), std::string::npos) << r.err;
  r = run_gridwatch_with_input({"geo", "assign", "--areas", areas, "--crs", "wgs72"}, "");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("wgs72"), std::string::npos) << r.err;
  r = run_gridwatch_with_input({"geo", "assign", "--areas", "/nonexistent.geojson"}, "");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("/nonexistent.geojson"), std::string::npos) << r.err;
}

TEST(CliRealData, GeoAssignReadsStdinAndReportsBadLinesByNumber) {
  GW_NEED_DATA(areas, "boundaries/beijing-districts-gcj02.json");
  auto r = expect_beijing_assignment(areas);
  EXPECT_NE(r.err.find("warning: feature 110113 (顺义区): invalid geometry repaired"), std::string::npos) << r.err;

  // Read as WGS-84 the same file puts Tiananmen's GPS position ~550 m off: still Dongcheng, but
  // the file must say which it is; an unknown CRS is bad usage.
  r = run_gridwatch_with_input({"geo", "assign", "--areas", areas, "--crs", "wgs72"}, "");
  EXPECT_EQ(r.code, 2);
  r = run_gridwatch_with_input({"geo", "assign", "--areas", "/nonexistent.geojson"}, "");
  EXPECT_EQ(r.code, 2);
}

TEST(Cli, RulesReplayWritesIntentsAndReportsBadRowsByLine) {
  auto dir = temp_dir("replay");
  write_file(dir / "rules.yaml", R"(lateness: 1m
rules:
  - id: bin_full
    category: sanitation.bin_overflow
    input: {type: bin_fill}
    when: {threshold: {above: 90, clear_below: 60}}
    escalate:
      - priority: high
        when: {threshold: {above: 100}, for: 30m}
)");
  write_file(dir / "readings.csv",
             "ts,device_id,type,value\n"
             "2026-11-01T08:00:00Z,bin-1,bin_fill,50\n"
             "2026-11-01T08:10:00Z,bin-1,bin_fill,95\n"
             "2026-11-01T08:20:00Z,bin-1,bin_fill,100\n"
             "2026-11-01T08:20:00Z,bin-1,bin_fill,oops\n"
             "2026-11-01T08:40:00Z,bin-2,bin_fill,10\n"
             "2026-11-01T08:55:00Z,bin-1,bin_fill,100\n"
             "2026-11-01T09:00:00Z,bin-1,bin_fill,20\n");
  auto [code, out] = run_gridwatch({"rules", "replay", "--rules", (dir / "rules.yaml").string(), "--readings",
                                    (dir / "readings.csv").string(), "--events-out", (dir / "events.jsonl").string()});
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("readings.csv:5: value \"oops\" is not a number"), std::string::npos) << out;
  EXPECT_NE(out.find("replayed 7 rows (1 bad, 0 late, 0 duplicate, 0 unused)"), std::string::npos) << out;
  EXPECT_NE(out.find("1 opened, 1 updated, 1 cleared, 0 still open"), std::string::npos) << out;
  std::vector<nlohmann::json> events;
  std::istringstream lines(read_file(dir / "events.jsonl"));
  for (std::string line; std::getline(lines, line);) events.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0]["event"], "open");
  EXPECT_EQ(events[0]["ts"], "2026-11-01T08:10:00Z");
  EXPECT_EQ(events[0]["id"], "bin_full.bin-1.20261101T081000Z");
  EXPECT_EQ(events[0]["subject"], "bin-1");
  EXPECT_EQ(events[0]["category"], "sanitation.bin_overflow");
  EXPECT_EQ(events[0]["priority"], "normal");
  EXPECT_EQ(events[1]["event"], "update");
  EXPECT_EQ(events[1]["ts"], "2026-11-01T08:50:00Z");  // 100 % from 08:20 for 30 minutes
  EXPECT_EQ(events[1]["priority"], "high");
  EXPECT_EQ(events[2]["event"], "clear");
  EXPECT_EQ(events[2]["id"], events[0]["id"]);

  // A bad rule file is bad usage, named by file, line and key.
  write_file(dir / "bad.yaml", "rules:\n  - id: r\n    category: sanitation.bin_overflow\n    input: {type: x}\n"
                               "    when: {threshold: {above: 10, clear_below: 20}}\n");
  std::tie(code, out) = run_gridwatch({"rules", "replay", "--rules", (dir / "bad.yaml").string(), "--readings",
                                       (dir / "readings.csv").string()});
  EXPECT_EQ(code, 2);
  EXPECT_NE(out.find("bad.yaml:5: rules[0].when.threshold.clear_below: clear_below 20 is on the wrong side"),
            std::string::npos) << out;
  std::filesystem::remove_all(dir);
}

// The zone events of `vision replay`, one JSON object a line, each with every field.
std::vector<nlohmann::json> read_zone_events(const std::filesystem::path& file) {
  std::vector<nlohmann::json> events;
  std::istringstream lines(read_file(file));
  for (std::string line; std::getline(lines, line);) {
    auto j = nlohmann::json::parse(line);
    for (const char* key : {"ts", "camera", "zone", "event", "object_id", "class", "bbox", "dwell_s", "confidence"})
      EXPECT_TRUE(j.contains(key)) << key << " missing in " << line;
    events.push_back(std::move(j));
  }
  return events;
}

// A street the project draws (vision/scene.h): the red car drives in at 8 s, stands in the
// no-parking markings from 10 s and stays; people walk by on the far pavement. A model-free
// `stationary` detector and a 10 s dwell give one stationary event, 10 s after the car arrived.
TEST(Cli, VisionReplayOnADrawnClipWritesZoneEventsAsJsonLines) {
  auto dir = temp_dir("vreplay-street");
  vision::StreetScene scene;
  ASSERT_TRUE(vision::write_video(scene, dir / "street.avi", 300).has_value());  // 30 s
  write_file(dir / "cam.yaml", R"(camera: {id: cam-street}
detect: {fps: 5}
detectors:
  - {type: stationary, label: vehicle, min_area: 0.004, settle: 2s}
zones:
  - {name: no_parking, type: no_parking, polygon: [[70, 225], [340, 225], [340, 302], [70, 302]], classes: [vehicle], dwell: 10s}
)");
  auto [code, out] = run_gridwatch({"vision", "replay", "--camera", (dir / "cam.yaml").string(), "--video",
                                    (dir / "street.avi").string(), "--events-out", (dir / "events.jsonl").string(),
                                    "--start", "2026-11-23T08:00:00Z"});
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("300 frames (150 analysed, 0 corrupt)"), std::string::npos) << out;
  std::vector<nlohmann::json> stationary;
  for (const nlohmann::json& j : read_zone_events(dir / "events.jsonl"))
    if (j["event"] == "stationary") stationary.push_back(j);
  ASSERT_EQ(stationary.size(), 1u);
  EXPECT_EQ(stationary[0]["ts"], "2026-11-23T08:00:20Z");
  EXPECT_EQ(stationary[0]["zone"], "no_parking");
  EXPECT_EQ(stationary[0]["class"], "vehicle");
  ASSERT_EQ(stationary[0]["bbox"].size(), 4u);
  // The box is the parked car's (vision/scene.h), within a few pixels.
  const nlohmann::json& box = stationary[0]["bbox"];
  EXPECT_NEAR(box[0].get<double>(), vision::StreetScene::kCarParkedX, 8);
  EXPECT_NEAR(box[2].get<double>(), vision::StreetScene::kCarW, 12);

  write_file(dir / "bad.yaml", "camera: {id: c}\ndetectors: [{type: yolo9000}]\n");
  std::tie(code, out) = run_gridwatch({"vision", "replay", "--camera", (dir / "bad.yaml").string(), "--video",
                                       (dir / "street.avi").string()});
  EXPECT_EQ(code, 2);
  EXPECT_NE(out.find("bad.yaml:2: detectors[0].type: \"yolo9000\" is not one of"), std::string::npos) << out;
  std::filesystem::remove_all(dir);
}

TEST(CliRealData, VisionReplayWritesZoneEventsAsJsonLines) {
  GW_NEED_DATA(weights, "models/yolo-fastest-1.1-xl.weights");
  GW_NEED_DATA(cfg, "models/yolo-fastest-1.1-xl.cfg");
  GW_NEED_DATA(names, "models/coco.names");
  auto dir = temp_dir("vreplay");
  write_file(dir / "cam.yaml", fmt::format(R"(camera: {{id: cam-vtest}}
detect: {{fps: 1}}
detectors:
  - type: dnn
    model: {}
    config: {}
    names: {}
    classes: {{car: vehicle, truck: vehicle}}
    score: 0.3
zones:
  - {{name: van_bay, type: no_parking, polygon: [[630, 30], [730, 30], [730, 115], [630, 115]], classes: [vehicle], dwell: 30s}}
)",
                                           weights, cfg, names));
  auto [code, out] = run_gridwatch({"vision", "replay", "--camera", (dir / "cam.yaml").string(), "--video",
                                    "/usr/share/doc/opencv-doc/examples/data/vtest.avi", "--events-out",
                                    (dir / "events.jsonl").string(), "--start", "2026-11-23T08:00:00Z"});
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("795 frames (80 analysed, 0 corrupt)"), std::string::npos) << out;
  std::vector<nlohmann::json> stationary;
  for (const nlohmann::json& j : read_zone_events(dir / "events.jsonl"))
    if (j["event"] == "stationary") stationary.push_back(j);
  ASSERT_EQ(stationary.size(), 1u);
  EXPECT_EQ(stationary[0]["ts"], "2026-11-23T08:00:30Z");
  EXPECT_EQ(stationary[0]["zone"], "van_bay");
  EXPECT_EQ(stationary[0]["class"], "vehicle");
  EXPECT_EQ(stationary[0]["bbox"].size(), 4u);

  write_file(dir / "bad.yaml", "camera: {id: c}\ndetectors: [{type: yolo9000}]\n");
  std::tie(code, out) = run_gridwatch({"vision", "replay", "--camera", (dir / "bad.yaml").string(), "--video",
                                       "/usr/share/doc/opencv-doc/examples/data/vtest.avi"});
  EXPECT_EQ(code, 2);
  EXPECT_NE(out.find("bad.yaml:2: detectors[0].type: \"yolo9000\" is not one of"), std::string::npos) << out;
  std::filesystem::remove_all(dir);
}

// Codes from a property (numbers written without decimals), a hole, a MultiPolygon, and the
// boundary rule (docs/geo.md): a point on an edge goes to the side east of it (north of an
// east-west edge), so on the edge two areas share it is in the eastern one, and on the edge of a
// hole it is in the hole only on the hole's west and south sides.
TEST(Cli, GeoAssignWithAnIdPropertyOnALayerItWrites) {
  auto dir = temp_dir("assign-id");
  write_file(dir / "areas.geojson", R"({"type": "FeatureCollection", "features": [
    {"type": "Feature", "properties": {"BoroCD": 105, "name": "west, with a hole"},
     "geometry": {"type": "Polygon", "coordinates": [[[10.0, 50.0], [10.2, 50.0], [10.2, 50.2], [10.0, 50.2], [10.0, 50.0]],
                                                     [[10.05, 50.05], [10.15, 50.05], [10.15, 50.15], [10.05, 50.15], [10.05, 50.05]]]}},
    {"type": "Feature", "properties": {"BoroCD": "302", "name": "east, two parts"},
     "geometry": {"type": "MultiPolygon", "coordinates": [[[[10.2, 50.0], [10.4, 50.0], [10.4, 50.2], [10.2, 50.2], [10.2, 50.0]]],
                                                          [[[11.0, 50.0], [11.1, 50.0], [11.1, 50.1], [11.0, 50.1], [11.0, 50.0]]]]}}]})");
  const std::string areas = (dir / "areas.geojson").string();
  auto r = run_gridwatch_with_input({"geo", "assign", "--areas", areas, "--id-property", "BoroCD"},
                                    "10.01,50.01\n10.1,50.1\n10.3,50.1\n10.2,50.1\n11.05,50.05\n10.5,50.1\n"
                                    "10.05,50.1\n10.15,50.1\n10.1,50.05\n10.1,50.15\n");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "10.01,50.01,105\n10.1,50.1,\n10.3,50.1,302\n10.2,50.1,302\n11.05,50.05,302\n10.5,50.1,\n"
            "10.05,50.1,\n10.15,50.1,105\n10.1,50.05,\n10.1,50.15,105\n");
  EXPECT_NE(r.err.find("10 points: 6 in an area, 4 outside, 0 bad lines skipped"), std::string::npos) << r.err;
  // A property the features do not have is refused, naming it.
  r = run_gridwatch_with_input({"geo", "assign", "--areas", areas, "--id-property", "BoroName"}, "10.01,50.01\n");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("feature #0 has no code (no property \"BoroName\")"), std::string::npos) << r.err;
  std::filesystem::remove_all(dir);
}

TEST(CliRealData, GeoAssignWithAnIdProperty) {
  GW_NEED_DATA(areas, "boundaries/nyc-community-districts.geojson");
  auto r = run_gridwatch_with_input({"geo", "assign", "--areas", areas, "--id-property", "BoroCD"},
                                    "-73.9857,40.7484\n-73.9936,40.6959\n");
  EXPECT_EQ(r.code, 0) << r.err;
  // The Empire State Building is in Manhattan CD 5; Brooklyn Heights in Brooklyn CD 2.
  EXPECT_EQ(r.out, "-73.9857,40.7484,105\n-73.9936,40.6959,302\n");
}

}  // namespace
}  // namespace gridwatch::testing

namespace gridwatch::testing {
namespace {

TEST(Cli, CalibratePrintsTheHomographyAndErrors) {
  auto dir = temp_dir("cal");
  // A camera looking straight down: pixel (x, y) at 10 px per metre, image y pointing south,
  // so the mapping is a pure scale and every point fits exactly.
  write_file(dir / "points.csv",
             "px,py,lon,lat\n"
             "0,0,116.40000000,39.91009000\n"
             "200,0,116.40023427,39.91009000\n"
             "200,200,116.40023427,39.90991000\n"
             "0,200,116.40000000,39.90991000\n"
             "100,100,116.40011713,39.91000000  # centre\n");
  auto [code, out] = run_gridwatch({"calibrate", "--points", (dir / "points.csv").string()});
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("homography: ["), std::string::npos) << out;
  EXPECT_NE(out.find("rms_error_m: 0.0"), std::string::npos) << out;
  write_file(dir / "bad.csv", "0,0,116.4,39.9\n1,1,116.5,39.95\n2,2,116.6,40.0\n");
  std::tie(code, out) = run_gridwatch({"calibrate", "--points", (dir / "bad.csv").string()});
  EXPECT_EQ(code, 2);
  EXPECT_NE(out.find("at least 4 control points, got 3"), std::string::npos) << out;
  write_file(dir / "junk.csv", "px,py,lon,lat\n0,0,116.4\n");
  std::tie(code, out) = run_gridwatch({"calibrate", "--points", (dir / "junk.csv").string()});
  EXPECT_EQ(code, 2);
  EXPECT_NE(out.find("junk.csv:2: expected px,py,lon,lat"), std::string::npos) << out;
  std::filesystem::remove_all(dir);
}


// The QR sheet's codes, read back with zbar, open each building's report page.
TEST(Cli, QrSheetsCarryEachBuildingsReportUrl) {
  auto dir = temp_dir("cli-qr");
  std::string csv = "code,name,address,lon,lat\n";
  for (int i = 1; i <= 14; ++i) csv += fmt::format("DC-{:04},东城{}号楼,北京市东城区测试路{}号,116.41,39.91\n", i, i, i);
  write_file(dir / "buildings.csv", csv);
  auto [code, out] = run_gridwatch({"qr", "--buildings", (dir / "buildings.csv").string(), "--base-url",
                                    "https://gw.example.gov.cn/", "--out", (dir / "doors.png").string()});
  ASSERT_EQ(code, 0) << out;
  // 14 codes, 12 a page: two pages.
  EXPECT_NE(out.find("14 buildings on 2 page(s)"), std::string::npos) << out;
  // Read back by an independent decoder (zbar; Debian's OpenCV is built without a QR decoder).
  std::set<std::string> urls;
  for (const char* page : {"doors-1.png", "doors-2.png"}) {
    ASSERT_TRUE(std::filesystem::exists(dir / page)) << page;
    const std::string cmd = fmt::format("zbarimg --raw -q '{}' 2>/dev/null", (dir / page).string());
    FILE* p = popen(cmd.c_str(), "r");
    ASSERT_NE(p, nullptr);
    char line[512];
    while (fgets(line, sizeof line, p)) {
      std::string text(line);
      while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
      if (!text.empty()) urls.insert(text);
    }
    pclose(p);
  }
  std::set<std::string> expected;
  for (int i = 1; i <= 14; ++i) expected.insert(fmt::format("https://gw.example.gov.cn/report?b=DC-{:04}", i));
  EXPECT_EQ(urls, expected);
  // A bad registry names its line; a base URL that is not http(s) is refused.
  write_file(dir / "bad.csv", "code,name,address,lon,lat\nDC-1,One,Road,116.4,\n");
  std::tie(code, out) = run_gridwatch({"qr", "--buildings", (dir / "bad.csv").string(), "--base-url", "https://x",
                                       "--out", (dir / "bad.png").string()});
  EXPECT_EQ(code, 2);
  EXPECT_NE(out.find("bad.csv:2: building DC-1: lon,lat must be WGS-84 degrees"), std::string::npos) << out;
  std::tie(code, out) = run_gridwatch({"qr", "--buildings", (dir / "buildings.csv").string(), "--base-url",
                                       "gw.example.gov.cn", "--out", (dir / "x.png").string()});
  EXPECT_EQ(code, 2);
  EXPECT_NE(out.find("base URL \"gw.example.gov.cn\" is not http(s)"), std::string::npos) << out;
  std::filesystem::remove_all(dir);
}

// classify train / predict on a small export the test writes: a model file, one JSON line per
// input line, a bad line answered with its error and the lines after it still classified.
TEST(Cli, ClassifyTrainThenPredictOneJsonLineEach) {
  const auto dir = temp_dir("cli-classify");
  std::string csv = "id,text,label\n";
  const char* noise[] = {"楼下酒吧音乐太吵", "夜间施工噪音扰民", "广场舞音响声音太大", "装修电钻噪声很大"};
  const char* bins[] = {"垃圾桶满了没人清理", "垃圾箱溢出来了", "小区垃圾桶满溢", "分类垃圾桶爆满"};
  for (int round = 0; round < 5; ++round)
    for (int i = 0; i < 4; ++i)
      csv += fmt::format("n{0}{1},{2}{0},noise\nb{0}{1},{3}{0},bins\n", round, i, noise[i], bins[i]);
  csv += "x1,,noise\n";  // no text: skipped with its line number
  write_file(dir / "export.csv", csv);
  write_file(dir / "mapping.yaml", "columns:\n  text: text\n  category: label\n");
  auto [code, out] = run_gridwatch({"classify", "train", "--tickets", (dir / "export.csv").string(), "--mapping",
                                    (dir / "mapping.yaml").string(), "--out", (dir / "m.bin").string(), "--name", "t"});
  ASSERT_EQ(code, 0) << out;
  EXPECT_NE(out.find("export.csv:42: skipped: no text"), std::string::npos) << out;
  EXPECT_NE(out.find("model t-"), std::string::npos) << out;
  auto r = run_gridwatch_with_input({"classify", "predict", "--model", (dir / "m.bin").string()},
                                    "晚上酒吧太吵了\n\n垃圾桶满了\n燃气泄漏了快来\n");
  ASSERT_EQ(r.code, 0) << r.err;
  std::istringstream lines(r.out);
  std::vector<nlohmann::json> answers;
  for (std::string line; std::getline(lines, line);) answers.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(answers.size(), 4u) << r.out;
  EXPECT_EQ(answers[0]["category"], "noise");
  EXPECT_EQ(answers[0]["top3"].size(), 2u);
  EXPECT_EQ(answers[1]["error"], "empty text");
  EXPECT_EQ(answers[1]["line"], 2);
  EXPECT_EQ(answers[2]["category"], "bins");
  EXPECT_EQ(answers[3]["safety"], "燃气泄漏");
  EXPECT_EQ(answers[3]["auto"], false);
  EXPECT_NE(r.err.find("stdin:2: empty text"), std::string::npos) << r.err;
  // a file that is not a model: exit 2 and why
  write_file(dir / "bad.bin", "nope");
  auto [bad_code, bad_out] = run_gridwatch({"classify", "predict", "--model", (dir / "bad.bin").string()});
  EXPECT_EQ(bad_code, 2);
  EXPECT_NE(bad_out.find("is not a gridwatch classifier model"), std::string::npos) << bad_out;
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace gridwatch::testing
