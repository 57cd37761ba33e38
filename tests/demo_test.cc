// `gridwatch demo` from start to finish: its own private services, the Beijing districts and
// synthetic grid, scripted sensors whose orders open and clear, bad input kept and counted.
#include <gtest/gtest.h>

#include <cstdio>

#include <sys/wait.h>

#include <regex>

#include "support.h"

namespace gridwatch::testing {
namespace {

TEST(Demo, RunsEverythingAndSummarisesWhatHappened) {
  auto dir = temp_dir("demo");
  const std::string districts =
      std::string(GRIDWATCH_SOURCE_DIR) + "/web/node_modules/echarts/map/json/province/beijing.json";
  auto [code, out] = run_gridwatch({"demo", "--duration", "33", "--http-port", "0", "--data-dir",
                                    (dir / "demo").string(), "--districts", districts, "--web-root",
                                    std::string(GRIDWATCH_SOURCE_DIR) + "/web/dist"},
                                   std::chrono::seconds{150});  // 33 s, and the history and its analytics
  EXPECT_EQ(code, 0) << out;
  // The pages' links (web/tests/browser.mjs drives them) and the doors' QR sheet.
  EXPECT_TRUE(std::regex_search(out, std::regex(R"(control center: +http://127\.0\.0\.1:\d+/#token=demo-dispatcher-token)")))
      << out;
  EXPECT_TRUE(std::regex_search(out, std::regex(R"(worker's phone: +http://127\.0\.0\.1:\d+/worker#token=)"))) << out;
  EXPECT_EQ(out.find("without its map"), std::string::npos) << out;
  // vtest.avi reaches its camera as a real camera sends it: H.264 over RTSP.
  EXPECT_TRUE(std::regex_search(out, std::regex(R"(vtest-cam \(rtsp://127\.0\.0\.1:\d+/cam: vtest\.avi as H\.264 over RTSP\))")))
      << out;
  EXPECT_NE(out.find((dir / "demo" / "building-qr.png").string()), std::string::npos) << out;
  // 16 districts from the echarts map and synthetic cells in Dongcheng and Xicheng.
  std::smatch m;
  ASSERT_TRUE(std::regex_search(out, m, std::regex(R"(\?level=1 \((\d+) synthetic grid cells in 16 districts\))")))
      << out;
  EXPECT_GT(std::stoi(m[1]), 300);  // ~92 km² in 500 m cells
  // A script's flood of keyless forms: the burst of 10 is refused, the rest limited (one more
  // refused a second while the flood lasts).
  int refused = -1, limited = -1;
  {
    const size_t at = out.find("a script without a key posts 20 forms: ");
    ASSERT_NE(at, std::string::npos) << out;
    ASSERT_EQ(std::sscanf(out.c_str() + at, "a script without a key posts 20 forms: %d refused (403, kept), %d answered 429",
                          &refused, &limited),
              2)
        << out.substr(at, 120);
    EXPECT_EQ(refused + limited, 20);
    EXPECT_GE(refused, 10);
    EXPECT_GE(limited, 5);
  }
  // Sensors: bin-001 opens at t=10 s, escalates at 14 s (98 % for 2 s) and clears at 16 s; the
  // underpass floods at 12 s and drains at 28 s (decided 2 s later: the lateness). Street camera: the car drawn by the demo parks in
  // the no-parking zone at 12 s; 10 s later the zone says stationary and the rule opens an order.
  ASSERT_TRUE(std::regex_search(
      out, m,
      std::regex(R"(Summary: (\d+) readings \((\d+) rejected\), (\d+) camera frames, (\d+) zone events, (\d+) orders published, (\d+) stored, (\d+) duplicates, (\d+) messages rejected, (\d+) orders open\.)")))
      << out;
  EXPECT_GE(std::stoi(m[1]), 90);
  EXPECT_EQ(m[2], "2");  // the bad timestamp and the unknown device
  EXPECT_GE(std::stoi(m[3]), 250);  // two cameras at 5 analysed frames a second... and more read
  EXPECT_GE(std::stoi(m[4]), 3);    // at least the car's entered and stationary, and people on vtest
  EXPECT_EQ(m[5], "6");  // bin-001 open + update + clear, underpass open + clear, illegal parking open
  EXPECT_EQ(m[6], "6");
  EXPECT_EQ(std::stoi(m[8]), 1 + refused);  // the truncated order message, and the keyless forms refused
  // The car is still parked (with the resident's ticket beside it), the flooded underpass has a
  // resident's ticket (a sensor's clear does not close it), two more tickets were posted, and the
  // hotline export left six cases (one row joined another, one was broken), a grid worker
  // reported bikes on patrol, and a ticket without a service code took the suggested category.
  EXPECT_EQ(m[9], "12");
  ASSERT_TRUE(std::regex_search(
      out, m,
      std::regex(R"(Hotline: (\d+) tickets posted \(Open311\), (\d+) imported; (\d+) reports joined an existing case; (\d+) cases preempted)")))
      << out;
  EXPECT_EQ(m[1], "5");
  EXPECT_EQ(m[2], "7");
  // 智能派单: the model trained at start on generated tickets fills the category in.
  EXPECT_TRUE(std::regex_search(out, std::regex(R"(Dispatch suggestions \(智能派单\): model demo-[0-9a-f]{8} trained on 440 GENERATED tickets)")))
      << out;
  EXPECT_TRUE(std::regex_search(
      out, std::regex(R"(智能派单: suggested sanitation\.bin_overflow p = [01]\.\d\d \(top 3: .*\); case \S+ is sanitation\.bin_overflow — category filled in)")))
      << out;
  EXPECT_GE(std::stoi(m[3]), 1);  // the flood and the parked car were reported before the calls
  EXPECT_GE(std::stoi(m[4]), 1);
  // The flood case: dispatched to Xicheng (which owns Xizhimen) and the grid worker on duty there,
  // who accepts and starts; the street office summons two departments (吹哨), the last one done
  // resolves the case, the other worker of the grid verifies it on site with a photo (核查) and
  // the gauge's clear confirms it; the resident's evaluation is kept.
  EXPECT_NE(out.find("new -> dispatched (已派单), to unit 110102 and grid worker w-xizhimen"), std::string::npos) << out;
  EXPECT_NE(out.find("w-xizhimen: case"), std::string::npos) << out;
  EXPECT_NE(out.find("summons water_authority, traffic_police"), std::string::npos) << out;
  EXPECT_NE(out.find("every summoned unit done: case"), std::string::npos) << out;
  EXPECT_NE(out.find("resident: satisfied; case"), std::string::npos) << out;
  EXPECT_TRUE(std::regex_search(
      out, std::regex(R"(Flood case \S+: closed, 2 of 2 summoned units done, verified on site by w-xizhimen-2, verified by sensor at )")))
      << out;
  EXPECT_NE(out.find("w-xizhimen-2: case"), std::string::npos) << out;
  // Two workers on patrol: a round sent in batches (one GPS jump dropped), a report nobody had
  // made, and the grid's coverage of the day.
  EXPECT_NE(out.find("grid worker w-xizhimen reports on patrol: 共享单车乱停放 bike clutter, case"), std::string::npos) << out;
  ASSERT_TRUE(std::regex_search(
      out, m,
      std::regex(R"(Patrol: grid \S+ covered (\d+)% today \((\d+) of (\d+) cells of 50 m; w-xizhimen \d+%, w-xizhimen-2 \d+%\); \d+ positions stored, (\d+) GPS jump\(s\) dropped; reported on patrol: case \S+\.)")))
      << out;
  EXPECT_GT(std::stoi(m[2]), 0) << "the round passed some cells";
  EXPECT_LT(std::stoi(m[2]), std::stoi(m[3])) << "and left some to walk";
  EXPECT_EQ(m[4], "1");
  ASSERT_TRUE(std::regex_search(
      out, m,
      std::regex(R"(Rates \(last 30 days\): response (\d+)% \((\d+) of (\d+)\), resolution \d+% \((\d+) of (\d+)\), satisfaction (\d+)% \((\d+) of (\d+)\), proactive share \d+% \((\d+) of (\d+)\))")))
      << out;
  // The 30 days hold the generated history (~40 cases a day, nine in ten answered in time, 85 %
  // of the evaluated satisfied) and the session's own cases.
  EXPECT_GT(std::stoi(m[3]), 900);
  EXPECT_GE(std::stoi(m[1]), 80);
  EXPECT_LE(std::stoi(m[1]), 100);
  EXPECT_GE(std::stoi(m[4]), 900);
  EXPECT_GE(std::stoi(m[6]), 75);
  EXPECT_LE(std::stoi(m[6]), 95);
  // 13 weeks of generated history, and the analytics find what was planted in it.
  ASSERT_TRUE(std::regex_search(out, m, std::regex(R"(History: (\d+) generated closed cases over the last 13 weeks \(seed 20261204)")))
      << out;
  EXPECT_GT(std::stoi(m[1]), 3000);
  ASSERT_TRUE(std::regex_search(out, m, std::regex(R"(hot spots \(28 days, sanitation, hexagons of 250 m\): (\d+) hot and \d+ cold of (\d+) cells)")))
      << out;
  EXPECT_GT(std::stoi(m[1]), 0);
  ASSERT_TRUE(std::regex_search(out, m, std::regex(R"(emerging \(13 weeks, sanitation\): (\d+) intensifying)"))) << out;
  EXPECT_GT(std::stoi(m[1]), 0) << "the growing 乱堆物堆料 problem by 东四";
  ASSERT_TRUE(std::regex_search(out, m, std::regex(R"(anomalies today \((\d+) series by grid\): (\d+) alarm\(s\) — first: traffic in )")))
      << out;
  EXPECT_GE(std::stoi(m[2]), 1) << "the burst of 车乱停放 by 西单";
  EXPECT_TRUE(std::regex_search(out, std::regex(R"(每月一题 \d{4}-\d{2} candidates: #1 [a-z_]+ \(score 0\.\d+, \d+ of 13 weeks recurring\))")))
      << out;
  EXPECT_NE(out.find("8 rows: 4 imported, 1 merged into open cases, 2 without location (dispatcher queue), 1 rejected"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("order open demo-box-01.illegal_parking.street-cam:no_parking."), std::string::npos) << out;
  // The agent's events pass through its outbox on disk: none dropped.
  EXPECT_TRUE(std::regex_search(out, std::regex(R"(orders published \d+ \(outbox on disk: \d+ waiting, 0 dropped\))")))
      << out;
  EXPECT_NE(out.find("services shut down"), std::string::npos) << out;
  std::filesystem::remove_all(dir);
}

// Cluster mode: the same demo on a private 3-node RabbitMQ cluster, two centers sharing its order
// stream; every order the agent published is stored (by one center or the other) once.
TEST(Demo, ClusterModeRunsOnThreeRabbitmqNodesWithTwoCenters) {
  auto dir = temp_dir("demo-cluster");
  const std::string districts =
      std::string(GRIDWATCH_SOURCE_DIR) + "/web/node_modules/echarts/map/json/province/beijing.json";
  auto demo = start_gridwatch({"demo", "--cluster", "--duration", "33", "--http-port", "0", "--data-dir",
                               (dir / "demo").string(), "--districts", districts, "--web-root",
                               std::string(GRIDWATCH_SOURCE_DIR) + "/web/dist"},
                              dir / "out.log");
  const auto status = demo.wait(std::chrono::seconds{240});
  const std::string out = read_file(dir / "out.log");
  ASSERT_TRUE(status.has_value()) << out;
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << out;
  EXPECT_NE(out.find("broker:            RabbitMQ cluster of 3 nodes"), std::string::npos) << out;
  EXPECT_TRUE(std::regex_search(out, std::regex(R"(second center: +http://127\.0\.0\.1:\d+)"))) << out;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(out, m, std::regex(R"((\d+) orders published, (\d+) stored, (\d+) duplicates)"))) << out;
  EXPECT_EQ(m[1], "6") << out;
  EXPECT_EQ(m[2], "6") << "each stored once, by one center or the other: " << out;
  EXPECT_NE(out.find("services shut down"), std::string::npos) << out;
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace gridwatch::testing
