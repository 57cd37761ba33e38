// Cameras over RTSP: H.264 from a real RTSP server (`gridwatch rtsp serve`, GStreamer) decoded by
// the agent's camera path (OpenCV + FFmpeg), as edge boxes meet real cameras. The clips are the
// street the project draws and Debian's vtest.avi; streams run in real time, so each test lasts
// about as long as the part of the clip it needs.
#include <gtest/gtest.h>

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <functional>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "gridwatch/agent/cameras.h"
#include "gridwatch/geo/distance.h"
#include "gridwatch/platform/rtsp_camera.h"
#include "gridwatch/vision/config.h"
#include "gridwatch/vision/frame_source.h"
#include "gridwatch/vision/scene.h"
#include "test_data.h"

namespace gridwatch {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
constexpr const char* kVtest = "/usr/share/doc/opencv-doc/examples/data/vtest.avi";

fs::path temp_dir(const std::string& name) {
  fs::path d = fs::temp_directory_path() / fmt::format("gw-rtsp-{}-{}", name, getpid());
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

// The encoded clips of this run, shared by its servers.
const fs::path& cache_dir() {
  static const fs::path d = temp_dir("cache");
  return d;
}

// 60 s of the drawn street (the car parks at 8 s and stays until 80 s), written once.
const fs::path& street_clip() {
  static const fs::path clip = [] {
    const fs::path d = temp_dir("street");
    vision::StreetScene scene;
    auto st = vision::write_video(scene, d / "street.avi", 600);
    EXPECT_TRUE(st.has_value()) << st.error().message;
    return d / "street.avi";
  }();
  return clip;
}

platform::RtspCamera serve(const std::string& name, const fs::path& clip, std::vector<std::string> extra) {
  auto c = platform::RtspCamera::start({.gridwatch = GRIDWATCH_BIN,
                                        .clip = clip,
                                        .dir = temp_dir(name),
                                        .cache = cache_dir(),
                                        .extra = std::move(extra)});
  if (!c) throw std::runtime_error(c.error().message);
  return std::move(*c);
}

bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  const auto end = Clock::now() + timeout;
  while (Clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return pred();
}

vision::CameraConfig camera(const std::string& yaml) {
  auto c = vision::parse_camera_config(yaml, "camera.yaml");
  if (!c) throw std::runtime_error(c.error().message);
  return std::move(*c);
}

// The street camera: a stationary detector on the no-parking zone (as in the agent's camera tests).
std::string street_yaml(const std::string& source, const std::string& camera_keys) {
  return fmt::format(R"(camera: {{id: street, source: "{}"{}}}
detect: {{fps: 5}}
detectors: [{{type: stationary, label: object, min_area: 0.004, settle: 2s, min_size_m: 1.5}}]
zones: [{{name: no_parking, type: no_parking, polygon: [[70, 225], [340, 225], [340, 302], [70, 302]], classes: [object], dwell: 10s}}]
tracker: {{stationary_max_age: 30s}}
calibration: {}
)",
                     source, camera_keys, vision::StreetScene::calibration_yaml());
}

// Runs one camera through the agent's runner and keeps its events and changes of state.
struct CameraRun {
  std::mutex mu;
  std::vector<rules::ZoneEvent> events;
  std::vector<std::string> states;
  std::unique_ptr<agent::CameraRunner> runner;

