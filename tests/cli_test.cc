// The command line contract: exit codes 0 / 1 / 2 and error messages that name file, line, key.
#include <gtest/gtest.h>

#include <cstdio>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "support.h"

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

TEST(Cli, GeoAssignReadsStdinAndReportsBadLinesByNumber) {
  std::string areas = std::string(GRIDWATCH_SHARED_DIR) + "/data/boundaries/beijing-districts-gcj02.json";
  auto r = run_gridwatch_with_input({"geo", "assign", "--areas", areas, "--crs", "gcj02"},
                                    "lon,lat\n116.3913,39.9075\nabc,1\n0,0\n116.4,95\n116.3903, 39.9918\n");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "lon,lat,area_id\n116.3913,39.9075,110101\n0,0,\n116.3903,39.9918,110105\n");
  EXPECT_NE(r.err.find("line 3: lon \"abc\" is not a number; skipped"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("line 5: lat 95 is out of range [-90, 90]; skipped"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("3 points: 2 in an area, 1 outside, 2 bad lines skipped"), std::string::npos) << r.err;
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

TEST(Cli, VisionReplayWritesZoneEventsAsJsonLines) {
  auto dir = temp_dir("vreplay");
  const std::string models = std::string(GRIDWATCH_SHARED_DIR) + "/data/models/";
  write_file(dir / "cam.yaml", fmt::format(R"(camera: {{id: cam-vtest}}
detect: {{fps: 1}}
detectors:
  - type: dnn
    model: {0}yolo-fastest-1.1-xl.weights
    config: {0}yolo-fastest-1.1-xl.cfg
    names: {0}coco.names
    classes: {{car: vehicle, truck: vehicle}}
    score: 0.3
zones:
  - {{name: van_bay, type: no_parking, polygon: [[630, 30], [730, 30], [730, 115], [630, 115]], classes: [vehicle], dwell: 30s}}
)",
                                           models));
  auto [code, out] = run_gridwatch({"vision", "replay", "--camera", (dir / "cam.yaml").string(), "--video",
                                    "/usr/share/doc/opencv-doc/examples/data/vtest.avi", "--events-out",
                                    (dir / "events.jsonl").string(), "--start", "2026-11-23T08:00:00Z"});
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("795 frames (80 analysed, 0 corrupt)"), std::string::npos) << out;
  std::vector<nlohmann::json> stationary;
  std::istringstream lines(read_file(dir / "events.jsonl"));
  for (std::string line; std::getline(lines, line);) {
    auto j = nlohmann::json::parse(line);
    for (const char* key : {"ts", "camera", "zone", "event", "object_id", "class", "bbox", "dwell_s", "confidence"})
      EXPECT_TRUE(j.contains(key)) << key << " missing in " << line;
    if (j["event"] == "stationary") stationary.push_back(j);
  }
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

TEST(Cli, GeoAssignWithAnIdProperty) {
  std::string areas = std::string(GRIDWATCH_SHARED_DIR) + "/data/boundaries/nyc-community-districts.geojson";
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

}  // namespace
}  // namespace gridwatch::testing
