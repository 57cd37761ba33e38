// The demo's reports (docs/reports.md): last week's report of the generated history, as HTML and
// (when Chromium is installed) PDF, written under the demo's directory.
#pragma once

#include <filesystem>
#include <string>

#include "gridwatch/center/center.h"

namespace gridwatch::app {

// Writes the files into `dir` and returns the banner's lines naming them (or why there are none).
std::string write_demo_reports(center::Center& center, const std::filesystem::path& dir,
                               const std::filesystem::path& web_root);

}  // namespace gridwatch::app