  explicit CameraRun(vision::CameraConfig c, agent::CameraOptions o = {}) {
    o.on_change = [this](const std::string&, agent::CameraState s) {
      std::lock_guard lock(mu);
      states.emplace_back(agent::to_string(s));
    };
    auto r = agent::CameraRunner::create(std::move(c), std::move(o), [this](rules::ZoneEvent e) {
      std::lock_guard lock(mu);
      events.push_back(std::move(e));
    });
    if (!r) throw std::runtime_error(r.error().message);
    runner = std::move(*r);
    runner->start();
  }
  std::vector<rules::ZoneEvent> of(const std::string& zone, ZoneEventKind kind) {
    std::lock_guard lock(mu);
    std::vector<rules::ZoneEvent> out;
    for (const auto& e : events)
      if (e.zone == zone && e.kind == kind) out.push_back(e);
    return out;
  }
};

TEST(RtspCamera, TheParkedCarIsFoundOverRtspAsFromTheFile) {
  // The first 30 s of the street as H.264 over RTSP (TCP, the default), against the same clip read
  // from its file: the same one stationary event, placed as well.
  auto server = serve("tcp", street_clip(), {"--frames", "300"});
  CameraRun from_file(camera(street_yaml(street_clip().string(), ", realtime: false")));
  CameraRun over_rtsp(camera(street_yaml(server.url(), "")));
  ASSERT_TRUE(eventually([&] { return from_file.runner->status().state == agent::CameraState::kEnded; }, 60s));
  ASSERT_TRUE(eventually([&] { return !over_rtsp.of("no_parking", ZoneEventKind::kStationary).empty(); }, 40s))
      << "camera state " << agent::to_string(over_rtsp.runner->status().state) << ", last error "
      << over_rtsp.runner->status().last_error;
  std::this_thread::sleep_for(3s);  // nothing more comes for the parked car
  over_rtsp.runner->stop();
  const auto file_events = from_file.of("no_parking", ZoneEventKind::kStationary);
  const auto rtsp_events = over_rtsp.of("no_parking", ZoneEventKind::kStationary);
  ASSERT_EQ(file_events.size(), 1u);
  ASSERT_EQ(rtsp_events.size(), 1u);
  ASSERT_TRUE(rtsp_events[0].location.has_value());
  const LonLat expected = vision::StreetScene::ground(205, 294);
  const double off = geo::distance_m(rtsp_events[0].location->position, expected);
  EXPECT_LE(off, *rtsp_events[0].location->accuracy_m + 1.0) << "off by " << off << " m";
  EXPECT_EQ(over_rtsp.of("no_parking", ZoneEventKind::kEntered).size(),
            from_file.of("no_parking", ZoneEventKind::kEntered).size());
  const agent::CameraStatus s = over_rtsp.runner->status();
  EXPECT_EQ(s.reconnects, 0);
  EXPECT_GE(s.frames_in, 150);  // 10 fps for more than 20 s
  EXPECT_GE(server.setups("tcp"), 1);
  EXPECT_EQ(server.setups("udp"), 0);
}

TEST(RtspCamera, UdpIsUsedWhenConfigured) {
  auto server = serve("udp", street_clip(), {"--frames", "300"});
  CameraRun run(camera(street_yaml(server.url(), ", transport: udp")));
  ASSERT_TRUE(eventually([&] { return run.runner->status().frames_in >= 30; }, 30s))
      << run.runner->status().last_error;
  run.runner->stop();
  EXPECT_GE(server.setups("udp"), 1);
  EXPECT_EQ(server.setups("tcp"), 0);
  // TCP was still the transport of the other cameras: the switch lasted one opening.
  EXPECT_EQ(std::getenv("OPENCV_FFMPEG_CAPTURE_OPTIONS"), nullptr);
}

TEST(RtspCamera, AServerDownFor20SecondsIsReconnectedWithoutADuplicateEvent) {
  // The car parks at 8 s and is reported at about 20 s. At 23 s the camera loses power for 20 s;
  // it comes back showing the street 45 s in (a live camera shows the present), the car still
  // there. The outage counts as time for the tracker (20 s < stationary_max_age 30 s): the same
  // track goes on, nothing is reported twice.
  auto server = serve("down", street_clip(), {"--frames", "300"});  // killed at 23 s, before its end
  agent::CameraOptions o;
  o.max_backoff = 2s;  // retries every 2 s at most, so the return is seen within 2 s
  CameraRun run(camera(street_yaml(server.url(), ", stall_after: 3s, open_timeout: 3s")), o);
  ASSERT_TRUE(eventually([&] { return run.of("no_parking", ZoneEventKind::kStationary).size() == 1; }, 40s))
      << run.runner->status().last_error;
  ASSERT_TRUE(eventually([&] { return run.runner->status().frames_in >= 230; }, 10s));
  server.kill();
  ASSERT_TRUE(eventually([&] { return run.runner->status().state == agent::CameraState::kReconnecting; }, 10s));
  std::this_thread::sleep_for(20s);
  ASSERT_TRUE(server.restart(std::vector<std::string>{"--start", "45", "--frames", "150"}).has_value());
  const int64_t before = run.runner->status().frames_in;
  ASSERT_TRUE(eventually([&] { return run.runner->status().frames_in >= before + 80; }, 30s))
      << run.runner->status().last_error;
  // Before the stop (which ends every track: `left`), the car is still the one parked car.
  EXPECT_EQ(run.of("no_parking", ZoneEventKind::kStationary).size(), 1u);
  EXPECT_EQ(run.of("no_parking", ZoneEventKind::kEntered).size(), 1u);
  EXPECT_TRUE(run.of("no_parking", ZoneEventKind::kLeft).empty());
  run.runner->stop();
  const agent::CameraStatus s = run.runner->status();
  EXPECT_GE(s.reconnects, 1);
  EXPECT_FALSE(s.last_error.empty());
  std::lock_guard lock(run.mu);
  // Reported in order: running, then reconnecting while it was away, running again, stopped.
  const auto first_reconnecting = std::find(run.states.begin(), run.states.end(), "reconnecting");
  ASSERT_NE(first_reconnecting, run.states.end());
  EXPECT_EQ(run.states.front(), "running");
  EXPECT_NE(std::find(first_reconnecting, run.states.end(), "running"), run.states.end());
  EXPECT_EQ(run.states.back(), "stopped");
}

TEST(RtspCamera, AStreamThatStallsWithoutClosingIsDetectedAndTimeStaysMonotonic) {
  // SIGSTOP the server: its connections stay open and nothing flows. The read gives up after
  // stall_after (2 s), the stream is reopened when the server answers again, and frame times
  // keep increasing, the pause included.
  auto server = serve("stall", street_clip(), {"--frames", "400"});
  const vision::CaptureOptions capture{.transport = "tcp", .open_timeout = 3s, .stall_after = 2s};
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::vector<std::pair<std::string, std::string>> states;
  Clock::time_point stalled_at{};
  vision::ReconnectingSource src([&] { return vision::open_capture(server.url(), capture); },
                                 {.first_backoff = 200ms,
                                  .max_backoff = 1s,
                                  .on_state =
                                      [&](vision::SourceState s, const std::string& why) {
                                        std::lock_guard lock(mu);
                                        if (s == vision::SourceState::kStalled && !states.empty() && states.back().first == "connected")
                                          stalled_at = Clock::now();
                                        states.emplace_back(vision::to_string(s), why);
                                      },
                                  .stop = [&] { return stop.load(); }});
  std::vector<std::pair<double, Clock::time_point>> frames;  // media time, arrival
  std::thread reader([&] {
    for (;;) {
      auto f = src.next();
      if (!f || !*f) return;
      std::lock_guard lock(mu);
      frames.emplace_back((*f)->media_ms, Clock::now());
    }
  });
  auto count = [&] {
    std::lock_guard lock(mu);
    return frames.size();
  };
  // Whatever happens below, the reader is stopped and joined before the test leaves.
  struct Join {
    std::function<void()> f;
    ~Join() { f(); }
  } join{[&] {
    stop = true;
    server.resume();
    server.kill();  // ends a read that waits
    if (reader.joinable()) reader.join();
  }};
  ASSERT_TRUE(eventually([&] { return count() >= 30; }, 30s));
  server.pause();
  const auto paused_at = Clock::now();
  std::this_thread::sleep_for(8s);
  const size_t during = count();
  server.resume();
  const auto resumed_at = Clock::now();
  const bool came_back = eventually([&] { return count() >= during + 30; }, 30s);
  join.f();
  ASSERT_TRUE(came_back);
  std::lock_guard lock(mu);
  // The stall was seen, with its reason, and the stream came back.
  auto stalled = std::find_if(states.begin(), states.end(), [](const auto& s) { return s.first == "stalled"; });
  ASSERT_NE(stalled, states.end());
  EXPECT_NE(stalled->second.find("no frame"), std::string::npos) << stalled->second;
  EXPECT_NE(std::find_if(stalled, states.end(), [](const auto& s) { return s.first == "connected"; }), states.end());
  // Frame times never go back, and the gap spans the pause.
  double biggest_gap = 0;
  for (size_t i = 1; i < frames.size(); ++i) {
    ASSERT_GT(frames[i].first, frames[i - 1].first) << "frame " << i;
    biggest_gap = std::max(biggest_gap, frames[i].first - frames[i - 1].first);
  }
  const double paused_ms = std::chrono::duration<double, std::milli>(resumed_at - paused_at).count();
  EXPECT_GE(biggest_gap, paused_ms - 2500) << "the pause lasted " << paused_ms << " ms";
  // The stall was found about stall_after (2 s) into the pause (the decoder hands out the frame it
  // held as the read gives up).
  const double found_after = std::chrono::duration<double, std::milli>(stalled_at - paused_at).count();
  EXPECT_GE(found_after, 1500) << "before stall_after";
  EXPECT_LE(found_after, 4500) << "long after stall_after";
}

TEST(RtspCameraRealData, TheVanInVtestIsFoundOverRtspAsFromTheFile) {
  // Yolo-Fastest on vtest.avi: the van at the top right is one stationary vehicle at 30 s, as the
  // vision tests find it in the file (VtestVanRealData).
  GW_NEED_DATA(weights, "models/yolo-fastest-1.1-xl.weights");
  GW_NEED_DATA(cfg, "models/yolo-fastest-1.1-xl.cfg");
  GW_NEED_DATA(names, "models/coco.names");
  auto server = serve("van", kVtest, {"--frames", "360"});
  CameraRun run(camera(fmt::format(R"(camera: {{id: cam-vtest, source: "{}"}}
detect: {{fps: 5}}
detectors:
  - type: dnn
    model: {}
    config: {}
    names: {}
    classes: {{car: vehicle, truck: vehicle, bus: vehicle}}
    score: 0.3
zones:
  - name: van_bay
    type: no_parking
    polygon: [[630, 30], [730, 30], [730, 115], [630, 115]]
    classes: [vehicle]
    dwell: 30s
)",
                             server.url(), weights, cfg, names)));
  ASSERT_TRUE(eventually([&] { return !run.of("van_bay", ZoneEventKind::kStationary).empty(); }, 50s))
      << run.runner->status().last_error;
  std::this_thread::sleep_for(2s);
  run.runner->stop();
  const auto stationary = run.of("van_bay", ZoneEventKind::kStationary);
  ASSERT_EQ(stationary.size(), 1u);
  EXPECT_EQ(stationary[0].object, "vehicle");
  EXPECT_GE(stationary[0].stationary, 29s);
}

}  // namespace
}  // namespace gridwatch
