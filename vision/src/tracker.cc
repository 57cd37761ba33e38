// The tracker of a camera's pipeline (pipeline.h): detections matched to tracks by overlap.
#include "gridwatch/vision/pipeline.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>

namespace gridwatch::vision {
namespace {

float iou(const cv::Rect2f& a, const cv::Rect2f& b) {
  const float inter = (a & b).area();
  const float uni = a.area() + b.area() - inter;
  return uni > 0 ? inter / uni : 0.0f;
}

cv::Point2f centre(const cv::Rect2f& r) { return {r.x + r.width / 2, r.y + r.height / 2}; }

}  // namespace

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

}  // namespace gridwatch::vision
