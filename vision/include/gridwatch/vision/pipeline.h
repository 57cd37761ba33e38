// One camera's analysis: frames in, zone events out.
//
//   frame ─▶ decimate to the detect rate ─▶ resize to the detect size ─▶ motion gate
//         ─▶ detectors (dnn, motion, stationary, bin_overflow) ─▶ tracker ─▶ zones ─▶ events
//                                                                      └─▶ evidence (JPEG, clip)
//
// The tracker keeps stable ids across frames and short occlusions (IoU, then centre distance),
// marks a track stationary while its box stays where it stopped, and keeps stationary tracks
// alive through passing traffic (`stationary_max_age`). An object is in a zone by the bottom
// centre of its box. Per (track, zone): `entered` once, `stationary` once when it has been seen
// standing still in the zone for the zone's dwell, `left` when it has been out for 2 s or its track
// ends. Events are causal: each is stamped with the sighting it describes (`media_ms`), none comes
// after the track's last sighting (a track that ends leaves at it), and one track's events come
// in time order. Not thread-safe: one pipeline per camera thread.
#pragma once

#include <opencv2/core.hpp>

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "gridwatch/domain/error.h"
#include "gridwatch/domain/zone_event.h"
#include "gridwatch/vision/config.h"
#include "gridwatch/vision/detect.h"
#include "gridwatch/vision/frame_source.h"

namespace gridwatch::vision {

struct Track {
  int id = 0;
  std::string label;
  int detector = 0;  // index of the detector that found it
  cv::Rect2f box;
  float score = 0;       // best score seen
  float last_score = 0;  // score of the latest sighting
  double first_ms = 0;   // media time it was first seen (or the detector's `since`)
  double last_ms = 0;    // media time it was last matched
  int hits = 0;
  cv::Rect2f anchor;     // where it stopped
  double anchor_ms = 0;  // since when it has been there
  std::optional<double> fill;
  bool stationary(double now_ms, double after_ms = 1000) const { return now_ms - anchor_ms >= after_ms; }
  cv::Point2f bottom_centre() const { return {box.x + box.width / 2, box.y + box.height}; }
};

// Kinds of zone events: gridwatch::ZoneEventKind (domain/zone_event.h), shared with rules/.

struct ZoneEvent {
  std::string camera;
  std::string zone;
  std::string zone_type;
  ZoneEventKind kind = ZoneEventKind::kEntered;
  int object_id = 0;
  std::string label;
  cv::Rect2f box;
  double media_ms = 0;  // the sighting it describes (a `left` of a track that ended: its last)
  double dwell_s = 0;
  float confidence = 0;
  std::optional<double> fill;
  std::string snapshot;  // evidence JPEG path (stationary events with evidence enabled)
  std::string clip;      // evidence clip path (written clip_after later)
  nlohmann::json to_json(Timestamp clip_start) const;
};

class Tracker {
 public:
  explicit Tracker(const CameraConfig& c) : config_(c) {}
  // Per detector: whether it looked at this frame, and where (none: the whole frame). A track
  // is matched and aged only when its own detector looked where it is.
  struct Look {
    bool looked = false;
    std::optional<cv::Rect> area;
  };
  void update(const std::vector<Detection>& detections, double media_ms, const std::vector<Look>& looks);
  const std::vector<Track>& tracks() const { return tracks_; }
  // Tracks that ended in the last update (the zones say `left`).
  const std::vector<Track>& ended() const { return ended_; }
  int next_id() const { return next_id_; }

 private:
  const CameraConfig& config_;
  std::vector<Track> tracks_;
  std::vector<Track> ended_;
  int next_id_ = 1;
};

// Blurs faces and licence plates (OpenCV's Haar cascades from Debian's opencv-data) before an
// image leaves the box.
class PrivacyFilter {
 public:
  [[nodiscard]] static Result<std::unique_ptr<PrivacyFilter>> load(const std::filesystem::path& cascades,
                                                                   bool faces, bool plates);
  ~PrivacyFilter();
  // Returns how many regions it blurred.
  int apply(cv::Mat& bgr);

 private:
  PrivacyFilter();
  struct Cascades;
  std::unique_ptr<Cascades> cascades_;
};

struct PipelineStats {
  int64_t frames_in = 0;
  int64_t frames_analysed = 0;
  int64_t frames_corrupt = 0;
  int64_t detector_runs = 0;
  int64_t events = 0;
  std::map<std::string, double> stage_ms;  // total time per stage
};

// Width on the ground, in metres, of what a box shows (from the camera's calibration, which the
// caller owns); nullopt when the box is not on the ground (above the horizon).
using GroundSize = std::function<std::optional<double>(const cv::Rect2f&)>;

class CameraPipeline {
 public:
  // Loads the detectors (a model that does not load fails here, naming its file). `ground` is
  // required when a detector has min_size_m.
  [[nodiscard]] static Result<std::unique_ptr<CameraPipeline>> create(CameraConfig config,
                                                                      GroundSize ground = {});
  ~CameraPipeline();

  // Feeds one source frame; returns the zone events it caused (usually none). Frames between
  // detect ticks only go into the clip buffer.
  std::vector<ZoneEvent> process(const Frame& frame);
  // Ends the stream: tracks end (zones say `left`), pending clips are written.
  std::vector<ZoneEvent> finish();

  const PipelineStats& stats() const { return stats_; }
  const std::vector<Track>& tracks() const { return tracker_.tracks(); }
  const CameraConfig& config() const { return config_; }

 private:
  explicit CameraPipeline(CameraConfig config);
  void prepare(cv::Size source_size);
  std::vector<ZoneEvent> zone_events(double media_ms, const cv::Mat& frame);
  void keep_best_frames(const cv::Mat& frame, double now_ms);
  void evidence_for(ZoneEvent& e, const cv::Mat& frame);
  void write_due_clips(double media_ms, bool all);

  CameraConfig config_;
  std::vector<std::unique_ptr<Detector>> detectors_;
  MotionGate motion_;
  Tracker tracker_;
  bool prepared_ = false;
  double next_detect_ms_ = -1;
  cv::Size size_;
  struct InZone {
    double entered_ms = 0;
    double outside_since_ms = -1;  // the foot has been outside since (box jitter is not leaving)
  };
  std::map<std::pair<int, std::string>, InZone> inside_;  // (track, zone)
  std::set<std::pair<int, std::string>> stationary_sent_;
  PipelineStats stats_;
  struct Buffered {
    double media_ms;
    std::vector<uchar> jpeg;
  };
  std::deque<Buffered> clip_buffer_;
  struct PendingClip {
    double until_ms;
    std::string path;
    double from_ms;
  };
  std::vector<PendingClip> pending_clips_;
  std::unique_ptr<PrivacyFilter> privacy_;
  GroundSize ground_;
  // The best frame of each track that is in a zone (highest score): the evidence snapshot.
  struct Best {
    float score = -1;
    cv::Mat frame;
    cv::Rect2f box;
  };
  std::map<int, Best> best_;
  std::string run_;  // when this pipeline was made (UTC, yyyymmddThhmmss): part of evidence names
};

// Runs a pipeline over a source to its end; `on_event` gets every zone event.
[[nodiscard]] Result<PipelineStats> run_pipeline(FrameSource& source, CameraPipeline& pipeline,
                                                 const std::function<void(const ZoneEvent&)>& on_event);

}  // namespace gridwatch::vision
