#include <opencv2/dnn.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/video/background_segm.hpp>

#include <algorithm>
#include <fstream>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "gridwatch/domain/order.h"
#include "gridwatch/vision/detect.h"

namespace gridwatch::vision {
namespace {

// A size scaled by s, never 0 in either direction.
cv::Size scaled(cv::Size size, double s) {
  return {std::max(1, cvRound(size.width * s)), std::max(1, cvRound(size.height * s))};
}

cv::Mat to_grey(const cv::Mat& bgr, int width, double* scale) {
  const double s = std::min(1.0, static_cast<double>(width) / bgr.cols);
  if (scale) *scale = s;
  cv::Mat small, grey;
  if (s < 1.0) cv::resize(bgr, small, scaled(bgr.size(), s), 0, 0, cv::INTER_AREA);
  else small = bgr;
  cv::cvtColor(small, grey, cv::COLOR_BGR2GRAY);
  return grey;
}

cv::Rect2f scale_rect(const cv::Rect& r, double inv) {
  return {static_cast<float>(r.x * inv), static_cast<float>(r.y * inv), static_cast<float>(r.width * inv),
          static_cast<float>(r.height * inv)};
}

// Connected regions of a binary mask as boxes, the small ones dropped.
std::vector<cv::Rect> regions(const cv::Mat& mask, double min_pixels) {
  std::vector<std::vector<cv::Point>> contours;
  cv::findContours(mask, contours, cv::RETR_EXTERNAL, cv::CHAIN_APPROX_SIMPLE);
  std::vector<cv::Rect> out;
  for (const auto& c : contours) {
    cv::Rect r = cv::boundingRect(c);
    if (cv::contourArea(c) >= min_pixels || r.area() >= min_pixels * 2) out.push_back(r);
  }
  // One object, one box: boxes that overlap are merged into their union.
  for (bool merged = true; merged;) {
    merged = false;
    for (size_t i = 0; i < out.size() && !merged; ++i)
      for (size_t j = i + 1; j < out.size() && !merged; ++j)
        if ((out[i] & out[j]).area() > 0) {
          out[i] |= out[j];
          out.erase(out.begin() + static_cast<std::ptrdiff_t>(j));
          merged = true;
        }
  }
  return out;
}

// The frame downscaled to `width`, blurred, as 3-channel float, and its grey median.
cv::Mat small_colour(const cv::Mat& bgr, int width, double* scale) {
  const double s = std::min(1.0, static_cast<double>(width) / bgr.cols);
  if (scale) *scale = s;
  cv::Mat small;
  if (s < 1.0) cv::resize(bgr, small, scaled(bgr.size(), s), 0, 0, cv::INTER_AREA);
  else small = bgr.clone();
  cv::GaussianBlur(small, small, {5, 5}, 0);
  return small;
}

// Per pixel, the largest difference over the three channels (a red car on a grey road of the
// same brightness still differs).
cv::Mat colour_diff(const cv::Mat& a, const cv::Mat& b) {
  cv::Mat d;
  cv::absdiff(a, b, d);
  std::vector<cv::Mat> ch;
  cv::split(d, ch);
  cv::Mat m = cv::max(ch[0], ch[1]);
  return cv::max(m, ch[2]);
}

// The camera's gain between a background and a frame: the median over the picture of
// frame / background, so objects (a minority of pixels) do not move it, unlike a median of the
// frame itself, which jumps when something covers part of a two-tone scene.
double gain_of(const cv::Mat& frame_grey, const cv::Mat& bg_grey) {
  constexpr int kBins = 300;  // ratios 0.5 .. 2.0
  int hist[kBins] = {0};
  int n = 0;
  for (int y = 0; y < frame_grey.rows; y += 2) {
    const uchar* f = frame_grey.ptr<uchar>(y);
    const uchar* b = bg_grey.ptr<uchar>(y);
    for (int x = 0; x < frame_grey.cols; x += 2) {
      const double r = (f[x] + 1.0) / (b[x] + 1.0);
      const int bin = std::clamp(static_cast<int>((r - 0.5) / 1.5 * kBins), 0, kBins - 1);
      ++hist[bin];
      ++n;
    }
  }
  int acc = 0;
  for (int bin = 0; bin < kBins; ++bin)
    if ((acc += hist[bin]) * 2 >= n) return 0.5 + (bin + 0.5) * 1.5 / kBins;
  return 1.0;
}

// Median of a grey image, for gain compensation (a cloud, a street light switching on).
double median_of(const cv::Mat& grey) {
  int hist[256] = {0};
  for (int y = 0; y < grey.rows; ++y) {
    const uchar* p = grey.ptr<uchar>(y);
    for (int x = 0; x < grey.cols; ++x) ++hist[p[x]];
  }
  const int half = grey.rows * grey.cols / 2;
  int acc = 0;
  for (int v = 0; v < 256; ++v)
    if ((acc += hist[v]) >= half) return std::max(1, v);
  return 128;
}

// ---- dnn ------------------------------------------------------------------------------------------

class DnnDetector final : public Detector {
 public:
  static Result<std::unique_ptr<Detector>> create(const DetectorConfig& c) {
    if (c.config.empty())
      return fail(ErrorCode::kInvalidArgument,
                  "dnn detector: give the Darknet config (config: model.cfg); ONNX models are not supported yet "
                  "(their YOLO output layouts differ)",
                  "config");
    auto d = std::unique_ptr<DnnDetector>(new DnnDetector(c));
    for (const auto& p : {c.model, c.names})
      if (!std::filesystem::exists(p))
        return fail(ErrorCode::kNotFound, fmt::format("dnn detector: {}: no such file", p.string()), "model");
    try {
      d->net_ = cv::dnn::readNetFromDarknet(c.config.string(), c.model.string());
    } catch (const cv::Exception& e) {
      return fail(ErrorCode::kInvalidArgument, fmt::format("dnn detector: {}: {}", c.model.string(), e.what()), "model");
    }
    if (d->net_.empty())
      return fail(ErrorCode::kInvalidArgument, fmt::format("dnn detector: {}: not a model OpenCV can load", c.model.string()), "model");
    d->net_.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
    d->net_.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
    d->outputs_ = d->net_.getUnconnectedOutLayersNames();
    std::ifstream in(c.names);
    for (std::string line; std::getline(in, line);) {
      while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
      d->names_.push_back(line);
    }
    for (const auto& [from, to] : c.classes)
      if (std::find(d->names_.begin(), d->names_.end(), from) == d->names_.end())
        return fail(ErrorCode::kInvalidArgument,
                    fmt::format("dnn detector: class \"{}\" is not in {}", from, c.names.string()), "classes");
    return std::unique_ptr<Detector>(std::move(d));
  }

