#include "gridwatch/agent/cameras.h"

#include <time.h>

#include <cmath>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "gridwatch/agent/camera_geo.h"
#include "gridwatch/geo/distance.h"

namespace gridwatch::agent {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kStableAfter = std::chrono::seconds{10};  // a stream up this long resets the back-off

int64_t thread_cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// How far off a located point may be: the calibration's residual and the ground spanned by the
// few pixels a box's bottom edge jitters by (2 px at the detect size), whichever way is worse.
std::optional<OrderLocation> locate(const geo::Calibration& cal, const cv::Rect2f& box) {
  const double x = box.x + box.width / 2, y = box.y + box.height;
  auto p = cal.to_wgs84(x, y);
  if (!p) return std::nullopt;
  double jitter = 0;
  for (auto [dx, dy] : {std::pair{2.0, 0.0}, std::pair{0.0, 2.0}, std::pair{-2.0, 0.0}, std::pair{0.0, -2.0}})
    if (auto q = cal.to_wgs84(x + dx, y + dy)) jitter = std::max(jitter, geo::distance_m(*p, *q));
  const double accuracy = std::sqrt(cal.rms_m * cal.rms_m + jitter * jitter);
  return OrderLocation{.position = *p, .accuracy_m = std::max(0.5, std::round(accuracy * 10) / 10)};
}

}  // namespace

std::string_view to_string(CameraState s) {
  switch (s) {
    case CameraState::kStarting: return "starting";
    case CameraState::kRunning: return "running";
    case CameraState::kReconnecting: return "reconnecting";
    case CameraState::kEnded: return "ended";
    case CameraState::kStopped: return "stopped";
  }
  return "?";
}

Result<std::unique_ptr<CameraRunner>> CameraRunner::create(vision::CameraConfig config, CameraOptions options,
                                                           Sink sink) {
  const std::string id = config.id;
  auto cal = camera_calibration(config);
  if (!cal) return fail(ErrorCode::kConfig, fmt::format("camera {}: calibration: {}", id, cal.error().message));
  std::unique_ptr<CameraRunner> r(new CameraRunner(std::move(config), std::move(options), std::move(sink)));
  r->calibration_ = *cal;
  auto pipeline = vision::CameraPipeline::create(r->config_, ground_size(*cal));
  if (!pipeline) return fail(pipeline.error().code, fmt::format("camera {}: {}", id, pipeline.error().message));
  r->pipeline_ = std::move(*pipeline);
  return r;
}

CameraRunner::CameraRunner(vision::CameraConfig config, CameraOptions options, Sink sink)
    : config_(std::move(config)), options_(std::move(options)), sink_(std::move(sink)) {
  if (!options_.open) options_.open = [](const vision::CameraConfig& c) { return vision::open_capture(c.source, c.capture); };
}

CameraRunner::~CameraRunner() { stop(); }

void CameraRunner::start() {
  {
    std::lock_guard lock(mu_);
    if (started_ || stopping_) return;
    started_ = true;
  }
  capture_thread_ = std::thread([this] { capture_loop(); });
  analysis_thread_ = std::thread([this] { analysis_loop(); });
}

void CameraRunner::request_stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
}

void CameraRunner::stop() {
  request_stop();
  if (capture_thread_.joinable()) capture_thread_.join();
  if (analysis_thread_.joinable()) analysis_thread_.join();
  bool started = false;
  {
    std::lock_guard lock(mu_);
    started = started_;
    if (!started) state_ = CameraState::kStopped;  // never ran: nobody to tell
  }
  if (started) set_state(CameraState::kStopped, "");
}

bool CameraRunner::sleep_for(std::chrono::milliseconds d) {
  std::unique_lock lock(mu_);
  return !cv_.wait_for(lock, d, [this] { return stopping_; });
}

void CameraRunner::set_state(CameraState s, const std::string& why) {
  {
    std::lock_guard lock(mu_);
    if (!why.empty()) last_error_ = why;
    if (s == state_) return;
    state_ = s;
  }
  switch (s) {
    case CameraState::kRunning: spdlog::info("camera {}: running", config_.id); break;
    case CameraState::kReconnecting: spdlog::warn("camera {}: {}; reconnecting", config_.id, why); break;
    case CameraState::kEnded: spdlog::info("camera {}: the file {} has ended", config_.id, config_.source); break;
    default: break;
  }
  if (options_.on_change) options_.on_change(config_.id, s);
}

