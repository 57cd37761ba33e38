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

constexpr double kLeaveAfterMs = 2000;

float iou(const cv::Rect2f& a, const cv::Rect2f& b) {
  const float inter = (a & b).area();
  const float uni = a.area() + b.area() - inter;
  return uni > 0 ? inter / uni : 0.0f;
}

cv::Point2f centre(const cv::Rect2f& r) { return {r.x + r.width / 2, r.y + r.height / 2}; }

}  // namespace


nlohmann::json ZoneEvent::to_json(Timestamp clip_start) const {
  nlohmann::json j = {
      {"ts", format_rfc3339(clip_start + Duration{static_cast<int64_t>(media_ms)})},
      {"media_s", std::round(media_ms) / 1000.0},
      {"camera", camera},
      {"zone", zone},
      {"zone_type", zone_type},
      {"event", to_string(kind)},
      {"object_id", object_id},
      {"class", label},
      {"bbox", {std::round(box.x), std::round(box.y), std::round(box.width), std::round(box.height)}},
      {"dwell_s", std::round(dwell_s * 10) / 10},
      {"confidence", std::round(static_cast<double>(confidence) * 1000) / 1000}};
  if (fill) j["fill"] = std::round(*fill * 1000) / 1000;
  if (!snapshot.empty()) j["snapshot"] = snapshot;
  if (!clip.empty()) j["clip"] = clip;
  return j;
}

// ---- tracker --------------------------------------------------------------------------------------

void Tracker::update(const std::vector<Detection>& detections, double now, const std::vector<Look>& looks) {
  ended_.clear();
  std::vector<bool> used_det(detections.size(), false), used_track(tracks_.size(), false);
  // A track takes part only if its own detector looked where it is: not at all this frame, or a
  // crop elsewhere, means nobody looked for it (neither matched nor aged).
  for (size_t ti = 0; ti < tracks_.size(); ++ti) {
    const auto di = static_cast<size_t>(tracks_[ti].detector);
    const Look look = di < looks.size() ? looks[di] : Look{.looked = true};
    const bool seen = look.looked && (!look.area || cv::Rect2f(*look.area).contains(centre(tracks_[ti].box)));
    if (!seen) used_track[ti] = true;
  }
  const std::vector<bool> outside = used_track;
  auto assign = [&](size_t ti, size_t di) {
    Track& t = tracks_[ti];
    const Detection& d = detections[di];
    used_det[di] = used_track[ti] = true;
    t.box = d.box;
    t.score = std::max(t.score, d.score);
    t.last_score = d.score;
    t.last_ms = now;
    ++t.hits;
    if (d.fill) t.fill = d.fill;
    // Moved: the box left where it stopped (low overlap and the centre shifted by a quarter of
    // its size). A box that only grows or shrinks around the same centre (detector jitter, a
    // passer-by cutting into it) has not moved.
    const float shift = static_cast<float>(cv::norm(centre(d.box) - centre(t.anchor)));
    if (iou(d.box, t.anchor) < static_cast<float>(config_.stationary_iou) &&
        shift > 0.25f * std::max(t.anchor.width, t.anchor.height)) {
      t.anchor = d.box;
      t.anchor_ms = now;
    }
  };
  // 1. Overlap, best pairs first.
  struct Pair {
    float score;
    size_t t, d;
  };
  std::vector<Pair> pairs;
  for (size_t ti = 0; ti < tracks_.size(); ++ti)
    for (size_t di = 0; di < detections.size(); ++di)
      if (tracks_[ti].label == detections[di].label && tracks_[ti].detector == detections[di].detector) {
        const float o = iou(tracks_[ti].box, detections[di].box);
        if (o >= 0.2f) pairs.push_back({o, ti, di});
      }
  std::sort(pairs.begin(), pairs.end(), [](const Pair& a, const Pair& b) { return a.score > b.score; });
  for (const Pair& p : pairs)
    if (!used_track[p.t] && !used_det[p.d]) assign(p.t, p.d);
  // 2. Fast movers: the nearest centre within the track's size.
  pairs.clear();
  for (size_t ti = 0; ti < tracks_.size(); ++ti) {
    if (used_track[ti]) continue;
    const Track& t = tracks_[ti];
    const float reach = 0.75f * std::max(t.box.width, t.box.height);
    for (size_t di = 0; di < detections.size(); ++di) {
      if (used_det[di] || t.label != detections[di].label || t.detector != detections[di].detector) continue;
      const float dist = static_cast<float>(cv::norm(centre(t.box) - centre(detections[di].box)));
      if (dist <= reach) pairs.push_back({-dist, ti, di});
    }
  }
  std::sort(pairs.begin(), pairs.end(), [](const Pair& a, const Pair& b) { return a.score > b.score; });
  for (const Pair& p : pairs)
    if (!used_track[p.t] && !used_det[p.d]) assign(p.t, p.d);
  // 3. Ageing: only where somebody looked.
  std::vector<Track> kept;
  for (size_t ti = 0; ti < tracks_.size(); ++ti) {
    Track& t = tracks_[ti];
    const bool still = t.last_ms - t.anchor_ms >= 1000;
    const double max_age = static_cast<double>((still ? config_.stationary_max_age : config_.max_age).count());
    if (!outside[ti] && !used_track[ti] && now - t.last_ms > max_age) ended_.push_back(std::move(t));
    else kept.push_back(std::move(t));
  }
  tracks_ = std::move(kept);
  // 4. New tracks.
  for (size_t di = 0; di < detections.size(); ++di) {
    if (used_det[di]) continue;
    const Detection& d = detections[di];
    // A second box on an object already tracked (a detector's duplicate) is not a new object.
    const bool duplicate = std::any_of(tracks_.begin(), tracks_.end(), [&](const Track& t) {
      if (t.label != d.label) return false;
      const float inter = (t.box & d.box).area();
      return iou(t.box, d.box) >= 0.5f || inter >= 0.6f * std::min(t.box.area(), d.box.area());
    });
    if (duplicate) continue;
    const double since = d.since_ms.value_or(now);
    tracks_.push_back({.id = next_id_++, .label = d.label, .detector = d.detector, .box = d.box, .score = d.score,
                       .last_score = d.score, .first_ms = since,
                       .last_ms = now, .hits = 1, .anchor = d.box, .anchor_ms = since, .fill = d.fill});
  }
}

