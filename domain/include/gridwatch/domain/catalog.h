// The category catalog: the service codes shared by hotline tickets and edge orders.
//
// A Catalog is immutable after loading and safe to share between threads. The catalog shipped
// with gridwatch (data/categories.yaml, compiled into the binary) is Catalog::builtin(); a
// deployment may load its own file with load_file().
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gridwatch/domain/error.h"
#include "gridwatch/domain/time.h"

namespace gridwatch {

enum class Priority { kUrgent, kHigh, kNormal, kLow };
std::string_view to_string(Priority p);
std::optional<Priority> parse_priority(std::string_view text);

// Who confirms that a resolved case is fixed before it closes (核查).
enum class VerifyBy {
  kWorker,    // another on-duty grid worker of the case's grid, with a photo
  kSensor,    // a sensor source of the case reporting clear; a worker when the case has none
  kResident,  // the resident's evaluation (or the dispatcher's call-back) closes it
  kNone,      // resolving closes the case
};
std::string_view to_string(VerifyBy v);

struct LocalizedName {
  std::string zh;
  std::string en;
};

struct Category {
  std::string code;  // "sanitation.bin_overflow"
  LocalizedName name;
  std::string department_code;
  LocalizedName department;
  Duration respond_within{};
  Duration resolve_within{};
  VerifyBy verify_by = VerifyBy::kResident;
  Duration verify_within = std::chrono::hours{24};  // after it is resolved
  double merge_radius_m = 0;
  Duration merge_window{};
  // Other categories whose reports may join a case of this one (and the other way round): a car
  // reported as illegal parking by a resident and as a blocked fire lane by a camera.
  std::vector<std::string> merge_with;
  Priority default_priority = Priority::kNormal;
  std::string taxonomy_code;  // six digits, a leaf of the 12345 taxonomy
  std::string taxonomy_name;
  // Words a caller uses for it (besides its names), for the text classifier's keyword features.
  std::vector<std::string> keywords;
};

class Catalog {
 public:
  // Errors name the file, line and key (code kConfig).
  static Result<Catalog> load_file(const std::filesystem::path& path);
  static Result<Catalog> load_text(std::string_view yaml, std::string source_name);
  // The catalog compiled into gridwatch. Never fails (the build checks it).
  static const Catalog& builtin();

  // nullptr when `code` is not in the catalog.
  const Category* find(std::string_view code) const;
  const std::vector<Category>& all() const { return categories_; }
  // True when reports of `a` and `b` may be one case: the same code, or one names the other in
  // merge.with. Such a pair merges within the smaller radius and window of the two.
  static bool compatible(const Category& a, const Category& b);
  // Urgent cases answer and are done within these at the latest, whatever their category's own
  // SLA (`urgent_sla` of the catalog file; 2 h and 24 h when absent).
  Duration urgent_respond_within() const { return urgent_respond_; }
  Duration urgent_resolve_within() const { return urgent_resolve_; }

 private:
  std::vector<Category> categories_;
  Duration urgent_respond_ = std::chrono::hours{2};
  Duration urgent_resolve_ = std::chrono::hours{24};
};

}  // namespace gridwatch
