// Zone events are causal: they describe what was seen, when it was seen.
//
//  - no zone event for a track after its last sighting, and the events of one track come out in
//    time order;
//  - `stationary` needs the object to have been seen still for the zone's dwell (a track that
//    lives on unseen does not stand still meanwhile);
//  - a model-free object arrived when it came to rest, not when the change around it began (a
//    person slowing down to put it there is not the object).
//
// The clips are drawn here, with the times and boxes of their story known exactly.
#include <gtest/gtest.h>

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "gridwatch/vision/detect.h"
#include "gridwatch/vision/pipeline.h"

namespace gridwatch::vision {
namespace {

constexpr double kFps = 10;
const cv::Size kSize{320, 240};

CameraConfig camera(const std::string& yaml) {
  auto c = parse_camera_config(yaml, "camera.yaml");
  EXPECT_TRUE(c.has_value()) << c.error().message;
  return c ? std::move(*c) : CameraConfig{};
}

// Frames drawn in memory: frame i is draw(i), at i / kFps seconds.
class DrawnClip final : public FrameSource {
 public:
  DrawnClip(std::function<cv::Mat(int)> draw, int frames) : draw_(std::move(draw)), frames_(frames) {}
  Result<std::optional<Frame>> next() override {
    if (i_ >= frames_) return std::optional<Frame>{};
    Frame f{.image = draw_(i_), .index = i_, .media_ms = i_ * 1000.0 / kFps};
    ++i_;
    return std::optional<Frame>{std::move(f)};
  }
  double fps() const override { return kFps; }
  cv::Size size() const override { return kSize; }

