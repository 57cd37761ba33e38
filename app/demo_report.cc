#include "demo_report.h"

#include <cstdlib>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "commands.h"
#include "gridwatch/center/report.h"

namespace gridwatch::app {

namespace {

// The program on PATH, or "" when there is none.
std::string on_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/bin:/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    const size_t end = std::min(dirs.find(':', start), dirs.size());
    const std::filesystem::path p = std::filesystem::path(dirs.substr(start, end - start)) / name;
    std::error_code ec;
    if (!p.parent_path().empty() && std::filesystem::is_regular_file(p, ec)) return p.string();
    start = end + 1;
  }
  return {};
}

}  // namespace

std::string write_demo_reports(center::Center& center, const std::filesystem::path& dir,
                               const std::filesystem::path& web_root) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  auto q = center::parse_report_query({{"kind", "weekly"}}, center.areas(), center.config().analytics, now_utc());
  if (!q) return fmt::format("  report:            none ({})\n", q.error().message);
  auto report = center::build_report(center.store(), center.areas(), center.catalog(), *q);
  if (!report) {
    spdlog::warn("demo report: {}", report.error().message);
    return fmt::format("  report:            none ({})\n", report.error().message);
  }
  const std::string stem = fmt::format("weekly-{}", q->first_day);
  ReportFileOptions file{.out = dir / (stem + ".html"), .web_root = web_root};
  if (auto st = write_report(*report, file); !st) return fmt::format("  report:            none ({})\n", st.error().message);
  std::string lines = fmt::format("  weekly report:     {} (last week, {})\n", std::filesystem::absolute(file.out).string(), q->label);
  file.chromium = on_path("chromium");
  if (file.chromium.empty()) return lines + "                     (no PDF: chromium is not installed)\n";
  file.out = dir / (stem + ".pdf");
  if (auto st = write_report(*report, file); !st) {
    spdlog::warn("demo report PDF: {}", st.error().message);
    return lines + fmt::format("                     (no PDF: {})\n", st.error().message);
  }
  return lines + fmt::format("                     {}\n", std::filesystem::absolute(file.out).string());
}

}  // namespace gridwatch::app
