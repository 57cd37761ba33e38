// gridwatch qr: sheets of building QR codes for the doors (一楼一码).
#include <fmt/format.h>

#include "commands.h"
#include "gridwatch/center/buildings.h"

namespace gridwatch::app {

int run_qr(const std::filesystem::path& buildings_file, const QrSheetOptions& options) {
  auto buildings = center::load_buildings(buildings_file);
  if (!buildings) {
    fmt::print(stderr, "error: {}\n", buildings.error().message);
    return kExitUsage;
  }
  auto pages = write_qr_sheets(*buildings, options);
  if (!pages) {
    fmt::print(stderr, "error: {}\n", pages.error().message);
    return pages.error().code == ErrorCode::kUnavailable ? kExitFailure : kExitUsage;
  }
  for (const auto& p : *pages) fmt::print("{}\n", p.string());
  fmt::print(stderr, "{} buildings on {} page(s); each code opens {}\n", buildings->size(), pages->size(),
             report_url(options.base_url, "CODE"));
  return kExitOk;
}

}  // namespace gridwatch::app
