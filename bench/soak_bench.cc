// Soak: the whole system for hours at `scale` times the demo's rate, sampled every minute, to show
// that nothing grows without bound.
//
// As processes, the way a district runs them: a private Mosquitto and PostgreSQL + PostGIS, one
// `gridwatch center`, one `gridwatch agent` with the demo's two cameras (the drawn street scene
// from a file and vtest.avi as H.264 over RTSP from `gridwatch rtsp serve`) and `scale` copies of
// the demo's three scripted sensors (a reading a second each), and this program as the outside
// world: the sensors; the hotline posting Open311 tickets (`scale` a minute), each case worked by
// the API 30 s later (dispatch, accept, start, resolve); the control center's screens (the open
// cases every 5 s, a vector tile every 10 s, the three rates every 30 s, one live event stream
// held the whole run). Injected all along, as the demo does once: a malformed reading every 10 s,
// a reading of an unknown device every 10 s, a reading with a broken time every 30 s, an Open311
// form with a latitude of 95 every minute, 20 forms without a key every 5 minutes.
//
// Every minute: resident memory (RSS, and PSS: shared pages split among the processes that map
// them, which is what PostgreSQL's shared buffers count for), open files and threads of each
// process (PostgreSQL: the server and its sessions together), the database's size and rows, the agent's data directory, and the
// queues (agent outbox, center ingest and HTTP). At the end: each series' slope per hour over the
// run after a warm-up and over its second half (a leak keeps its slope; a cache that fills
// flattens), and the warnings and errors in the logs grouped by reason, the injected ones apart.
//
//   build/bench/soak_bench [minutes (120)] [scale (10)]
//
// The binary is copied at the start (a rebuild during the run does not touch it); the run's
// directory (configs, logs, samples.csv) is kept and printed.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <deque>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "gridwatch/domain/time.h"
#include "gridwatch/platform/mqtt.h"
#include "gridwatch/platform/process.h"
#include "gridwatch/platform/rtsp_camera.h"
#include "gridwatch/platform/services.h"
#include "gridwatch/vision/scene.h"
#include "support.h"

using namespace gridwatch;
using namespace gridwatch::testing;
using namespace std::chrono_literals;
using json = nlohmann::json;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
const fs::path kVtest = "/usr/share/doc/opencv-doc/examples/data/vtest.avi";
constexpr const char* kKey = "soak-hotline-key-0123456789";

// ---- what is sampled ----

struct ProcStat {
  double rss_mb = 0, fds = 0, threads = 0;
  double pss_mb = 0;  // proportional: shared pages split among their users (PostgreSQL's buffers)
};

double pss_mb(pid_t pid) {
  std::ifstream in(fmt::format("/proc/{}/smaps_rollup", pid));
  for (std::string line; std::getline(in, line);)
    if (line.rfind("Pss:", 0) == 0) return std::stod(line.substr(4)) / 1024.0;
  return 0;
}

ProcStat proc_stat(pid_t pid) {
  const auto p = platform::process_info(pid);
  if (!p) return {};
  return {.rss_mb = static_cast<double>(p->rss_bytes) / (1024.0 * 1024.0), .fds = static_cast<double>(platform::open_files(pid)),
          .threads = static_cast<double>(p->threads), .pss_mb = pss_mb(pid)};
}

// A process and all its descendants (the PostgreSQL server: postmaster, sessions, workers).
ProcStat tree_stat(pid_t root) {
  const auto all = platform::list_processes();
  std::set<pid_t> tree{root};
  for (bool grew = true; grew;) {
    grew = false;
    for (const auto& p : all)
      if (tree.count(p.parent) && tree.insert(p.pid).second) grew = true;
  }
  ProcStat sum;
  for (pid_t p : tree) {
    const ProcStat s = proc_stat(p);
    sum.rss_mb += s.rss_mb;
    sum.fds += s.fds;
    sum.threads += s.threads;
    sum.pss_mb += s.pss_mb;
  }
  return sum;
}

double dir_mb(const fs::path& dir) {
  uintmax_t bytes = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec))
    if (it->is_regular_file(ec)) bytes += it->file_size(ec);
  return static_cast<double>(bytes) / (1024.0 * 1024.0);
}

// ---- the series and their slopes ----

struct Series {
  std::string name, unit;
  std::vector<double> minute, value;
};

