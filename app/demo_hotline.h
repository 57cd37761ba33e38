// The demo's hotline (12345): a CSV export of earlier tickets imported at start, and residents'
// tickets posted through Open311 while the demo runs, some of them about problems a sensor or
// camera has already reported (they join that case, which counts as handled before the call).
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "gridwatch/center/center.h"

namespace gridwatch::app {

// Trains the demo's dispatch suggestion model on generated tickets and writes it to `path`;
// prints what it did. nullopt (logged) when training fails: the demo runs without suggestions.
std::optional<std::filesystem::path> train_demo_model(const Catalog& catalog, const std::filesystem::path& path);

class DemoHotline {
 public:
  static constexpr const char* kApiKey = "demo-hotline-key-0123456789";
  // The demo center's API tokens (auth.tokens), printed in its banner.
  static constexpr const char* kDispatcherToken = "demo-dispatcher-token-0123";
  static constexpr const char* kAdminToken = "demo-admin-token-0123456789";
  static constexpr const char* kStreetToken = "demo-xicheng-office-token";  // department, unit 110102
  static constexpr const char* kWaterToken = "demo-water-authority-token";   // department water_authority
  static constexpr const char* kPoliceToken = "demo-traffic-police-token";   // department traffic_police
  static constexpr const char* kWorkerToken = "demo-worker-xizhimen-token";  // worker of the underpass's grid
  static constexpr const char* kWorker = "w-xizhimen";
  static constexpr const char* kWorker2Token = "demo-worker-xizhimen-2-token";  // a second worker of that grid
  static constexpr const char* kWorker2 = "w-xizhimen-2";
  // The demo center's tokens: the four above, the dispatcher's and admin's, and the two workers'
  // whose grid is `worker_grid` (empty: no workers).
  static std::vector<center::ApiToken> tokens(const std::string& worker_grid);

  DemoHotline(center::Center& center, std::filesystem::path dir);
  // Writes the CSV export and its mapping into the demo's directory and imports it; prints the
  // import's summary.
  void import_export();
  // Posts the tickets scripted for second `t` of the demo.
  void tick(int t);

  // The photo the second worker verifies the flood case with (uploaded by the patrol script).
  void set_verify_photo(std::string url) { verify_photo_ = std::move(url); }

  size_t posted() const { return posted_; }
  size_t imported() const { return imported_; }
  size_t joined() const { return joined_; }  // posted tickets that joined an existing case
  size_t steps() const { return steps_; }    // lifecycle steps the demo's dispatcher took
  // What became of the flood case and the three rates of the demo's cases, for the summary.
  std::string summary() const;

 private:
  void post(const std::string& form, const char* what);
  // A lifecycle step on the flood case, taken by `who` with `token` (with a photo: `photo_url`).
  void act(const char* who, const char* token, const std::string& action, const std::string& reason,
           const std::string& photo_url = {});
  // A summoned unit's step on the flood case.
  void task(const char* unit, const char* token, const char* action, const std::string& note);
  // POST (or PUT) `body` to `path` with `token`; the answer, or nullopt after a warning.
  std::optional<nlohmann::json> call(const char* method, const std::string& path, const nlohmann::json& body,
                                     const char* token) const;

  center::Center& center_;
  std::filesystem::path dir_;
  size_t posted_ = 0, imported_ = 0, joined_ = 0, steps_ = 0;
  std::string last_ticket_, last_token_, flood_case_, resident_token_, verify_photo_;
};

}  // namespace gridwatch::app