  std::optional<std::vector<Detection>> detect(const cv::Mat& bgr, const DetectContext& ctx) override {
    const bool due = last_run_ms_ < 0 || ctx.media_ms - last_run_ms_ >= static_cast<double>(config_.refresh.count());
    const bool moving = ctx.motion && ctx.motion->any();
    if (!due && !moving) return std::nullopt;
    area_.reset();
    if (due || !config_.crop) {
      last_run_ms_ = ctx.media_ms;
      return run(bgr);
    }
    // Only the moving part: a square around the union of the motion regions, at least the
    // network's input size, so small distant objects get more pixels. Objects outside it are
    // found again at the next full pass (`refresh`), well within a stationary track's lifetime.
    cv::Rect area = ctx.motion->regions.front();
    for (const cv::Rect& r : ctx.motion->regions) area |= r;
    const int side = std::max({area.width, area.height, config_.input_size});
    if (side >= std::min(bgr.cols, bgr.rows)) {
      last_run_ms_ = ctx.media_ms;
      return run(bgr);
    }
    cv::Rect square(area.x + area.width / 2 - side / 2, area.y + area.height / 2 - side / 2, side, side);
    square.x = std::clamp(square.x, 0, std::max(0, bgr.cols - side));
    square.y = std::clamp(square.y, 0, std::max(0, bgr.rows - side));
    square &= cv::Rect(0, 0, bgr.cols, bgr.rows);
    area_ = square;
    std::vector<Detection> found;
    for (Detection& d : run(bgr(square))) {
      // An object cut by the crop's edge (not the frame's) is half seen: its box is wrong. The
      // next full pass sees it whole.
      const bool cut = (d.box.x <= 2 && square.x > 0) || (d.box.y <= 2 && square.y > 0) ||
                       (d.box.br().x >= static_cast<float>(square.width - 2) && square.br().x < bgr.cols) ||
                       (d.box.br().y >= static_cast<float>(square.height - 2) && square.br().y < bgr.rows);
      if (cut) continue;
      d.box.x += static_cast<float>(square.x);
      d.box.y += static_cast<float>(square.y);
      found.push_back(std::move(d));
    }
    crops_ += 1;
    return found;
  }
  std::string_view type() const override { return "dnn"; }
  std::optional<cv::Rect> last_area() const override { return area_; }