// ---- privacy --------------------------------------------------------------------------------------

struct PrivacyFilter::Cascades {
  cv::CascadeClassifier faces, plates;
};

PrivacyFilter::PrivacyFilter() : cascades_(std::make_unique<Cascades>()) {}
PrivacyFilter::~PrivacyFilter() = default;

Result<std::unique_ptr<PrivacyFilter>> PrivacyFilter::load(const std::filesystem::path& dir, bool faces,
                                                           bool plates) {
  std::unique_ptr<PrivacyFilter> p(new PrivacyFilter());
  auto load = [&](cv::CascadeClassifier& c, const char* file) -> Status {
    const auto path = dir / file;
    if (!std::filesystem::exists(path) || !c.load(path.string()))
      return fail(ErrorCode::kNotFound,
                  fmt::format("evidence: cannot load {} (Debian package opencv-data)", path.string()), "cascades");
    return {};
  };
  if (faces)
    if (auto st = load(p->cascades_->faces, "haarcascade_frontalface_default.xml"); !st) return std::unexpected(st.error());
  if (plates)
    if (auto st = load(p->cascades_->plates, "haarcascade_russian_plate_number.xml"); !st) return std::unexpected(st.error());
  return p;
}

int PrivacyFilter::apply(cv::Mat& img) {
  cv::Mat grey;
  cv::cvtColor(img, grey, cv::COLOR_BGR2GRAY);
  std::vector<cv::Rect> found;
  for (cv::CascadeClassifier* c : {&cascades_->faces, &cascades_->plates}) {
    if (c->empty()) continue;
    std::vector<cv::Rect> r;
    c->detectMultiScale(grey, r, 1.1, 3, 0, cv::Size(12, 12));
    found.insert(found.end(), r.begin(), r.end());
  }
  int n = 0;
  for (cv::Rect r : found) {
    r &= cv::Rect(0, 0, img.cols, img.rows);
    if (r.area() <= 0) continue;
    cv::Mat roi = img(r);
    cv::GaussianBlur(roi, roi, cv::Size(0, 0), std::max(4.0, r.width / 4.0));
    ++n;
  }
  return n;
}

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