// Least-squares slope per hour of the samples from minute `from` on; NaN with fewer than 3.
double slope_per_hour(const Series& s, double from) {
  double n = 0, sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (size_t i = 0; i < s.value.size(); ++i) {
    if (s.minute[i] < from || std::isnan(s.value[i])) continue;
    const double x = s.minute[i] / 60.0, y = s.value[i];
    n += 1, sx += x, sy += y, sxx += x * x, sxy += x * y;
  }
  if (n < 3 || sxx * n - sx * sx == 0) return NAN;
  return (n * sxy - sx * sy) / (n * sxx - sx * sx);
}

// ---- the logs ----

// A log line's reason without its particulars (numbers, quoted words, ids), to group by.
std::string reason_of(std::string line) {
  static const std::regex stamp(R"(^\S+Z\s+)"), quoted(R"("[^"]*")"), number(R"([0-9][0-9a-fA-F:.\-TZ]*)"),
      topic(R"(\S+/sensors/\S+)");
  line = std::regex_replace(line, stamp, "");
  line = std::regex_replace(line, topic, "<topic>");
  line = std::regex_replace(line, quoted, "\"…\"");
  line = std::regex_replace(line, number, "#");
  return line.size() > 150 ? line.substr(0, 150) + "…" : line;
}

// Where a warning or error comes from: "injected" (what this program sends to be refused, as
// the processes word it), "setup" (the run's own staging: the map data's repaired polygons at the
// start, the RTSP test server's clip ending — it plays the clip once a connection, so the camera
// reconnects every 79 s), or "UNEXPECTED".
std::string origin(const std::string& reason) {
  for (const char* what : {"unknown device", "payload is not valid JSON", "not an RFC # timestamp",
                           "api_key is required", "lat must be a number"})
    if (reason.find(what) != std::string::npos) return "injected";
  for (const char* what : {"invalid geometry repaired", "camera vtest-cam: camera rtsp://#/cam: no frame (stalled or closed)"})
    if (reason.find(what) != std::string::npos) return "setup";
  return "UNEXPECTED";
}

struct LogCount {
  std::map<std::string, int64_t> reasons;  // warnings and errors
};

LogCount scan_log(const fs::path& file) {
  LogCount c;
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);)
    if (line.find(" warning ") != std::string::npos || line.find(" error ") != std::string::npos ||
        line.find(" critical ") != std::string::npos)
      ++c.reasons[reason_of(line)];
  return c;
}

// ---- the world ----

struct Scripts {  // the demo's sensors (app/demo.cc), one tick a second
  static double bin_a(int t) {
    const int k = t % 24;
    return k <= 12 ? 50 + 4 * k : k <= 15 ? 98 : 8 + 3 * (k - 16);
  }
  static double bin_b(int t) { return 45 + 20 * std::sin(t / 3.0); }
  static double water(int t) {
    const int k = t % 40;
    return k < 5 ? 0 : k < 15 ? 20.0 * (k - 4) : k <= 20 ? 200 : k <= 30 ? 200 - 20.0 * (k - 20) : 0;
  }
};

struct Copy {  // one copy of the demo's three sensors, shifted east
  std::string bin_a, bin_b, water;
  double dlon = 0;
};

