#include "gridwatch/vision/scene.h"

#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include <cmath>

#include <fmt/format.h>

namespace gridwatch::vision {
namespace {

void draw_car(cv::Mat& img, int x) {
  const cv::Rect body(x, StreetScene::kCarY, StreetScene::kCarW, StreetScene::kCarH);
  const cv::Rect visible = body & cv::Rect(0, 0, img.cols, img.rows);
  if (visible.area() <= 0) return;
  img(visible).setTo(cv::Scalar(40, 40, 190));
  cv::rectangle(img, cv::Rect(x + 30, 244, 40, 42) & visible, cv::Scalar(60, 40, 30), cv::FILLED);
  cv::rectangle(img, cv::Rect(x + 85, 244, 35, 42) & visible, cv::Scalar(60, 40, 30), cv::FILLED);
}

}  // namespace

LonLat StreetScene::ground(double px, double py) {
  return {.lon = 116.41000 + px / 640 * 0.00047, .lat = 39.91350 + (360 - py) / 300 * 0.00017};
}

std::string StreetScene::calibration_yaml() {
  std::string out = "[";
  for (const auto& [px, py] : {std::pair{0.0, 360.0}, std::pair{640.0, 360.0}, std::pair{640.0, 60.0}, std::pair{0.0, 60.0}}) {
    const LonLat g = ground(px, py);
    out += fmt::format("{}{{px: {}, py: {}, lon: {:.5f}, lat: {:.5f}}}", out.size() > 1 ? ", " : "", px, py, g.lon, g.lat);
  }
  return out + "]";
}

StreetScene::StreetScene(cv::Size size) : background_(360, 640, CV_8UC3), size_(size) {
  cv::RNG rng(20261123);
  background_.setTo(cv::Scalar(70, 70, 72));                               // road
  background_(cv::Rect(0, 0, 640, 60)).setTo(cv::Scalar(90, 110, 150));    // building
  background_(cv::Rect(0, 60, 640, 60)).setTo(cv::Scalar(150, 150, 145));  // far pavement
  background_(cv::Rect(0, 300, 640, 60)).setTo(cv::Scalar(150, 150, 145)); // near pavement
  cv::Mat noise(background_.size(), CV_8UC3);
  rng.fill(noise, cv::RNG::NORMAL, 0, 6);
  background_ += noise;
  for (int x = 0; x < 640; x += 80) cv::rectangle(background_, {x, 208, 40, 4}, cv::Scalar(230, 230, 230), cv::FILLED);
  for (int x = 80; x < 330; x += 24) cv::line(background_, {x, 296}, {x + 12, 286}, cv::Scalar(0, 210, 240), 2);
  cv::line(background_, {0, 300}, {640, 300}, cv::Scalar(200, 200, 200), 2);
  cv::rectangle(background_, {505, 295, 30, 50}, cv::Scalar(40, 120, 40), cv::FILLED);  // bins
  cv::rectangle(background_, {545, 295, 30, 50}, cv::Scalar(40, 120, 40), cv::FILLED);
}

Result<std::optional<Frame>> StreetScene::next() {
  const double t = std::fmod(static_cast<double>(index_) / kFps, kPeriod);
  cv::Mat img = background_.clone();
  // The car: drives in 8-12 s, parked until 80 s, gone by 88 s.
  double car_x = -200;
  if (t >= 8 && t < 12) car_x = -160 + (t - 8) * 72.5;
  else if (t >= 12 && t < 80) car_x = kCarParkedX;
  else if (t >= 80 && t < 88) car_x = kCarParkedX + (t - 80) * 80;
  if (car_x > -160 && car_x < 640) draw_car(img, static_cast<int>(car_x));
  // The pile by the bins.
  if (t >= 20 && t < 100) {
    const double grow = std::min(1.0, (t - 20) / 20);
    const int w = static_cast<int>(100 * grow), h = static_cast<int>(40 * grow);
    if (w > 0 && h > 0) {
      cv::RNG rng(7);
      cv::Mat pile(h, w, CV_8UC3);
      rng.fill(pile, cv::RNG::UNIFORM, cv::Scalar(10, 10, 10), cv::Scalar(60, 60, 60));
      cv::Rect r(470, 345 - h, w, h);
      r &= cv::Rect(0, 0, 640, 360);
      pile(cv::Rect(0, 0, r.width, r.height)).copyTo(img(r));
    }
  }
  // People on the far pavement.
  for (int k = 0; k < 3; ++k) {
    const double x = std::fmod(t * 40 + k * 230, 700) - 30;
    cv::rectangle(img, cv::Rect(static_cast<int>(x), 70 + 12 * k, 14, 36), cv::Scalar(60 + 50 * k, 40, 140), cv::FILLED);
  }
  img.convertTo(img, -1, 1.0 + 0.015 * std::sin(static_cast<double>(index_)));  // a little flicker
  if (size_ != img.size()) cv::resize(img, img, size_, 0, 0, cv::INTER_LINEAR);
  Frame f{.image = std::move(img), .index = index_, .media_ms = static_cast<double>(index_) * 1000.0 / kFps};
  ++index_;
  return std::optional<Frame>{std::move(f)};
}

Status write_video(FrameSource& source, const std::filesystem::path& path, int64_t frames, int jpeg_quality) {
  const double fps = source.fps() > 0 ? source.fps() : 10;
  cv::VideoWriter w(path.string(), cv::CAP_OPENCV_MJPEG, cv::VideoWriter::fourcc('M', 'J', 'P', 'G'), fps,
                    source.size());
  if (!w.isOpened()) return fail(ErrorCode::kUnavailable, fmt::format("video {}: cannot be written", path.string()));
  w.set(cv::VIDEOWRITER_PROP_QUALITY, jpeg_quality);
  for (int64_t n = 0; n < frames; ++n) {
    auto f = source.next();
    if (!f) return std::unexpected(f.error());
    if (!*f) break;
    w.write((*f)->image);
  }
  w.release();
  return {};
}

}  // namespace gridwatch::vision
