#include "gridwatch/vision/evidence.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>


#include <fmt/format.h>

#include "gridwatch/domain/config.h"

namespace gridwatch::vision {

Result<FittedJpeg> fit_jpeg(const std::filesystem::path& file, size_t max_bytes) {
  auto text = read_text_file(file);
  if (!text) return fail(ErrorCode::kNotFound, fmt::format("snapshot {}: cannot be read", file.string()));
  std::vector<unsigned char> bytes(text->begin(), text->end());
  cv::Mat img = cv::imdecode(bytes, cv::IMREAD_COLOR);
  if (img.empty()) return fail(ErrorCode::kParse, fmt::format("snapshot {}: not a JPEG image", file.string()));
  if (bytes.size() <= max_bytes) return FittedJpeg{std::move(bytes), img.cols, img.rows, 0};
  std::vector<unsigned char> out;
  for (;;) {
    for (int q : {70, 55, 40}) {
      cv::imencode(".jpg", img, out, {cv::IMWRITE_JPEG_QUALITY, q});
      if (out.size() <= max_bytes) return FittedJpeg{std::move(out), img.cols, img.rows, q};
    }
    const int w = img.cols * 3 / 4;
    if (w < 160) break;
    cv::resize(img, img, {w, std::max(1, img.rows * 3 / 4)}, 0, 0, cv::INTER_AREA);
  }
  return fail(ErrorCode::kTooLarge, fmt::format("snapshot {}: does not fit in {} bytes even at {}x{}, quality 40",
                                                file.string(), max_bytes, img.cols, img.rows));
}

}  // namespace gridwatch::vision