std::string agent_yaml(const fs::path& dir, const std::string& mqtt, int metrics_port, const std::vector<Copy>& copies,
                       const std::string& vtest_url, const fs::path& street_clip) {
  std::string sensors;
  for (const Copy& c : copies)
    sensors += fmt::format(
        "  - {{device_id: {}, type: bin_fill, location: {{lon: {:.5f}, lat: 39.91390, accuracy_m: 5}}}}\n"
        "  - {{device_id: {}, type: bin_fill, location: {{lon: {:.5f}, lat: 39.92410, accuracy_m: 5}}}}\n"
        "  - {{device_id: {}, type: water_depth, location: {{lon: {:.5f}, lat: 39.94100, accuracy_m: 10}}}}\n",
        c.bin_a, 116.41090 + c.dlon, c.bin_b, 116.40360 + c.dlon, c.water, 116.37070 + c.dlon);
  std::string cameras = fmt::format(R"(  - camera: {{id: street-cam, source: "{}", loop: true}}
    detect: {{fps: 5}}
    detectors:
      - {{type: stationary, label: object, min_area: 0.004, settle: 2s, min_size_m: 1.5}}
      - {{type: bin_overflow, learn: 5s, settle: 2s, overflow_at: 0.15}}
    zones:
      - {{name: no_parking, type: no_parking, polygon: [[70, 225], [340, 225], [340, 302], [70, 302]], classes: [object], dwell: 10s}}
      - {{name: bins, type: bin_station, polygon: [[460, 285], [620, 285], [620, 355], [460, 355]], classes: [bin_overflow], dwell: 5s}}
    tracker: {{stationary_max_age: 4s}}
    evidence: {{clip_before: 5s, clip_after: 5s}}
    calibration: {}
)",
                                    street_clip.string(), vision::StreetScene::calibration_yaml());
  if (!vtest_url.empty())
    cameras += fmt::format(R"(  - camera: {{id: vtest-cam, source: "{}"}}
    detect: {{fps: 5}}
    detectors:
      - {{type: motion, label: person, min_area: 0.003}}
    zones:
      - {{name: walkway, type: sidewalk, polygon: [[0, 180], [768, 180], [768, 330], [0, 330]], classes: [person], dwell: 60s}}
)",
                           vtest_url);
  return fmt::format(R"(agent: {{id: soak-box, data_dir: {dir}/agent}}
broker: {{url: "{mqtt}", topic_prefix: gw/v1}}
status: {{interval: 5s, metrics: "127.0.0.1:{port}"}}
cameras:
{cameras}sensors:
{sensors}rules:
  timezone: Asia/Shanghai
  lateness: 2s
  rules:
    - id: bin_full
      category: sanitation.bin_overflow
      input: {{type: bin_fill}}
      when: {{threshold: {{above: 90, clear_below: 60}}}}
      escalate:
        - priority: high
          when: {{threshold: {{above: 98}}, for: 2s}}
    - id: underpass_flood
      category: water.waterlogging
      priority: urgent
      input: {{type: water_depth}}
      when: {{threshold: {{above: 150, clear_below: 50}}}}
    - id: bin_silent
      category: sanitation.bin_overflow
      priority: low
      input: {{type: bin_fill}}
      when: {{no_data: {{for: 20s}}}}
    - id: illegal_parking
      category: traffic.illegal_parking
      input: {{zones: ["street-cam:no_parking"]}}
      when: {{zone: {{stationary: 10s}}}}
    - id: bins_overflowing
      category: sanitation.bin_overflow
      input: {{zones: ["street-cam:bins"]}}
      when: {{zone: {{stationary: 5s}}}}
)",
                     fmt::arg("dir", dir.string()), fmt::arg("mqtt", mqtt), fmt::arg("port", metrics_port),
                     fmt::arg("cameras", cameras), fmt::arg("sensors", sensors));
}

std::string center_yaml(const std::string& mqtt, const std::string& db, int port) {
  return fmt::format(R"(center: {{id: soak-center}}
broker: {{url: "{mqtt}", topic_prefix: gw/v1}}
database: {{conninfo: "{db}"}}
http: {{port: {port}}}
open311:
  api_keys:
    - {{name: hotline, key: {key}}}
areas:
  - {{file: "{map}", level: district, crs: gcj02}}
  - {{level: grid, synthetic_cell_m: 500, within: ["110101", "110102"]}}
{auth})",
                     fmt::arg("mqtt", mqtt), fmt::arg("db", db), fmt::arg("port", port), fmt::arg("key", kKey),
                     fmt::arg("map", echarts_beijing_map()), fmt::arg("auth", auth_yaml()));
}

// The hotline and the screens: HTTP from outside, counted by answer.
class Outside {
 public:
  explicit Outside(int port) : port_(port) {}

  void count(const std::string& what, int status) {
    std::lock_guard lock(mu_);
    ++answers_[fmt::format("{} {}", what, status)];
  }
  std::map<std::string, int64_t> answers() {
    std::lock_guard lock(mu_);
    return answers_;
  }

