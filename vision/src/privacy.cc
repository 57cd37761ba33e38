// Privacy of a camera's pipeline (pipeline.h): faces and plates blurred before anything is kept.
#include "gridwatch/vision/pipeline.h"

#include <opencv2/imgproc.hpp>
#include <opencv2/objdetect.hpp>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace gridwatch::vision {

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

}  // namespace gridwatch::vision
