// The clip recorder of a camera's pipeline (pipeline.h): the best frames of a track for its
// snapshot, and the clips around events written when their time has passed.
#include "gridwatch/vision/pipeline.h"

#include "gridwatch/vision/evidence.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include <algorithm>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace gridwatch::vision {

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

}  // namespace gridwatch::vision