  std::vector<Detection> run(const cv::Mat& bgr) {
    // Letterbox into a square: the whole frame, aspect kept, padded at the bottom / right.
    const int n = config_.input_size;
    const double s = std::min(static_cast<double>(n) / bgr.cols, static_cast<double>(n) / bgr.rows);
    cv::Mat square(n, n, CV_8UC3, cv::Scalar(114, 114, 114)), resized;
    cv::resize(bgr, resized, scaled(bgr.size(), s), 0, 0, cv::INTER_AREA);
    resized.copyTo(square(cv::Rect(0, 0, resized.cols, resized.rows)));
    cv::Mat blob = cv::dnn::blobFromImage(square, 1.0 / 255.0, cv::Size(n, n), cv::Scalar(), true, false);
    net_.setInput(blob);
    std::vector<cv::Mat> outs;
    net_.forward(outs, outputs_);
    std::map<std::string, std::vector<cv::Rect2d>> boxes;
    std::map<std::string, std::vector<float>> scores;
    for (const cv::Mat& o : outs) {
      for (int r = 0; r < o.rows; ++r) {
        const float* d = o.ptr<float>(r);
        const int classes = o.cols - 5;
        int best = 0;
        for (int k = 1; k < classes; ++k)
          if (d[5 + k] > d[5 + best]) best = k;
        // OpenCV's YOLO layers output class scores with the objectness folded in.
        const double score = static_cast<double>(d[5 + best]);
        if (score < config_.score * 0.5 || static_cast<size_t>(best) >= names_.size()) continue;
        auto it = config_.classes.find(names_[static_cast<size_t>(best)]);
        if (it == config_.classes.end()) continue;
        auto cs = config_.class_scores.find(it->second);
        const double min_score = cs != config_.class_scores.end() ? cs->second : config_.score;
        if (score < min_score) continue;
        auto px = [&](int k) { return static_cast<double>(d[k]) * n / s; };
        const double cx = px(0), cy = px(1), w = px(2), h = px(3);
        boxes[it->second].emplace_back(cx - w / 2, cy - h / 2, w, h);
        scores[it->second].push_back(static_cast<float>(score));
      }
    }
    std::vector<Detection> out;
    for (auto& [label, b] : boxes) {  // NMS per class after the remap (car and truck are one vehicle)
      std::vector<int> keep;
      cv::dnn::NMSBoxes(b, scores[label], 0.0f, static_cast<float>(config_.nms), keep);
      for (int k : keep) {
        cv::Rect2f box(b[static_cast<size_t>(k)]);
        box &= cv::Rect2f(0, 0, static_cast<float>(bgr.cols), static_cast<float>(bgr.rows));
        if (box.area() > 0) out.push_back({.box = box, .label = label, .score = scores[label][static_cast<size_t>(k)]});
      }
    }
    return out;
  }

 private:
  explicit DnnDetector(DetectorConfig c) : config_(std::move(c)) {}
  DetectorConfig config_;
  cv::dnn::Net net_;
  std::vector<std::string> outputs_;
  std::vector<std::string> names_;
  double last_run_ms_ = -1;
  int64_t crops_ = 0;
  std::optional<cv::Rect> area_;
};

// ---- motion: moving blobs (top-down views a COCO model does not know) -----------------------------

class MotionDetector final : public Detector {
 public:
  static constexpr int kWidth = 160;  // objects worth a work order are big at this scale
  explicit MotionDetector(DetectorConfig c) : config_(std::move(c)) {
    mog_ = cv::createBackgroundSubtractorMOG2(200, 40, false);
    open_ = cv::getStructuringElement(cv::MORPH_ELLIPSE, {3, 3});
    close_ = cv::getStructuringElement(cv::MORPH_ELLIPSE, {11, 11});
  }
  std::optional<std::vector<Detection>> detect(const cv::Mat& bgr, const DetectContext& ctx) override {
    double s = 1;
    cv::Mat grey = to_grey(ctx.small ? *ctx.small : bgr, kWidth, &s);
    if (ctx.small) s *= ctx.small_scale;
    // Gain compensation: cameras re-expose when a bright car drives in; bring every frame to the
    // brightness the model has learnt, so that only objects change.
    const double median = median_of(grey);
    reference_median_ = reference_median_ < 0 ? median : 0.95 * reference_median_ + 0.05 * median;
    grey.convertTo(grey, CV_8U, reference_median_ / median);
    cv::GaussianBlur(grey, grey, {3, 3}, 0);
    cv::Mat mask;
    mog_->apply(grey, mask);
    cv::morphologyEx(mask, mask, cv::MORPH_OPEN, open_);
    cv::morphologyEx(mask, mask, cv::MORPH_CLOSE, close_);
    ++frames_;
    if (frames_ < 10) return std::vector<Detection>{};  // the model is still learning the scene
    // Most of the picture changing at once is the camera (exposure, a shake), not objects: this
    // frame says nothing.
    if (cv::countNonZero(mask) > 0.4 * static_cast<double>(mask.total())) return std::nullopt;
    std::vector<Detection> out;
    for (const cv::Rect& r : regions(mask, config_.min_area * static_cast<double>(mask.total())))
      out.push_back({.box = scale_rect(r, 1.0 / s), .label = config_.label, .score = 1.0f});
    return out;
  }
  std::string_view type() const override { return "motion"; }