  // A ticket at a place of Dongcheng or Xicheng; its case is worked 30 s later.
  void post_ticket(int n) {
    static const char* kCodes[] = {"environment.noise", "sanitation.dumped_waste", "traffic.illegal_parking",
                                   "utilities.manhole_cover", "water.waterlogging"};
    const double lon = 116.360 + (n * 37 % 100) * 0.0007, lat = 39.905 + (n * 53 % 100) * 0.0004;
    const auto r = http_post(port_, "/open311/v2/requests.json",
                             form_encode({{"api_key", kKey}, {"service_code", kCodes[n % 5]},
                                          {"lat", fmt::format("{:.5f}", lat)}, {"long", fmt::format("{:.5f}", lon)},
                                          {"description", fmt::format("soak ticket {} 市民来电", n)}}),
                             "application/x-www-form-urlencoded");
    count("open311 post", r.status);
    if (r.status != 200) return;
    const auto j = json::parse(r.body, nullptr, false);
    if (j.is_array() && !j.empty()) {
      std::lock_guard lock(mu_);
      to_work_.emplace_back(Clock::now() + 30s, j[0].value("service_request_id", ""));
    }
  }
  // Cases due: dispatch, accept, start, resolve (a step refused because the case moved on, e.g.
  // it joined a sensor's case that cleared, is counted by its answer).
  void work_due() {
    std::vector<std::string> due;
    {
      std::lock_guard lock(mu_);
      while (!to_work_.empty() && to_work_.front().first <= Clock::now()) {
        due.push_back(to_work_.front().second);
        to_work_.pop_front();
      }
    }
    for (const std::string& ticket : due) {
      const auto c = http_get(port_, "/api/v1/orders/" + ticket);
      count("get case", c.status);
      if (c.status != 200) continue;
      const auto j = json::parse(c.body, nullptr, false);
      const std::string id = j.is_discarded() ? "" : j.value("id", "");
      for (const char* action : {"dispatch", "accept", "start", "resolve"}) {
        json body = {{"action", action}, {"reason", "soak"}};
        if (std::string_view(action) == "dispatch") body["unit"] = "110101";
        const auto r = http_request(port_, "POST", fmt::format("/api/v1/orders/{}/actions", id), body.dump(), kAdminToken);
        count(fmt::format("action {}", action), r.status);
      }
    }
  }
  void screens(int t) {
    if (t % 5 == 0) count("open cases", http_get(port_, "/api/v1/orders?status=open").status);
    if (t % 10 == 0) count("tile", http_get(port_, "/tiles/11/1686/775.mvt").status);
    if (t % 30 == 0) count("stats", http_get(port_, "/api/v1/stats?by=district").status);
  }
  void injected_forms(int t) {
    if (t % 60 == 30)
      count("open311 lat 95", http_post(port_, "/open311/v2/requests.json",
                                        form_encode({{"api_key", kKey}, {"service_code", "environment.noise"},
                                                     {"lat", "95.0"}, {"long", "116.4"}}),
                                        "application/x-www-form-urlencoded")
                                  .status);
    if (t % 300 == 150)
      for (int i = 0; i < 20; ++i)
        count("open311 without key",
              http_post(port_, "/open311/v2/requests.json",
                        form_encode({{"service_code", "sanitation.dumped_waste"}, {"description", "spam"}}),
                        "application/x-www-form-urlencoded")
                  .status);
  }
  // The wall map's live stream, held open; reopened if it ends. Bytes received.
  void hold_event_stream(const std::atomic<bool>& stop) {
    while (!stop) {
      httplib::Client cli("127.0.0.1", port_);
      cli.set_read_timeout(5);
      auto r = cli.Get(fmt::format("/api/v1/events?access_token={}", kAdminToken),
                       [&](const char*, size_t n) {
                         stream_bytes_ += static_cast<int64_t>(n);
                         return !stop.load();
                       });
      if (!stop) {
        ++stream_reopened_;
        std::this_thread::sleep_for(1s);
      }
    }
  }
  int64_t stream_bytes() const { return stream_bytes_; }
  int64_t stream_reopened() const { return stream_reopened_; }

 private:
  int port_;
  std::mutex mu_;
  std::map<std::string, int64_t> answers_;
  std::deque<std::pair<Clock::time_point, std::string>> to_work_;
  std::atomic<int64_t> stream_bytes_{0}, stream_reopened_{0};
};

}  // namespace

