// gridwatch report daily|weekly|monthly: a report file (HTML, PDF or JSON) from the center's
// database (docs/reports.md).
#include <cctype>
#include <fstream>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "commands.h"
#include "gridwatch/center/center.h"
#include "gridwatch/center/report.h"
#include "gridwatch/domain/config.h"
#include "gridwatch/platform/log.h"
#include "gridwatch/platform/process.h"

namespace gridwatch::app {

namespace {

Status write_all(const std::filesystem::path& path, std::string_view text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  out.close();
  if (!out) return std::unexpected(Error{ErrorCode::kIo, fmt::format("{}: cannot write file", path.string())});
  return {};
}

// file:// URL of an absolute path: bytes other than unreserved ones and '/' percent-encoded.
std::string file_url(const std::filesystem::path& path) {
  std::string url = "file://";
  for (const char ch : path.string()) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '/' || c == '-' || c == '_' || c == '.' || c == '~') url += static_cast<char>(c);
    else url += fmt::format("%{:02X}", c);
  }
  return url;
}

}  // namespace

Status write_report(const nlohmann::json& report, const ReportFileOptions& o) {
  const std::string ext = o.out.extension().string();
  if (ext == ".json") return write_all(o.out, report.dump(2) + "\n");
  const std::filesystem::path script = o.web_root / "bulletin" / "bulletin.js";
  const std::string charts = read_text_file(script).value_or("");
  if (charts.empty())
    spdlog::warn("report: no chart script at {} (npm run build in web/): the report has no charts", script.string());
  const std::string html = center::report_html(report, charts);
  if (ext != ".pdf") return write_all(o.out, html);
  // PDF: the page (its charts drawn) printed by headless Chromium.
  const std::filesystem::path page = o.out.string() + ".html";
  if (auto st = write_all(page, html); !st) return st;
  platform::SpawnOptions spawn;
  spawn.log_file = o.out.string() + ".log";
  std::error_code ec;
  std::filesystem::remove(o.out, ec);
  std::filesystem::remove(spawn.log_file, ec);  // this print's log only
  auto st = platform::run_to_completion(
      {o.chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
       "--run-all-compositor-stages-before-draw", "--virtual-time-budget=10000",
       "--print-to-pdf=" + std::filesystem::absolute(o.out).string(),
       file_url(std::filesystem::absolute(page))},
      spawn, std::chrono::seconds{120});
  std::filesystem::remove(page, ec);
  if (!st) return st;
  if (!std::filesystem::exists(o.out))
    return std::unexpected(Error{ErrorCode::kIo, fmt::format("{} printed no PDF (see {})", o.chromium, spawn.log_file.string())});
  std::filesystem::remove(spawn.log_file, ec);
  return {};
}

int run_report(const ReportOptions& o) {
  if (auto st = platform::init_logging("warn", "report"); !st) return kExitUsage;
  const std::string ext = o.file.out.extension().string();
  if (ext != ".html" && ext != ".pdf" && ext != ".json") {
    fmt::print(stderr, "error: --out {}: the file name ends in .html, .pdf or .json\n", o.file.out.string());
    return kExitUsage;
  }
  auto config = center::load_center_config(o.config);
  if (!config) {
    fmt::print(stderr, "error: {}\n", config.error().message);
    return kExitUsage;
  }
  const Catalog* catalog = load_catalog(config->catalog);
  if (!catalog) return kExitUsage;
  auto areas = center::load_area_index(*config);
  if (!areas) {
    fmt::print(stderr, "error: areas: {}\n", areas.error().message);
    return kExitUsage;
  }
  center::QueryParams params = {{"kind", o.kind}};
  for (const auto& [key, v] : {std::pair{"from", o.from}, {"to", o.to}, {"tz", o.tz}, {"area", o.area}, {"level", o.level}})
    if (!v.empty()) params.emplace(key, v);
  auto q = center::parse_report_query(params, **areas, config->analytics, now_utc());
  if (!q) {
    fmt::print(stderr, "error: --{}: {}\n", q.error().field, q.error().message);
    return kExitUsage;
  }
  auto store = open_migrated_store(*config, *catalog);
  if (!store) return kExitFailure;
  auto report = center::build_report(*store, **areas, *catalog, *q);
  if (!report) {
    fmt::print(stderr, "error: {}\n", report.error().message);
    return kExitFailure;
  }
  ReportFileOptions file = o.file;
  if (file.web_root.empty()) file.web_root = config->web.root.empty() ? "web/dist" : config->web.root;
  if (auto st = write_report(*report, file); !st) {
    fmt::print(stderr, "error: {}\n", st.error().message);
    return kExitFailure;
  }
  fmt::print("{}\n", file.out.string());
  return kExitOk;
}

}  // namespace gridwatch::app
