#include "qr_sheet.h"

#include <qrencode.h>

#include <memory>
#include <opencv2/freetype.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace gridwatch::app {
namespace {

constexpr int kPageW = 1240, kPageH = 1754, kMargin = 60;  // A4 at 150 dpi
constexpr const char* kDefaultFont = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc";

struct QrDeleter {
  void operator()(QRcode* q) const { QRcode_free(q); }
};

Result<cv::Mat> qr_image(const std::string& text, int side) {
  // Medium error correction: a code on a door survives some dirt and scratches.
  std::unique_ptr<QRcode, QrDeleter> q(QRcode_encodeString(text.c_str(), 0, QR_ECLEVEL_M, QR_MODE_8, 1));
  if (!q) return fail(ErrorCode::kInvalidArgument, fmt::format("cannot encode \"{}\" as a QR code", text), "url");
  const int n = q->width, quiet = 4, cells = n + 2 * quiet;
  cv::Mat small(cells, cells, CV_8UC1, cv::Scalar(255));
  for (int y = 0; y < n; ++y)
    for (int x = 0; x < n; ++x)
      if (q->data[y * n + x] & 1) small.at<uint8_t>(y + quiet, x + quiet) = 0;
  cv::Mat big;
  const int scale = std::max(1, side / cells);
  cv::resize(small, big, cv::Size(cells * scale, cells * scale), 0, 0, cv::INTER_NEAREST);
  return big;
}

}  // namespace

std::string report_url(const std::string& base_url, const std::string& code) {
  std::string base = base_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  return fmt::format("{}/report?b={}", base, code);  // codes are plain names: nothing to escape
}

Result<std::vector<std::filesystem::path>> write_qr_sheets(const std::vector<center::Building>& buildings,
                                                           const QrSheetOptions& o) {
  if (buildings.empty()) return fail(ErrorCode::kInvalidArgument, "the registry has no buildings", "buildings");
  if (!o.base_url.starts_with("http://") && !o.base_url.starts_with("https://"))
    return fail(ErrorCode::kInvalidArgument, fmt::format("base URL \"{}\" is not http(s)", o.base_url), "base_url");
  // Names in Chinese need a CJK font; without one the sheet still has the codes and the URL.
  cv::Ptr<cv::freetype::FreeType2> ft;
  const std::filesystem::path font = o.font.empty() ? kDefaultFont : o.font;
  if (std::filesystem::exists(font)) {
    ft = cv::freetype::createFreeType2();
    ft->loadFontData(font.string(), 0);
  } else {
    spdlog::warn("no font {} (Debian package fonts-noto-cjk): names are left off the sheet", font.string());
  }
  const int per_page = o.columns * o.rows;
  const int cell_w = (kPageW - 2 * kMargin) / o.columns, cell_h = (kPageH - 2 * kMargin) / o.rows;
  const int pages = (static_cast<int>(buildings.size()) + per_page - 1) / per_page;
  std::vector<std::filesystem::path> out;
  for (int p = 0; p < pages; ++p) {
    cv::Mat page(kPageH, kPageW, CV_8UC3, cv::Scalar(255, 255, 255));  // FreeType draws on BGR only
    for (int i = 0; i < per_page; ++i) {
      const size_t k = static_cast<size_t>(p * per_page + i);
      if (k >= buildings.size()) break;
      const center::Building& b = buildings[k];
      const int x0 = kMargin + (i % o.columns) * cell_w, y0 = kMargin + (i / o.columns) * cell_h;
      auto qr = qr_image(report_url(o.base_url, b.code), cell_w - 60);
      if (!qr) return std::unexpected(qr.error());
      const int qx = x0 + (cell_w - qr->cols) / 2;
      cv::cvtColor(*qr, page(cv::Rect(qx, y0, qr->cols, qr->rows)), cv::COLOR_GRAY2BGR);
      int y = y0 + qr->rows + 8;
      auto line = [&](const std::string& text, int height) {
        if (ft) {
          int base = 0;
          const cv::Size sz = ft->getTextSize(text, height, -1, &base);
          ft->putText(page, text, cv::Point(x0 + std::max(0, (cell_w - sz.width) / 2), y), height, cv::Scalar(0, 0, 0), -1,
                      cv::LINE_AA, false);
        } else {
          cv::putText(page, text, cv::Point(x0 + 10, y + height), cv::FONT_HERSHEY_SIMPLEX, height / 30.0, cv::Scalar(0, 0, 0), 1,
                      cv::LINE_AA);
        }
        y += height + 6;
      };
      if (ft) line(b.name, 26);
      line(b.code, 22);
      if (ft) line("扫码上报 Scan to report", 20);
      cv::rectangle(page, cv::Rect(x0 + 4, y0 - 8, cell_w - 8, cell_h - 8), cv::Scalar(200, 200, 200), 1);
    }
    std::filesystem::path path = o.out;
    if (pages > 1) path.replace_filename(fmt::format("{}-{}{}", o.out.stem().string(), p + 1, o.out.extension().string()));
    if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
    if (!cv::imwrite(path.string(), page))
      return fail(ErrorCode::kUnavailable, fmt::format("cannot write {}", path.string()), "out");
    out.push_back(path);
  }
  return out;
}

}  // namespace gridwatch::app