void CameraRunner::capture_loop() {
  const bool live = vision::is_live(config_.source);
  const bool pace = !live && config_.realtime;
  const double period = 1000.0 / config_.fps;
  double next_push_ms = -1;
  std::optional<std::pair<Clock::time_point, double>> pace_origin;  // (wall, media) of the first frame
  auto stopping = [this] {
    std::lock_guard lock(mu_);
    return stopping_;
  };
  vision::ReconnectingSource source(
      [this] { return options_.open(config_); },
      {.first_backoff = options_.first_backoff,
       .max_backoff = options_.max_backoff,
       .stable_after = kStableAfter,
       .max_attempts = 0,
       .file = !live,
       .loop = config_.loop,
       .frame_ms = period,
       .sleep = [this](std::chrono::milliseconds d) { return sleep_for(d); },
       .now = [] { return Clock::now(); },
       .on_state =
           [this](vision::SourceState s, const std::string& why) {
             switch (s) {
               case vision::SourceState::kConnected: return set_state(CameraState::kRunning, "");
               case vision::SourceState::kStalled:
                 ++reconnects_;
                 return set_state(CameraState::kReconnecting, why);
               case vision::SourceState::kReconnecting: return set_state(CameraState::kReconnecting, why);
               case vision::SourceState::kEnded: return set_state(CameraState::kEnded, "");
             }
           },
       .stop = stopping});
  for (;;) {
    auto f = source.next();  // with max_attempts 0, never an error
    if (!f || !*f) break;    // a file that ended, or the agent stopping
    vision::Frame frame = std::move(**f);
    ++frames_in_;
    if (pace) {
      if (!pace_origin) pace_origin = {Clock::now(), frame.media_ms};
      const auto due = pace_origin->first + std::chrono::microseconds{
                                                 static_cast<int64_t>((frame.media_ms - pace_origin->second) * 1000)};
      std::unique_lock lock(mu_);
      if (cv_.wait_until(lock, due, [this] { return stopping_; })) break;
    }
    // Only frames due at the detect rate wait for analysis (the pipeline would skip the rest).
    if (next_push_ms >= 0 && frame.media_ms < next_push_ms) continue;
    next_push_ms = next_push_ms < 0 || frame.media_ms - next_push_ms > period ? frame.media_ms + period
                                                                               : next_push_ms + period;
    {
      std::lock_guard lock(mu_);
      if (queue_.size() >= static_cast<size_t>(config_.queue)) {
        queue_.pop_front();  // analysis is behind: the oldest frame goes, the newest matters
        ++dropped_;
      }
      queue_.push_back({std::move(frame), now_utc()});
    }
    cv_.notify_all();
    capture_cpu_ns_ = thread_cpu_ns();
  }
  {
    std::lock_guard lock(mu_);
    capture_done_ = true;
  }
  cv_.notify_all();
}

void CameraRunner::analysis_loop() {
  double last_ms = 0;
  for (;;) {
    Item item;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return !queue_.empty() || capture_done_ || stopping_; });
      if (stopping_ || queue_.empty()) break;  // stop: at once; the end of a file: once drained
      item = std::move(queue_.front());
      queue_.pop_front();
    }
    const int64_t analysed_before = pipeline_->stats().frames_analysed;
    auto events = pipeline_->process(item.frame);
    last_ms = item.frame.media_ms;
    ++analysed_;
    detector_runs_ = pipeline_->stats().detector_runs;
    if (pipeline_->stats().frames_analysed > analysed_before) {
      std::lock_guard lock(mu_);
      const auto now = Clock::now();
      recent_runs_.push_back(now);
      while (!recent_runs_.empty() && now - recent_runs_.front() > std::chrono::seconds{10}) recent_runs_.pop_front();
    }
    emit(events, item.wall, item.frame.media_ms);
    analysis_cpu_ns_ = thread_cpu_ns();
  }
  // The end of the stream: tracks end (`left`), pending clips are written.
  emit(pipeline_->finish(), now_utc(), last_ms);
  analysis_cpu_ns_ = thread_cpu_ns();
}

void CameraRunner::emit(const std::vector<vision::ZoneEvent>& events, Timestamp frame_wall, double frame_ms) {
  for (const vision::ZoneEvent& e : events) {
    ++events_;
    // The wall time of the moment the event describes (the frame's, less how far back it lies).
    const Timestamp seen = frame_wall - Duration{static_cast<int64_t>(std::max(0.0, frame_ms - e.media_ms))};
    // A track that ended leaves at its last sighting, which lies as far back as the tracker waited
    // for it (`stationary_max_age`, often more than the rule engine's lateness, behind which it
    // refuses inputs): the engine gets a `left` when it became known, the frame's time; the
    // evidence keeps the moment of the last sighting.
    const Timestamp at = e.kind == ZoneEventKind::kLeft ? frame_wall : seen;
    rules::ZoneEvent z{.camera = e.camera,
                       .zone = e.zone,
                       .kind = e.kind,
                       .object = e.label,
                       .track = std::to_string(e.object_id),
                       .ts = at,
                       .stationary = e.kind == ZoneEventKind::kStationary
                                         ? Duration{static_cast<int64_t>(e.dwell_s * 1000)}
                                         : Duration{0},
                       .evidence = e.to_json(seen - Duration{static_cast<int64_t>(e.media_ms)})};
    if (calibration_) z.location = locate(*calibration_, e.box);
    spdlog::info("camera {}: {} {} #{} in {}{}", e.camera, e.label, to_string(e.kind), e.object_id, e.zone,
                 e.kind == ZoneEventKind::kStationary ? fmt::format(" for {:.0f} s", e.dwell_s) : "");
    sink_(std::move(z));
  }
}

CameraStatus CameraRunner::status() const {
  CameraStatus s;
  s.id = config_.id;
  s.frames_in = frames_in_;
  s.frames_dropped = dropped_;
  s.frames_analysed = analysed_;
  s.detector_runs = detector_runs_;
  s.events = events_;
  s.reconnects = reconnects_;
  s.cpu_s = static_cast<double>(capture_cpu_ns_ + analysis_cpu_ns_) / 1e9;
  s.queue_capacity = static_cast<size_t>(config_.queue);
  std::lock_guard lock(mu_);
  s.state = state_;
  s.last_error = last_error_;
  s.queue_depth = queue_.size();
  const auto now = Clock::now();
  size_t n = 0;
  for (auto t : recent_runs_)
    if (now - t <= std::chrono::seconds{10}) ++n;
  s.detect_fps = static_cast<double>(n) / 10.0;
  return s;
}

}  // namespace gridwatch::agent
