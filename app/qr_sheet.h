// Sheets of building QR codes (一楼一码): each code opens the report page of its building,
// {base_url}/report?b={code}, with the building's name and code printed under it for the door.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "gridwatch/center/buildings.h"
#include "gridwatch/domain/error.h"

namespace gridwatch::app {

struct QrSheetOptions {
  std::string base_url;             // the center as residents' phones reach it, e.g. https://gw.example.gov.cn
  std::filesystem::path out;        // sheet.png; several pages: sheet-1.png, sheet-2.png, ...
  int columns = 3, rows = 4;        // codes per A4 page (150 dpi)
  std::filesystem::path font;       // a CJK font for the names (default: Noto Sans CJK from fonts-noto-cjk)
};

// Writes the pages; returns their paths.
[[nodiscard]] Result<std::vector<std::filesystem::path>> write_qr_sheets(const std::vector<center::Building>& buildings,
                                                                         const QrSheetOptions& options);

// The URL a building's code carries.
std::string report_url(const std::string& base_url, const std::string& code);

}  // namespace gridwatch::app
