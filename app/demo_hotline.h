// The demo's hotline (12345): a CSV export of earlier tickets imported at start, and residents'
// tickets posted through Open311 while the demo runs, some of them about problems a sensor or
// camera has already reported (they join that case, which counts as handled before the call).
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>

#include "gridwatch/center/center.h"

namespace gridwatch::app {

class DemoHotline {
 public:
  static constexpr const char* kApiKey = "demo-hotline-key-0123456789";
  // The demo center's API tokens (auth.tokens), printed in its banner.
  static constexpr const char* kDispatcherToken = "demo-dispatcher-token-0123";
  static constexpr const char* kAdminToken = "demo-admin-token-0123456789";

  DemoHotline(center::Center& center, std::filesystem::path dir);
  // Writes the CSV export and its mapping into the demo's directory and imports it; prints the
  // import's summary.
  void import_export();
  // Posts the tickets scripted for second `t` of the demo.
  void tick(int t);

  size_t posted() const { return posted_; }
  size_t imported() const { return imported_; }
  size_t joined() const { return joined_; }  // posted tickets that joined an existing case
  size_t steps() const { return steps_; }    // lifecycle steps the demo's dispatcher took

 private:
  void post(const std::string& form, const char* what);
  void act(const std::string& action, const std::string& reason);

  center::Center& center_;
  std::filesystem::path dir_;
  size_t posted_ = 0, imported_ = 0, joined_ = 0, steps_ = 0;
  std::string last_ticket_, flood_case_;
};

}  // namespace gridwatch::app