int main(int argc, char** argv) {
  const double minutes = argc > 1 ? std::stod(argv[1]) : 120;
  const int scale = argc > 2 ? std::stoi(argv[2]) : 10;
  set_token(kAdminToken);
  const fs::path dir = temp_dir("soak");
  const fs::path bin = dir / "gridwatch";
  fs::copy_file(GRIDWATCH_BIN, bin, fs::copy_options::overwrite_existing);

  auto svc = platform::PrivateServices::start({.dir = dir / "services"});
  if (!svc) {
    fmt::print(stderr, "services: {}\n", svc.error().message);
    return 1;
  }
  const auto& ep = (*svc)->endpoints();
  std::optional<platform::RtspCamera> rtsp;
  if (fs::exists(kVtest)) {
    auto cam = platform::RtspCamera::start({.gridwatch = bin, .clip = kVtest, .dir = dir / "rtsp"});
    if (!cam) {
      fmt::print(stderr, "rtsp: {}\n", cam.error().message);
      return 1;
    }
    rtsp.emplace(std::move(*cam));
  } else {
    fmt::print("{} is not installed (Debian opencv-doc): the street camera only\n", kVtest.string());
  }
  const fs::path street = dir / "street-scene.avi";
  {
    vision::StreetScene scene;
    if (auto st = vision::write_video(scene, street,
                                      static_cast<int64_t>(vision::StreetScene::kPeriod * vision::StreetScene::kFps), 75);
        !st) {
      fmt::print(stderr, "street scene: {}\n", st.error().message);
      return 1;
    }
  }
  std::vector<Copy> copies;
  for (int i = 0; i < scale; ++i)
    copies.push_back({fmt::format("bin-a{:02}", i), fmt::format("bin-b{:02}", i), fmt::format("water-{:02}", i),
                      0.0045 * i});
  const int center_port = platform::free_tcp_port().value_or(0), agent_port = platform::free_tcp_port().value_or(0);
  write_file(dir / "center.yaml", center_yaml(ep.mqtt_url, ep.pg_conninfo, center_port));
  write_file(dir / "agent.yaml", agent_yaml(dir, ep.mqtt_url, agent_port, copies, rtsp ? rtsp->url() : "", street));
  auto center = platform::ChildProcess::spawn({bin.string(), "center", "--config", (dir / "center.yaml").string()},
                                              {.log_file = dir / "center.log"});
  auto agent = platform::ChildProcess::spawn({bin.string(), "agent", "--config", (dir / "agent.yaml").string()},
                                             {.log_file = dir / "agent.log"});
  if (!center || !agent) {
    fmt::print(stderr, "cannot start the center or the agent\n");
    return 1;
  }
  if (!eventually([&] { return http_get(center_port, "/healthz").status == 200; }, 120s) ||
      !eventually([&] { return http_get(agent_port, "/metrics").status == 200; }, 60s)) {
    fmt::print(stderr, "the center or the agent did not come up: see {}\n", dir.string());
    return 1;
  }
  auto sensors = platform::MqttClient::create({.url = ep.mqtt_url, .client_id = "soak-sensors"});
  if (!sensors || !(*sensors)->connect(10s)) {
    fmt::print(stderr, "sensors: no broker\n");
    return 1;
  }
  fmt::print("soak: {} min at {}x the demo's rate ({} sensors, {} cameras, {} tickets a minute); run in {}\n", minutes,
             scale, 3 * scale, rtsp ? 2 : 1, scale, dir.string());

  Outside outside(center_port);
  std::atomic<bool> stop{false};
  std::thread stream([&] { outside.hold_event_stream(stop); });

  // The series sampled every minute.
  std::vector<std::pair<std::string, pid_t>> procs = {{"center", center->pid()}, {"agent", agent->pid()},
                                                      {"mosquitto", (*svc)->mosquitto_pid()}};
  if (rtsp) procs.emplace_back("rtsp", rtsp->pid());
  std::map<std::string, Series> series;
  auto add = [&](const std::string& name, const std::string& unit, double minute, double v) {
    auto& s = series[name];
    s.name = name, s.unit = unit;
    s.minute.push_back(minute);
    s.value.push_back(v);
  };
  std::ofstream csv(dir / "samples.csv");
  bool header = false;
  std::set<std::string> died;  // a process that ended samples as nothing: said, not a slope
  auto sample = [&](double minute) {
    for (auto [name, child] : {std::pair{"center", &*center}, std::pair{"agent", &*agent}})
      if (!child->running() && died.insert(name).second) fmt::print("PROCESS ENDED: {} (see its log)\n", name);
    if (rtsp && !rtsp->running() && died.insert("rtsp").second) fmt::print("PROCESS ENDED: rtsp\n");
    std::vector<std::pair<std::string, double>> row;
    for (const auto& [name, pid] : procs) {
      const ProcStat s = proc_stat(pid);
      row.insert(row.end(), {{name + ".rss_mb", s.rss_mb}, {name + ".pss_mb", s.pss_mb}, {name + ".fds", s.fds},
                             {name + ".threads", s.threads}});
    }
    const ProcStat pg = tree_stat((*svc)->postgres_pid());
    row.insert(row.end(), {{"postgres.rss_mb", pg.rss_mb}, {"postgres.pss_mb", pg.pss_mb}, {"postgres.fds", pg.fds},
                           {"postgres.threads", pg.threads}});
    const auto db = sql(ep.pg_conninfo,
                        "SELECT pg_database_size(current_database()), (SELECT count(*) FROM order_events), "
                        "(SELECT count(*) FROM orders), (SELECT count(*) FROM dead_letters)");
    const bool db_ok = db.size() == 1 && db[0].size() == 4;
    row.insert(row.end(), {{"db.size_mb", db_ok ? std::stod(db[0][0]) / (1024.0 * 1024.0) : kNaN},
                           {"db.order_events", db_ok ? std::stod(db[0][1]) : kNaN},
                           {"db.cases", db_ok ? std::stod(db[0][2]) : kNaN},
                           {"db.dead_letters", db_ok ? std::stod(db[0][3]) : kNaN}});
    const std::string am = http_get(agent_port, "/metrics").body, cm = http_get(center_port, "/metrics").body;
    row.insert(row.end(), {{"agent.outbox_pending", metric(am, "gw_agent_outbox_pending")},
                           {"agent.camera_queue", metric(am, "gw_agent_camera_queue_depth")},
                           {"agent.open_episodes", metric(am, "gw_agent_open_episodes")},
                           {"agent.data_dir_mb", dir_mb(dir / "agent")},
                           {"center.ingest_queue", metric(cm, "gw_center_ingest_queue_depth")},
                           {"center.http_connections", metric(cm, "gw_center_http_connections")},
                           {"center.event_streams", metric(cm, "gw_center_http_event_streams")}});
    if (!header) {
      csv << "minute";
      for (const auto& [k, v] : row) csv << "," << k;
      csv << "\n";
      header = true;
    }
    csv << minute;
    for (const auto& [k, v] : row) {
      csv << "," << v;
      add(k, "", minute, v);
    }
    csv << "\n" << std::flush;
    fmt::print("[{:>5.1f} min] center {:.0f} MB {:.0f} fds {:.0f} thr | agent {:.0f} MB {:.0f} fds {:.0f} thr | "
               "pg {:.0f} MB (pss) | db {:.1f} MB, {:.0f} events, {:.0f} dead letters | outbox {:.0f}, ingest {:.0f}\n",
               minute, series["center.rss_mb"].value.back(), series["center.fds"].value.back(),
               series["center.threads"].value.back(), series["agent.rss_mb"].value.back(),
               series["agent.fds"].value.back(), series["agent.threads"].value.back(),
               series["postgres.pss_mb"].value.back(), series["db.size_mb"].value.back(),
               series["db.order_events"].value.back(), series["db.dead_letters"].value.back(),
               series["agent.outbox_pending"].value.back(), series["center.ingest_queue"].value.back());
    std::fflush(stdout);
  };

  auto reading = [](double v, const char* type, const char* unit) {
    return json({{"ts", format_rfc3339(now_utc())}, {"type", type}, {"value", std::round(v * 10) / 10}, {"unit", unit}})
        .dump();
  };
  auto send = [&](const std::string& device, const std::string& payload) {
    (void)(*sensors)->publish(fmt::format("gw/v1/sensors/{}/reading", device), payload, 1, false);
  };
  const auto start = Clock::now();
  const int seconds = static_cast<int>(minutes * 60);
  int tickets = 0;
  for (int t = 0; t < seconds; ++t) {
    for (size_t i = 0; i < copies.size(); ++i) {
      const int tt = t + static_cast<int>(i) * 7;  // the copies out of step with each other
      send(copies[i].bin_a, reading(Scripts::bin_a(tt), "bin_fill", "%"));
      if (tt % 60 < 30) send(copies[i].bin_b, reading(Scripts::bin_b(tt), "bin_fill", "%"));
      send(copies[i].water, reading(Scripts::water(tt), "water_depth", "mm"));
    }
    if (t % 10 == 3) send(copies[0].bin_a, R"({"ts":"2026-12-04T00:00:00Z","type":"bin_fill","value":)");
    if (t % 10 == 7) send("bin-999", reading(50, "bin_fill", "%"));
    if (t % 30 == 11) send(copies[0].bin_a, R"({"ts":"yesterday","type":"bin_fill","value":50})");
    if (scale > 0 && t % std::max(1, 60 / scale) == 0) outside.post_ticket(tickets++);
    outside.work_due();
    outside.screens(t);
    outside.injected_forms(t);
    if (t % 60 == 0) sample(t / 60.0);
    std::this_thread::sleep_until(start + std::chrono::seconds{t + 1});
  }
  sample(minutes);
  stop = true;
  stream.join();

  // ---- the verdict ----
  const double warmup = std::min(10.0, minutes / 4);
  fmt::print("\nslopes per hour, least squares after {:.0f} min of warm-up (whole run | second half):\n", warmup);
  fmt::print("| series | first | last | slope/h | slope/h, 2nd half |\n|---|---:|---:|---:|---:|\n");
  std::map<std::string, double> late_slope;
  for (const auto& [name, s] : series) {
    if (s.value.empty()) continue;
    const double all = slope_per_hour(s, warmup), half = slope_per_hour(s, std::max(warmup, minutes / 2));
    late_slope[name] = half;
    fmt::print("| {} | {:.1f} | {:.1f} | {:+.2f} | {:+.2f} |\n", name, s.value.front(), s.value.back(), all, half);
  }
  // Bytes the database grows by per stored event, first and second half: constant when the
  // growth is the record itself.
  const auto& size = series["db.size_mb"];
  const auto& events = series["db.order_events"];
  const double size_per_event = slope_per_hour(size, warmup) / std::max(1.0, slope_per_hour(events, warmup)) * 1024 * 1024;

  std::map<std::string, int64_t> by_origin;
  for (const char* log : {"center.log", "agent.log"}) {
    const LogCount c = scan_log(dir / log);
    std::vector<std::pair<int64_t, std::string>> top;
    for (const auto& [r, n] : c.reasons) top.emplace_back(n, r);
    std::sort(top.rbegin(), top.rend());
    fmt::print("\n{}: warnings and errors by reason\n", log);
    for (const auto& [n, r] : top) {
      const std::string o = origin(r);
      by_origin[o] += n;
      fmt::print("  {:>7} {:<10} {}\n", n, o, r);
    }
  }
  fmt::print("\nanswers from outside:\n");
  for (const auto& [k, n] : outside.answers()) fmt::print("  {:>7} {}\n", n, k);
  fmt::print("live stream: {} bytes, reopened {} times\n", outside.stream_bytes(), outside.stream_reopened());
  fmt::print(
      "RESULT minutes={:.0f} scale={} center_rss_mb_per_h={:+.2f} agent_rss_mb_per_h={:+.2f} "
      "postgres_pss_mb_per_h={:+.2f} center_fds_per_h={:+.2f} agent_fds_per_h={:+.2f} center_threads_per_h={:+.2f} "
      "agent_threads_per_h={:+.2f} outbox_per_h={:+.2f} db_bytes_per_event={:.0f} log_unexpected={} "
      "log_injected={} log_setup={} processes_ended={}\n",
      minutes, scale, late_slope["center.rss_mb"], late_slope["agent.rss_mb"], late_slope["postgres.pss_mb"],
      late_slope["center.fds"], late_slope["agent.fds"], late_slope["center.threads"], late_slope["agent.threads"],
      late_slope["agent.outbox_pending"], size_per_event, by_origin["UNEXPECTED"], by_origin["injected"],
      by_origin["setup"], died.size());
  fmt::print("run kept in {}\n", dir.string());
  (*sensors)->disconnect(1s);
  return 0;
}