// Zone events describe sightings: an event is stamped with the media time of the sighting it is
// about, so a track says nothing after its last sighting and its events come out in time order.
// A track that was not seen in this frame (coasting through an occlusion, or gone) neither
// enters, nor leaves by its foot, nor stands still meanwhile: `stationary` needs it seen still for
// the dwell, from where it stopped to now. A track that ends leaves at its last sighting.
std::vector<ZoneEvent> CameraPipeline::zone_events(double now, const cv::Mat&) {
  std::vector<ZoneEvent> out;
  auto event = [&](const Track& t, const ZoneConfig& z, ZoneEventKind kind, double at_ms, double dwell_ms) {
    out.push_back({.camera = config_.id, .zone = z.name, .zone_type = z.type, .kind = kind, .object_id = t.id,
                   .label = t.label, .box = t.box, .media_ms = at_ms, .dwell_s = dwell_ms / 1000.0,
                   .confidence = t.score, .fill = t.fill});
  };
  for (const Track& t : tracker_.tracks()) {
    if (t.last_ms != now) continue;                 // not seen in this frame: nothing new to say
    if (t.hits < 2 && t.first_ms >= now) continue;  // one sighting is not an object yet
    const cv::Point2f foot = t.bottom_centre();
    for (const ZoneConfig& z : config_.zones) {
      if (!z.classes.empty() && std::find(z.classes.begin(), z.classes.end(), t.label) == z.classes.end()) continue;
      const auto key = std::make_pair(t.id, z.name);
      const bool inside = cv::pointPolygonTest(z.polygon, foot, false) >= 0;
      auto it = inside_.find(key);
      if (inside && it == inside_.end()) {
        // A track confirmed just now was there since its first sighting (which may lie further
        // back: the stationary detector's `since`); an older track enters now.
        it = inside_.emplace(key, InZone{.entered_ms = t.hits <= 2 ? t.first_ms : now}).first;
        event(t, z, ZoneEventKind::kEntered, now, 0);
      } else if (!inside && it != inside_.end()) {
        // Out only after 2 s outside: a box that jitters across the edge has not left.
        if (it->second.outside_since_ms < 0) it->second.outside_since_ms = now;
        if (now - it->second.outside_since_ms >= kLeaveAfterMs) {
          event(t, z, ZoneEventKind::kLeft, now, now - it->second.entered_ms);
          inside_.erase(it);
          stationary_sent_.erase(key);
        }
        continue;
      }
      if (!inside) continue;
      it->second.outside_since_ms = -1;
      const double dwell = now - std::max(t.anchor_ms, it->second.entered_ms);
      if (dwell >= static_cast<double>(z.dwell.count()) && stationary_sent_.insert(key).second)
        event(t, z, ZoneEventKind::kStationary, now, dwell);
    }
  }
  for (const Track& t : tracker_.ended()) {
    for (const ZoneConfig& z : config_.zones) {
      auto it = inside_.find({t.id, z.name});
      if (it == inside_.end()) continue;
      event(t, z, ZoneEventKind::kLeft, t.last_ms, t.last_ms - it->second.entered_ms);
      stationary_sent_.erase(it->first);
      inside_.erase(it);
    }
  }
  return out;
}

void CameraPipeline::keep_best_frames(const cv::Mat& frame, double now) {
  std::set<int> in_zone;
  for (const auto& [key, at] : inside_) in_zone.insert(key.first);
  for (auto it = best_.begin(); it != best_.end();)
    it = in_zone.contains(it->first) ? std::next(it) : best_.erase(it);
  for (const Track& t : tracker_.tracks()) {
    if (!in_zone.contains(t.id) || t.last_ms != now) continue;  // not seen in this frame
    Best& b = best_[t.id];
    // The highest-scoring sighting; among equals (model-free detectors) the latest.
    const float score = t.last_score;
    if (b.frame.empty() || score >= b.score) {
      b.score = score;
      b.frame = frame;  // shares the pixels: each analysed frame is a fresh, never-written image
      b.box = t.box;
    }
  }
}