 private:
  std::function<cv::Mat(int)> draw_;
  int frames_;
  int i_ = 0;
};

// A pavement: grey-brown texture and a kerb line.
cv::Mat pavement(int seed) {
  cv::Mat bg(kSize, CV_8UC3);
  cv::RNG rng(static_cast<uint64_t>(seed));
  rng.fill(bg, cv::RNG::UNIFORM, 60, 160);
  cv::GaussianBlur(bg, bg, {0, 0}, 3);
  cv::line(bg, {0, 215}, {320, 215}, {220, 220, 220}, 3);
  return bg;
}

// A box of `colour` with a fixed texture of its own (the same pixels wherever it is drawn).
void textured_box(cv::Mat& img, cv::Rect r, cv::Scalar colour, int seed) {
  const cv::Rect visible = r & cv::Rect({0, 0}, img.size());
  if (visible.area() <= 0) return;
  cv::Mat patch(r.size(), CV_8UC3, colour), noise(r.size(), CV_8UC3);
  cv::RNG rng(static_cast<uint64_t>(seed));
  rng.fill(noise, cv::RNG::UNIFORM, 0, 40);
  patch += noise;
  patch(visible - r.tl()).copyTo(img(visible));
}

// A little sensor noise, different in every frame.
void sensor_noise(cv::Mat& img, int frame) {
  cv::Mat noise(img.size(), CV_16SC3);
  cv::RNG rng(static_cast<uint64_t>(1000 + frame));
  rng.fill(noise, cv::RNG::NORMAL, 0, 3);
  cv::Mat out;
  img.convertTo(out, CV_16SC3);
  out += noise;
  out.convertTo(img, CV_8UC3);
}

float iou(const cv::Rect2f& a, const cv::Rect2f& b) {
  const float inter = (a & b).area();
  const float uni = a.area() + b.area() - inter;
  return uni > 0 ? inter / uni : 0.0f;
}

struct Replay {
  std::vector<ZoneEvent> events;        // in the order the pipeline gave them
  std::map<int, double> last_sighting;  // per track: the media time it was last matched
};

Replay replay(FrameSource& source, CameraConfig config) {
  Replay run;
  auto p = CameraPipeline::create(std::move(config));
  EXPECT_TRUE(p.has_value()) << p.error().message;
  if (!p) return run;
  for (;;) {
    auto f = source.next();
    EXPECT_TRUE(f.has_value()) << f.error().message;
    if (!f || !*f) break;
    for (auto& e : (*p)->process(**f)) run.events.push_back(e);
    for (const Track& t : (*p)->tracks()) run.last_sighting[t.id] = t.last_ms;
  }
  for (auto& e : (*p)->finish()) run.events.push_back(e);
  return run;
}

std::vector<ZoneEvent> of_kind(const std::vector<ZoneEvent>& events, ZoneEventKind kind) {
  std::vector<ZoneEvent> out;
  for (const auto& e : events)
    if (e.kind == kind) out.push_back(e);
  return out;
}

// Every track: no event after its last sighting, and its events in time order as they came out.
void expect_causal(const Replay& run) {
  std::map<int, double> latest;
  for (const ZoneEvent& e : run.events) {
    const auto seen = run.last_sighting.find(e.object_id);
    ASSERT_NE(seen, run.last_sighting.end()) << "track " << e.object_id << " was never seen";
    EXPECT_LE(e.media_ms, seen->second) << to_string(e.kind) << " of track " << e.object_id << " at "
                                        << e.media_ms / 1000 << " s, last seen at " << seen->second / 1000 << " s";
    auto [it, first] = latest.emplace(e.object_id, e.media_ms);
    if (!first) {
      EXPECT_GE(e.media_ms, it->second) << to_string(e.kind) << " of track " << e.object_id << " at "
                                        << e.media_ms / 1000 << " s came out after an event at " << it->second / 1000
                                        << " s";
      it->second = e.media_ms;
    }
  }
}

// ---- the scene: a bag left on the pavement ------------------------------------------------------
//
//   time (s)   0     1 ........ 5   5.5   6.5 ...... 10.5 ....... 14   ...   30
//   person           walks in, slows  |  steps   stands beside    walks off to the right
//                    over the spot    |  aside   the bag (4 s)    and out of the picture
//   bag                              put down at 5.5 under the person's feet, stays to the end
//
// The person is 16x48 pixels, the bag 24x14; the person stands 8 pixels to the right of the bag.

const cv::Rect kBag{128, 184, 24, 14};
const cv::Rect kPersonStanding{160, 150, 16, 48};
constexpr double kBagDownS = 5.5;
constexpr double kStandFromS = 6.5, kStandUntilS = 10.5;

// The person's left edge at time t (off the picture: < -16 or > 320).
double person_x(double t) {
  if (t < 1) return -40;
  if (t < 5) {  // walks in from the left, slowing down to a stop over the spot: ease-out
    const double u = (t - 1) / 4;
    return -16 + 144 * (1 - (1 - u) * (1 - u));
  }
  if (t < kBagDownS) return 128;                                      // bends down, puts the bag down
  if (t < kStandFromS) return 128 + 32 * (t - kBagDownS) / (kStandFromS - kBagDownS);  // a step aside
  if (t < kStandUntilS) return 160;                                   // stands beside the bag
  const double u = t - kStandUntilS;                                  // walks off, speeding up
  return 160 + 10 * u + 20 * u * u;
}

cv::Mat bag_scene(const cv::Mat& bg, int i) {
  const double t = i / kFps;
  cv::Mat img = bg.clone();
  if (t >= kBagDownS) textured_box(img, kBag, {30, 40, 60}, 21);
  const int x = static_cast<int>(std::lround(person_x(t)));
  textured_box(img, {x, kPersonStanding.y, kPersonStanding.width, kPersonStanding.height}, {170, 120, 40}, 22);
  sensor_noise(img, i);
  return img;
}

// A pavement camera: one `stationary` detector, a zone over the whole picture, dwell 10 s. Exactly
// one `stationary` event, for the bag, 10 s after it came to rest; the person, who stood beside it
// for 4 s and walked off, is not a stationary object.
TEST(Causal, BagLeftBehindIsTheOnlyStationaryObjectAndEventsFollowTheSightings) {
  const cv::Mat bg = pavement(31);
  DrawnClip clip([&](int i) { return bag_scene(bg, i); }, 300);
  const Replay run = replay(clip, camera(R"(camera: {id: cam-pavement}
detect: {fps: 10}
detectors:
  - {type: stationary, label: object, min_area: 0.002, settle: 3s}
zones:
  - name: pavement
    type: sidewalk
    polygon: [[0, 0], [1, 0], [1, 1], [0, 1]]
    relative: true
    dwell: 10s
)"));
  const auto stationary = of_kind(run.events, ZoneEventKind::kStationary);
  std::string all;
  for (const ZoneEvent& e : run.events)
    all += fmt::format("\n  {} #{} at {:.1f} s, box {:.0f},{:.0f} {:.0f}x{:.0f}", to_string(e.kind), e.object_id,
                       e.media_ms / 1000, e.box.x, e.box.y, e.box.width, e.box.height);
  ASSERT_EQ(stationary.size(), 1u) << "events:" << all;
  EXPECT_GE(iou(stationary[0].box, cv::Rect2f(kBag)), 0.5f) << "events:" << all;
  EXPECT_NEAR(stationary[0].media_ms / 1000, kBagDownS + 10, 1.0) << "events:" << all;
  EXPECT_NEAR(stationary[0].dwell_s, 10.0, 1.0);
  for (const ZoneEvent& e : stationary)
    EXPECT_LT(iou(e.box, cv::Rect2f(kPersonStanding)), 0.1f) << "the person's blob is not a stationary object";
  expect_causal(run);
}

// ---- the three rules, one at a time ------------------------------------------------------------

// A box that stands still for `stands_s` seconds from 2 s, then is gone.
cv::Mat box_for_a_while(const cv::Mat& bg, int i, double stands_s) {
  const double t = i / kFps;
  cv::Mat img = bg.clone();
  if (t >= 2 && t < 2 + stands_s) textured_box(img, {140, 120, 40, 60}, {40, 40, 180}, 23);
  sensor_noise(img, i);
  return img;
}

std::string box_camera(const std::string& stationary_max_age) {
  return fmt::format(R"(camera: {{id: cam-box}}
detect: {{fps: 10}}
detectors: [{{type: stationary, label: object, min_area: 0.002, settle: 3s}}]
zones: [{{name: all, polygon: [[0, 0], [1, 0], [1, 1], [0, 1]], relative: true, dwell: 10s}}]
tracker: {{stationary_max_age: {}}}
)",
                     stationary_max_age);
}

// Seen still for 4 s, then gone while its track lives on for a minute: it never stood still for
// 10 s, so no `stationary`; its `left` comes when the track ends, stamped at its last sighting.
TEST(Causal, AnObjectSeenStillForFourSecondsNeverReachesATenSecondDwell) {
  const cv::Mat bg = pavement(32);
  DrawnClip clip([&](int i) { return box_for_a_while(bg, i, 4); }, 900);
  const Replay run = replay(clip, camera(box_camera("60s")));
  EXPECT_TRUE(of_kind(run.events, ZoneEventKind::kStationary).empty());
  const auto entered = of_kind(run.events, ZoneEventKind::kEntered);
  const auto left = of_kind(run.events, ZoneEventKind::kLeft);
  ASSERT_EQ(entered.size(), 1u);
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].object_id, entered[0].object_id);
  EXPECT_NEAR(run.last_sighting.at(left[0].object_id) / 1000, 6.0, 0.3) << "seen until it went at 6 s";
  EXPECT_EQ(left[0].media_ms, run.last_sighting.at(left[0].object_id));
  expect_causal(run);
}