 private:
  DetectorConfig config_;
  cv::Ptr<cv::BackgroundSubtractorMOG2> mog_;
  cv::Mat open_, close_;
  double reference_median_ = -1;
  int frames_ = 0;
};

// ---- stationary: what arrived and stayed, no model ----------------------------------------------
//
// Two running backgrounds of the gain-compensated grey frame: a long-term one (the scene as it
// was, updated slowly and never where something is settling) and a short-term one (the last
// seconds). A pixel that differs from the long-term background but not from the short-term one
// has changed and then stayed: its evidence grows one frame at a time; a pixel covered by
// something moving (differs from the short-term background) keeps its evidence (a passing
// occluder); a pixel back to the long-term background loses it. Evidence belongs to the look it
// was gathered for: a pixel that settles on another look gathers evidence for that look apart,
// and once the new look has itself held for `settle` it replaces the old one, dated from when it
// began (a bag put down where the person carrying it had slowed down arrived when it was put
// down); a pixel that shows its old look again drops the new one (a passer-by standing in front
// for a moment). So an object's evidence dates from when it came to rest, not from when the
// change around it began. Regions whose evidence covers `settle` are reported, with the time
// they started.

class StationaryDetector final : public Detector {
 public:
  static constexpr int kWidth = 320;
  explicit StationaryDetector(DetectorConfig c) : config_(std::move(c)) {}