void CameraPipeline::evidence_for(ZoneEvent& e, const cv::Mat& frame) {
  if (e.kind != ZoneEventKind::kStationary) return;
  auto best = best_.find(e.object_id);
  const bool have_best = best != best_.end() && !best->second.frame.empty();
  cv::Mat shot = have_best ? best->second.frame.clone() : frame.clone();
  const cv::Rect2f box = have_best ? best->second.box : e.box;
  if (privacy_) privacy_->apply(shot);
  cv::rectangle(shot, box, cv::Scalar(0, 0, 255), 2);
  cv::putText(shot, fmt::format("{} #{} {} {:.0f}s", e.label, e.object_id, e.zone, e.dwell_s),
              cv::Point(static_cast<int>(box.x), std::max(12, static_cast<int>(box.y) - 4)),
              cv::FONT_HERSHEY_SIMPLEX, 0.45, cv::Scalar(0, 0, 255), 1);
  // Track ids and media time restart with the pipeline: the run's start makes names unique.
  const std::string stem = fmt::format("{}-{}-{}-{}-{:.0f}", config_.id, run_, e.zone, e.object_id, e.media_ms);
  const auto jpg = config_.evidence.dir / (stem + ".jpg");
  if (cv::imwrite(jpg.string(), shot, {cv::IMWRITE_JPEG_QUALITY, config_.evidence.jpeg_quality})) e.snapshot = jpg.string();
  else spdlog::warn("evidence: cannot write {}", jpg.string());
  const auto clip = config_.evidence.dir / (stem + std::string(clip_format(config_.evidence.clip_format).media->extension));
  e.clip = clip.string();
  pending_clips_.push_back({e.media_ms + static_cast<double>(config_.evidence.clip_after.count()), clip.string(),
                            e.media_ms - static_cast<double>(config_.evidence.clip_before.count())});
}

void CameraPipeline::write_due_clips(double now, bool all) {
  std::vector<PendingClip> later;
  for (const PendingClip& c : pending_clips_) {
    if (!all && now < c.until_ms) {
      later.push_back(c);
      continue;
    }
    // The clip's rate is the rate its frames were analysed at (the source may be slower than
    // the configured detect rate).
    double first = -1, last = -1;
    int n = 0;
    for (const Buffered& b : clip_buffer_)
      if (b.media_ms >= c.from_ms && b.media_ms <= c.until_ms) {
        if (first < 0) first = b.media_ms;
        last = b.media_ms;
        ++n;
      }
    const double fps = n > 1 && last > first ? (n - 1) * 1000.0 / (last - first) : config_.fps;
    // Written under a temporary name and renamed when complete: the clip's name never shows a
    // half-written file (an MP4's index is written last), so whoever asks for it gets all or
    // nothing yet.
    const ClipFormat* format = clip_format_of(c.path);
    const std::filesystem::path final_path = c.path;
    const std::filesystem::path part = final_path.parent_path() / (".part-" + final_path.filename().string());
    {
      cv::VideoWriter w(part.string(), format->api, format->fourcc, fps, size_);
      if (!w.isOpened()) {
        spdlog::warn("evidence: cannot write {}", c.path);
        continue;
      }
      for (const Buffered& b : clip_buffer_) {
        if (b.media_ms < c.from_ms || b.media_ms > c.until_ms) continue;
        cv::Mat img = cv::imdecode(b.jpeg, cv::IMREAD_COLOR);
        if (privacy_) privacy_->apply(img);
        w.write(img);
      }
    }
    std::error_code ec;
    std::filesystem::rename(part, final_path, ec);
    if (ec) spdlog::warn("evidence: cannot write {}: {}", c.path, ec.message());
  }
  pending_clips_ = std::move(later);
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
