// The zones of a camera's pipeline (pipeline.h): which tracks are in which zone, and the events
// entered, stationary and left.
#include "gridwatch/vision/pipeline.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>

namespace gridwatch::vision {
namespace {

constexpr double kLeaveAfterMs = 2000;

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

}  // namespace gridwatch::vision