  std::optional<std::vector<Detection>> detect(const cv::Mat& bgr, const DetectContext& ctx) override {
    cv::Mat small = small_colour(ctx.small ? *ctx.small : bgr, kWidth, &scale_);
    if (ctx.small) scale_ *= ctx.small_scale;
    cv::Mat grey, f;
    cv::cvtColor(small, grey, cv::COLOR_BGR2GRAY);
    if (long_.empty()) {
      small.convertTo(long_, CV_32FC3);
      long_.copyTo(short_);
      long_.copyTo(look_);
      long_.copyTo(new_look_);
      new_evidence_ = cv::Mat::zeros(grey.size(), CV_32F);
      evidence_ = cv::Mat::zeros(grey.size(), CV_32F);
      return std::vector<Detection>{};
    }
    // Gain compensation: undo the camera's exposure change against the long-term background
    // (whose grey copy moves slowly: refreshed every 10 frames).
    if (frames_++ % 10 == 0) {
      cv::Mat long8;
      long_.convertTo(long8, CV_8UC3);
      cv::cvtColor(long8, long_grey_, cv::COLOR_BGR2GRAY);
    }
    small.convertTo(f, CV_32FC3, 1.0 / gain_of(grey, long_grey_));
    const cv::Mat d_long = colour_diff(f, long_), d_short = colour_diff(f, short_);
    const double t = 25;
    cv::Mat changed = d_long > t, moving = d_short > t;
    cv::Mat settling = changed & ~moving;
    cv::Mat back = ~changed;
    // Evidence is time (ms) a pixel has been settling, whatever the frame rate really is.
    const double dt = last_ms_ < 0 ? 1000.0 / ctx.fps : std::max(0.0, ctx.media_ms - last_ms_);
    last_ms_ = ctx.media_ms;
    const double settle = static_cast<double>(config_.settle.count());
    // Settling pixels: without evidence yet (it starts now, for the look they have), showing the
    // look their evidence was gathered for (it grows; the look follows slow drift, the light on a
    // parked car, as the long-term background does), or showing another look (their evidence is
    // held while the new look gathers its own; once that has held for `settle` it takes over).
    const cv::Mat fresh = settling & (evidence_ <= 0);
    const cv::Mat same = settling & ~fresh & (colour_diff(f, look_) <= t);
    const cv::Mat other = settling & ~(fresh | same);
    const cv::Mat new_again = other & (new_evidence_ > 0) & (colour_diff(f, new_look_) <= t);
    const cv::Mat new_start = other & ~new_again;
    f.copyTo(new_look_, new_start);
    new_evidence_.setTo(0, new_start);
    cv::add(new_evidence_, dt, new_evidence_, other);
    const cv::Mat taken_over = other & (new_evidence_ >= settle);
    new_look_.copyTo(look_, taken_over);
    new_evidence_.copyTo(evidence_, taken_over);
    f.copyTo(look_, fresh);
    cv::accumulateWeighted(f, look_, 0.02, same);
    cv::add(evidence_, dt, evidence_, fresh | same);
    evidence_.setTo(0, back);
    new_evidence_.setTo(0, back | fresh | same | taken_over);
    cv::Mat settled = evidence_ >= settle;
    // A change over most of the picture is the camera or the light, not an object: start again.
    if (cv::countNonZero(changed & ~moving) > 0.5 * static_cast<double>(changed.total())) {
      f.copyTo(long_);
      f.copyTo(short_);
      evidence_.setTo(0);
      new_evidence_.setTo(0);
      return std::vector<Detection>{};
    }
    // Backgrounds: the short one follows quickly; the long one slowly, and not where something
    // is settling or moving (so a parked car does not fade into the scene).
    cv::accumulateWeighted(f, short_, 0.3);
    cv::Mat quiet = ~(changed | moving);
    cv::accumulateWeighted(f, long_, 0.02, quiet);
    std::vector<Detection> out;
    const double inv = 1.0 / scale_;
    for (const cv::Rect& r : regions(settled, config_.min_area * static_cast<double>(settled.total()))) {
      double max_ev = 0;
      cv::minMaxLoc(evidence_(r), nullptr, &max_ev);
      const double since = ctx.media_ms - max_ev;
      out.push_back({.box = scale_rect(r, inv), .label = config_.label, .score = 1.0f, .since_ms = since});
    }
    return out;
  }
  std::string_view type() const override { return "stationary"; }

 private:
  DetectorConfig config_;
  cv::Mat long_, short_, evidence_;
  cv::Mat look_;  // per pixel, the look (colour) its evidence was gathered for
  cv::Mat new_look_, new_evidence_;  // per pixel, another look it settled on and that one's evidence (ms)
  double scale_ = 1;
  cv::Mat long_grey_;
  int64_t frames_ = 0;
  double last_ms_ = -1;
};

// ---- bin_overflow: a bin station fuller than normal ---------------------------------------------
//
// For each zone of type bin_station: the normal look is learnt over `learn`; afterwards the
// fraction of the zone that differs from it and has stayed so for `settle` is the fill estimate
// (over-full bins, bags or litter around them). At `overflow_at` or more the zone is reported.

class BinOverflowDetector final : public Detector {
 public:
  explicit BinOverflowDetector(DetectorConfig c) : config_(std::move(c)) {}

