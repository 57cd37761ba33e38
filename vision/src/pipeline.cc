#include "gridwatch/vision/pipeline.h"

#include "gridwatch/vision/evidence.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/objdetect.hpp>
#include <opencv2/videoio.hpp>

#include <algorithm>
#include <chrono>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace gridwatch::vision {
namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

}  // namespace

// ---- pipeline -------------------------------------------------------------------------------------

CameraPipeline::CameraPipeline(CameraConfig config)
    : config_(std::move(config)), motion_(config_.motion), tracker_(config_) {
  // 2026-11-23T08:00:00.123Z -> 20261123T080000123
  for (char c : format_rfc3339(now_utc()))
    if (std::isdigit(static_cast<unsigned char>(c)) || c == 'T') run_ += c;
}

CameraPipeline::~CameraPipeline() = default;

Result<std::unique_ptr<CameraPipeline>> CameraPipeline::create(CameraConfig config, GroundSize ground) {
  std::unique_ptr<CameraPipeline> p(new CameraPipeline(std::move(config)));
  p->ground_ = std::move(ground);
  for (const DetectorConfig& dc : p->config_.detectors)
    if (dc.min_size_m > 0 && !p->ground_)
      return fail(ErrorCode::kInvalidArgument,
                  fmt::format("camera {}: a {} detector with min_size_m needs the camera's calibration", p->config_.id,
                              dc.type),
                  "min_size_m");
  for (const DetectorConfig& dc : p->config_.detectors) {
    auto d = make_detector(dc);
    if (!d) return std::unexpected(d.error());
    p->detectors_.push_back(std::move(*d));
  }
  const EvidenceConfig& ev = p->config_.evidence;
  if (ev.blur_faces || ev.blur_plates) {
    auto privacy = PrivacyFilter::load(ev.cascades, ev.blur_faces, ev.blur_plates);
    if (!privacy) return std::unexpected(privacy.error());
    p->privacy_ = std::move(*privacy);
  }
  if (!ev.dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(ev.dir, ec);
    if (ec) return fail(ErrorCode::kIo, fmt::format("evidence: {}: {}", ev.dir.string(), ec.message()), "dir");
  }
  return p;
}

void CameraPipeline::prepare(cv::Size source_size) {
  prepared_ = true;
  size_ = config_.detect.width > 0 ? config_.detect : source_size;
  for (ZoneConfig& z : config_.zones) {
    if (z.relative)
      for (cv::Point2f& p : z.polygon) p = {p.x * static_cast<float>(size_.width), p.y * static_cast<float>(size_.height)};
    z.relative = false;
  }
}

