#include "demo_patrol.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numbers>

#include <fmt/format.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <spdlog/spdlog.h>

#include "demo_http.h"
#include "demo_hotline.h"
#include "gridwatch/geo/distance.h"

namespace gridwatch::app {
namespace {

constexpr int kStepS = 15;          // a position every 15 s (the page's batching: 15 s or 25 m)
constexpr int kMinRound = 24;       // positions sent at start, at least (more than 10: one GPS jump among them)
constexpr double kWalkMps = 1.2;    // a walk
constexpr double kRowGapM = 100;    // the round's streets run 100 m apart: half the cells are passed

// A walk along rows kRowGapM apart across [x0, x1] of the box (in metres from its south-west
// corner), back and forth from south to north and back down the west side, one position every
// kStepS seconds, `count` positions (the round repeats).
std::vector<LonLat> round_path(const std::array<double, 4>& box, double x0, double x1, size_t count) {
  const double m_per_lat = geo::kEarthRadiusM * std::numbers::pi / 180;
  const double m_per_lon = m_per_lat * std::cos((box[1] + box[3]) / 2 * std::numbers::pi / 180);
  const double height = (box[3] - box[1]) * m_per_lat;
  std::vector<std::array<double, 2>> corners;
  bool east = true;
  for (double y = 25; y < height; y += kRowGapM) {
    corners.push_back({east ? x0 : x1, y});
    corners.push_back({east ? x1 : x0, y});
    east = !east;
  }
  corners.push_back({x0, 25});  // back to the start
  std::vector<LonLat> out;
  const double step = kWalkMps * kStepS;
  double carry = 0;
  for (size_t i = 0; out.size() < count; i = (i + 1) % corners.size()) {
    const auto& a = corners[i];
    const auto& b = corners[(i + 1) % corners.size()];
    const double len = std::hypot(b[0] - a[0], b[1] - a[1]);
    for (double d = carry; d < len && out.size() < count; d += step) {
      const double f = len > 0 ? d / len : 0;
      out.push_back({box[0] + (a[0] + f * (b[0] - a[0])) / m_per_lon, box[1] + (a[1] + f * (b[1] - a[1])) / m_per_lat});
      carry = d + step - len;
    }
  }
  return out;
}

}  // namespace

DemoPatrol::DemoPatrol(center::Center& center, std::string grid, std::array<double, 4> bbox)
    : center_(center), grid_(std::move(grid)), bbox_(bbox) {
  const double m_per_lon = geo::distance_m({bbox[0], bbox[1]}, {bbox[0] + 0.001, bbox[1]}) / 0.001;
  const double width = (bbox[2] - bbox[0]) * m_per_lon;
  // Two hours of walking and then some: the west half for one worker, the east half for the other.
  const size_t count = 2 * 3600 / kStepS + 400;
  walkers_.push_back({DemoHotline::kWorker, DemoHotline::kWorkerToken, round_path(bbox, 25, width / 2, count)});
  walkers_.push_back({DemoHotline::kWorker2, DemoHotline::kWorker2Token, round_path(bbox, width / 2 + 25, width - 25, count)});
}

void DemoPatrol::send(Walker& w, size_t upto, Timestamp last, const std::vector<std::pair<size_t, LonLat>>& jumps) {
  nlohmann::json positions = nlohmann::json::array();
  for (size_t k = w.next; k < upto; ++k) {
    const Timestamp at = last - std::chrono::seconds{kStepS} * static_cast<int64_t>(upto - 1 - k);
    positions.push_back({{"at", format_rfc3339(at)}, {"lon", w.path[k].lon}, {"lat", w.path[k].lat}, {"accuracy_m", 8}});
    for (const auto& [index, where] : jumps)
      if (index == k)  // a phone's fix gone wild, 5 s later
        positions.push_back({{"at", format_rfc3339(at + std::chrono::seconds{5})},
                             {"lon", where.lon}, {"lat", where.lat}, {"accuracy_m", 40}});
  }
  const std::string day = format_rfc3339(last).substr(0, 10);
  auto j = demo_call(center_.http_port(), "POST", fmt::format("/api/v1/workers/{}/track", w.name),
                     {{"shift", fmt::format("{}-day", day)}, {"positions", positions}}, w.token);
  w.next = upto;
  if (!j) return;
  sent_ += j->value("stored", size_t{0});
  glitches_ += j->value("glitches", nlohmann::json::array()).size();
}

void DemoPatrol::start() {
  using namespace std::chrono;
  // The round began two hours ago (or at local midnight, Beijing time, if that is later), with
  // kMinRound positions behind it even just after midnight, so that there is a round to show.
  const Timestamp now = now_utc();
  const auto midnight = floor<days>(now + hours{8}) - hours{8};
  const auto since = std::min<Timestamp>(std::max<Timestamp>(now - hours{2}, Timestamp{midnight} + minutes{1}),
                                         now - seconds{kMinRound * kStepS});
  const auto n = static_cast<size_t>(duration_cast<seconds>(now - since).count() / kStepS);
  for (Walker& w : walkers_) {
    const size_t upto = std::min(n, w.path.size() / 2);
    // The second phone's fix jumps 2 km north once, 5 s after a good one: dropped as a glitch.
    std::vector<std::pair<size_t, LonLat>> jumps;
    if (&w == &walkers_.back() && upto > 10)
      jumps.push_back({upto / 2, {w.path[upto / 2].lon, w.path[upto / 2].lat + 0.018}});
    send(w, upto, now - seconds{kStepS}, jumps);
  }
  fmt::print("  grid workers {} and {} on patrol in grid {}: the morning's round so far sent ({} positions, {} GPS "
             "jump(s) dropped)\n",
             walkers_[0].name, walkers_[1].name, grid_, sent_, glitches_);
  std::fflush(stdout);
}

std::string DemoPatrol::photo(const char* token, const char* caption) {
  cv::Mat img(360, 480, CV_8UC3, cv::Scalar(96, 128, 112));
  cv::rectangle(img, {40, 200}, {440, 330}, cv::Scalar(70, 70, 70), cv::FILLED);
  cv::putText(img, caption, {30, 60}, cv::FONT_HERSHEY_SIMPLEX, 0.9, cv::Scalar(255, 255, 255), 2);
  cv::putText(img, format_rfc3339(now_utc()), {30, 110}, cv::FONT_HERSHEY_SIMPLEX, 0.6, cv::Scalar(230, 230, 230), 1);
  std::vector<uchar> jpeg;
  cv::imencode(".jpg", img, jpeg, {cv::IMWRITE_JPEG_QUALITY, 80});
  auto j = demo_call(center_.http_port(), "POST", "/api/v1/media", {}, token, std::string(jpeg.begin(), jpeg.end()),
                     "image/jpeg");
  return j ? j->value("url", "") : "";
}

void DemoPatrol::tick(int t) {
  // Worker 1 stands by the underpass from the start (the flood case is theirs); worker 2 walks on.
  Walker& walking = walkers_.back();
  if (t > 0 && t % kStepS == 0 && walking.next < walking.path.size()) send(walking, walking.next + 1, now_utc());
  if (t != 8) return;
  // 巡查上报: by the underpass, worker 1 finds bikes blocking the pavement that nobody has reported.
  const Walker& w = walkers_.front();
  const LonLat at{116.37180, 39.94150};
  const std::string shot = photo(w.token, "shared bikes block the pavement");
  nlohmann::json report = {{"category", "traffic.bike_clutter"},
                           {"lon", at.lon},
                           {"lat", at.lat},
                           {"accuracy_m", 8},
                           {"note", "人行道上共享单车乱停放 shared bikes block the pavement"},
                           {"photos", shot.empty() ? nlohmann::json::array() : nlohmann::json::array({shot})},
                           {"request_id", "demo-report-1"}};
  if (auto j = demo_call(center_.http_port(), "POST", fmt::format("/api/v1/workers/{}/reports", w.name), report, w.token)) {
    report_case_ = j->value("case_id", "");
    fmt::print("  grid worker {} reports on patrol: 共享单车乱停放 bike clutter, case {} ({}, proactive)\n", w.name,
               report_case_, j->value("result", "?"));
    std::fflush(stdout);
  }
}

std::string DemoPatrol::summary() const {
  auto j = demo_call(center_.http_port(), "GET", "/api/v1/stats/coverage?grid=" + grid_, {}, DemoHotline::kAdminToken);
  if (!j || j->at("grids").empty()) return "Patrol: no coverage figure.\n";
  const auto& g = j->at("grids")[0];
  auto pct = [](const nlohmann::json& v) { return v.is_number() ? fmt::format("{:.0f}%", 100 * v.get<double>()) : "-"; };
  std::string workers;
  for (const auto& w : g.at("workers"))
    workers += fmt::format("{}{} {}", workers.empty() ? "" : ", ", w.value("worker", "?"), pct(w.at("share")));
  return fmt::format("Patrol: grid {} covered {} today ({} of {} cells of 50 m; {}); {} positions stored, {} GPS "
                     "jump(s) dropped; reported on patrol: case {}.\n",
                     grid_, pct(g.at("share")), g.value("visited", 0), g.value("cells", 0), workers, sent_, glitches_,
                     report_case_.empty() ? "none" : report_case_);
}

}  // namespace gridwatch::app