  std::optional<std::vector<Detection>> detect(const cv::Mat& bgr, const DetectContext& ctx) override {
    cv::Mat small = small_colour(ctx.small ? *ctx.small : bgr, 320, &scale_);
    if (ctx.small) scale_ *= ctx.small_scale;
    cv::Mat grey, f;
    cv::cvtColor(small, grey, cv::COLOR_BGR2GRAY);
    small.convertTo(f, CV_32FC3);
    if (start_ms_ < 0) {
      start_ms_ = ctx.media_ms;
      f.copyTo(reference_);
      evidence_ = cv::Mat::zeros(grey.size(), CV_32F);
    }
    if (ctx.media_ms - start_ms_ < static_cast<double>(config_.learn.count())) {
      cv::accumulateWeighted(f, reference_, 0.1);
      return std::vector<Detection>{};
    }
    cv::Mat ref8, ref_grey;
    reference_.convertTo(ref8, CV_8UC3);
    cv::cvtColor(ref8, ref_grey, cv::COLOR_BGR2GRAY);
    f *= 1.0 / gain_of(grey, ref_grey);
    const cv::Mat diff = colour_diff(f, reference_);
    cv::Mat changed = diff > 25;
    const double dt = last_ms_ < 0 ? 1000.0 / ctx.fps : std::max(0.0, ctx.media_ms - last_ms_);
    last_ms_ = ctx.media_ms;
    cv::add(evidence_, dt, evidence_, changed);
    evidence_.setTo(0, ~changed);
    cv::Mat settled = evidence_ >= static_cast<double>(config_.settle.count());
    std::vector<Detection> out;
    if (!ctx.zones) return out;
    for (const ZoneConfig& z : *ctx.zones) {
      if (z.type != "bin_station") continue;
      cv::Mat mask = cv::Mat::zeros(settled.size(), CV_8U);
      std::vector<cv::Point> poly;
      for (const auto& p : z.polygon) poly.emplace_back(cvRound(static_cast<double>(p.x) * scale_), cvRound(static_cast<double>(p.y) * scale_));
      cv::fillPoly(mask, std::vector<std::vector<cv::Point>>{poly}, 255);
      const double area = cv::countNonZero(mask);
      if (area <= 0) continue;
      const cv::Mat in_zone = settled & mask;
      const double fill = cv::countNonZero(in_zone) / area;
      last_fill_[z.name] = fill;
      if (fill < config_.overflow_at) continue;
      // The box is what changed in the zone (the pile), so its foot is in the zone.
      const cv::Rect2f box = scale_rect(cv::boundingRect(in_zone), 1.0 / scale_);
      out.push_back({.box = box, .label = config_.label, .score = static_cast<float>(std::min(1.0, fill)),
                     .fill = fill});
    }
    return out;
  }
  std::string_view type() const override { return "bin_overflow"; }

 private:
  DetectorConfig config_;
  cv::Mat reference_, evidence_;
  double start_ms_ = -1;
  double last_ms_ = -1;
  double scale_ = 1;
  std::map<std::string, double> last_fill_;
};

}  // namespace

Motion MotionGate::update(const cv::Mat& bgr, double prescale) {
  Motion m;
  cv::Mat grey = to_grey(bgr, config_.width, &scale_);
  scale_ *= prescale;
  cv::GaussianBlur(grey, grey, {5, 5}, 0);
  cv::Mat f;
  grey.convertTo(f, CV_32F);
  if (average_.empty()) {
    f.copyTo(average_);
    return m;
  }
  cv::Mat diff, mask;
  cv::absdiff(f, average_, diff);
  diff.convertTo(diff, CV_8U);
  cv::threshold(diff, mask, config_.threshold, 255, cv::THRESH_BINARY);
  cv::dilate(mask, mask, cv::getStructuringElement(cv::MORPH_RECT, {5, 5}));
  cv::accumulateWeighted(f, average_, 0.1);
  m.fraction = static_cast<double>(cv::countNonZero(mask)) / static_cast<double>(mask.total());
  const double inv = 1.0 / scale_;
  for (const cv::Rect& r : regions(mask, config_.min_area * static_cast<double>(mask.total())))
    m.regions.emplace_back(cvRound(r.x * inv), cvRound(r.y * inv), cvRound(r.width * inv), cvRound(r.height * inv));
  return m;
}

namespace {

template <typename D>
Result<std::unique_ptr<Detector>> make_plain(const DetectorConfig& c) {
  return std::unique_ptr<Detector>(new D(c));
}

// The registry: every detector type, once. A new detector is a line here (and its keys in
// read_detector, config.cc).
struct DetectorKind {
  std::string_view type;
  Result<std::unique_ptr<Detector>> (*make)(const DetectorConfig&);
};
constexpr DetectorKind kDetectorKinds[] = {
    {"dnn", &DnnDetector::create},
    {"motion", &make_plain<MotionDetector>},
    {"stationary", &make_plain<StationaryDetector>},
    {"bin_overflow", &make_plain<BinOverflowDetector>},
};

}  // namespace

const std::vector<std::string_view>& detector_types() {
  static const std::vector<std::string_view> types = [] {
    std::vector<std::string_view> out;
    for (const DetectorKind& k : kDetectorKinds) out.push_back(k.type);
    return out;
  }();
  return types;
}

Result<std::unique_ptr<Detector>> make_detector(const DetectorConfig& c) {
  for (const DetectorKind& k : kDetectorKinds)
    if (k.type == c.type) return k.make(c);
  return fail(ErrorCode::kInvalidArgument,
              fmt::format("unknown detector type \"{}\" ({})", c.type, fmt::join(detector_types(), ", ")), "type");
}

}  // namespace gridwatch::vision