std::vector<ZoneEvent> CameraPipeline::process(const Frame& frame) {
  ++stats_.frames_in;
  if (frame.image.empty() || frame.image.type() != CV_8UC3 || frame.image.cols < 16 || frame.image.rows < 16 ||
      (prepared_ && frame.image.size() != size_ && config_.detect.width == 0)) {
    ++stats_.frames_corrupt;
    return {};
  }
  if (!prepared_) prepare(frame.image.size());
  if (next_detect_ms_ >= 0 && frame.media_ms < next_detect_ms_) return {};
  const double period = 1000.0 / config_.fps;
  next_detect_ms_ = next_detect_ms_ < 0 || frame.media_ms - next_detect_ms_ > period ? frame.media_ms + period
                                                                                      : next_detect_ms_ + period;
  ++stats_.frames_analysed;
  auto t0 = Clock::now();
  cv::Mat img;
  if (frame.image.size() != size_) cv::resize(frame.image, img, size_, 0, 0, cv::INTER_AREA);
  else img = frame.image;
  stats_.stage_ms["resize"] += ms_since(t0);
  t0 = Clock::now();
  // One downscaled copy for the gate and the model-free detectors.
  const double small_scale = std::min(1.0, 320.0 / img.cols);
  cv::Mat small;
  if (small_scale < 1.0)
    cv::resize(img, small,
               {std::max(1, cvRound(img.cols * small_scale)), std::max(1, cvRound(img.rows * small_scale))}, 0, 0,
               cv::INTER_LINEAR);
  else small = img;
  stats_.stage_ms["resize"] += ms_since(t0);
  t0 = Clock::now();
  Motion motion = motion_.update(small, small_scale);
  stats_.stage_ms["gate"] += ms_since(t0);
  DetectContext ctx{.media_ms = frame.media_ms, .small = &small, .small_scale = small_scale, .motion = &motion,
                    .zones = &config_.zones, .fps = config_.fps};
  std::vector<Detection> all;
  std::vector<Tracker::Look> looks(detectors_.size());
  for (auto& d : detectors_) {
    t0 = Clock::now();
    auto found = d->detect(img, ctx);
    stats_.stage_ms[std::string(d->type())] += ms_since(t0);
    const auto di = static_cast<size_t>(&d - &detectors_.front());
    if (!found) continue;  // this detector did not look: its tracks are not aged
    ++stats_.detector_runs;
    looks[di] = {.looked = true, .area = d->last_area()};
    const double min_m = config_.detectors[di].min_size_m;
    for (Detection& det : *found) {
      det.detector = static_cast<int>(di);
      if (min_m > 0) {
        auto w = ground_(det.box);
        if (!w || *w < min_m) continue;  // too small on the ground, or not on the ground at all
      }
      all.push_back(std::move(det));
    }
  }
  t0 = Clock::now();
  tracker_.update(all, frame.media_ms, looks);
  auto events = zone_events(frame.media_ms, img);
  if (!config_.evidence.dir.empty()) keep_best_frames(img, frame.media_ms);
  stats_.stage_ms["track+zones"] += ms_since(t0);
  if (!config_.evidence.dir.empty()) {
    t0 = Clock::now();
    Buffered b{frame.media_ms, {}};
    cv::imencode(".jpg", img, b.jpeg, {cv::IMWRITE_JPEG_QUALITY, config_.evidence.jpeg_quality});
    clip_buffer_.push_back(std::move(b));
    for (ZoneEvent& e : events) evidence_for(e, img);
    write_due_clips(frame.media_ms, false);
    double keep_from = frame.media_ms - static_cast<double>(config_.evidence.clip_before.count());
    for (const PendingClip& c : pending_clips_) keep_from = std::min(keep_from, c.from_ms);
    while (!clip_buffer_.empty() && clip_buffer_.front().media_ms < keep_from) clip_buffer_.pop_front();
    stats_.stage_ms["evidence"] += ms_since(t0);
  }
  stats_.events += static_cast<int64_t>(events.size());
  return events;
}

std::vector<ZoneEvent> CameraPipeline::finish() {
  tracker_.update({}, std::numeric_limits<double>::max() / 4,
                  std::vector<Tracker::Look>(detectors_.size(), Tracker::Look{.looked = true}));  // every track ends
  double now = 0;
  for (const Track& t : tracker_.ended()) now = std::max(now, t.last_ms);
  std::vector<ZoneEvent> out;
  for (const Track& t : tracker_.ended()) {
    for (const ZoneConfig& z : config_.zones) {
      auto it = inside_.find({t.id, z.name});
      if (it == inside_.end()) continue;
      out.push_back({.camera = config_.id, .zone = z.name, .zone_type = z.type, .kind = ZoneEventKind::kLeft,
                     .object_id = t.id, .label = t.label, .box = t.box, .media_ms = t.last_ms,
                     .dwell_s = (t.last_ms - it->second.entered_ms) / 1000.0, .confidence = t.score, .fill = t.fill});
      inside_.erase(it);
    }
  }
  write_due_clips(now, true);
  stats_.events += static_cast<int64_t>(out.size());
  return out;
}

Result<PipelineStats> run_pipeline(FrameSource& source, CameraPipeline& pipeline,
                                   const std::function<void(const ZoneEvent&)>& on_event) {
  double decode_ms = 0;
  for (;;) {
    auto t0 = Clock::now();
    auto f = source.next();
    decode_ms += ms_since(t0);
    if (!f) return std::unexpected(f.error());
    if (!*f) break;
    for (const ZoneEvent& e : pipeline.process(**f)) on_event(e);
  }
  for (const ZoneEvent& e : pipeline.finish()) on_event(e);
  PipelineStats s = pipeline.stats();
  s.stage_ms["decode"] += decode_ms;
  return s;
}

}  // namespace gridwatch::vision