// The clip ends while the track of an object that went is still alive: nothing is said about it
// after its last sighting, and its `left` (at the end of the stream) is not older than anything
// said before.
TEST(Causal, ATrackAliveAtTheEndSaysNothingAfterItsLastSighting) {
  const cv::Mat bg = pavement(33);
  DrawnClip clip([&](int i) { return box_for_a_while(bg, i, 4); }, 250);
  const Replay run = replay(clip, camera(box_camera("30s")));
  ASSERT_EQ(of_kind(run.events, ZoneEventKind::kLeft).size(), 1u);
  EXPECT_TRUE(of_kind(run.events, ZoneEventKind::kStationary).empty());
  expect_causal(run);
}

// The same object seen still for 14 s: one `stationary`, 10 s after it arrived, while it is seen.
TEST(Causal, AnObjectSeenStillForTheDwellIsStationaryOnce) {
  const cv::Mat bg = pavement(34);
  DrawnClip clip([&](int i) { return box_for_a_while(bg, i, 14); }, 250);
  const Replay run = replay(clip, camera(box_camera("30s")));
  const auto stationary = of_kind(run.events, ZoneEventKind::kStationary);
  ASSERT_EQ(stationary.size(), 1u);
  EXPECT_NEAR(stationary[0].media_ms / 1000, 12.0, 0.5);
  expect_causal(run);
}

// The detector alone: the bag's arrival (`since`) is when it was put down, not when the person
// carrying it first covered the spot, nor when the person stood still beside it.
TEST(Causal, StationaryDetectorDatesTheBagFromWhenItCameToRest) {
  const cv::Mat bg = pavement(35);
  DetectorConfig dc{.type = "stationary", .label = "object", .min_area = 0.002, .settle = std::chrono::seconds{3}};
  auto d = make_detector(dc);
  ASSERT_TRUE(d.has_value()) << d.error().message;
  std::optional<double> bag_since;
  for (int i = 0; i < 150 && !bag_since; ++i) {
    const cv::Mat img = bag_scene(bg, i);
    const DetectContext ctx{.media_ms = i * 1000.0 / kFps, .small = &img, .small_scale = 1.0, .fps = kFps};
    auto found = (*d)->detect(img, ctx);
    ASSERT_TRUE(found.has_value()) << "the stationary detector looks at every frame";
    for (const Detection& det : *found)
      if (iou(det.box, cv::Rect2f(kBag)) >= 0.5f) bag_since = det.since_ms;
  }
  ASSERT_TRUE(bag_since.has_value()) << "the bag is found within 15 s";
  EXPECT_NEAR(*bag_since / 1000, kBagDownS, 0.5);
}

}  // namespace
}  // namespace gridwatch::vision
