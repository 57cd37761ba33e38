#include "gridwatch/center/patrol.h"

#include <chrono>

#include <cctz/civil_time.h>
#include <fmt/format.h>

namespace gridwatch::center {

PatrolMap::PatrolMap(PatrolConfig config, std::shared_ptr<const geo::AreaIndex> areas, std::string level)
    : config_(std::move(config)), areas_(std::move(areas)) {
  if (!cctz::load_time_zone(config_.time_zone, &tz_)) tz_ = cctz::utc_time_zone();  // checked by the config
  if (areas_)
    for (size_t i = 0; i < areas_->levels(); ++i)
      if (!areas_->areas(i).empty() && areas_->areas(i).front().level_name == level) level_ = i;
}

std::shared_ptr<const geo::CellLattice> PatrolMap::lattice(const std::string& code) {
  if (!level_) return nullptr;
  std::lock_guard lock(mu_);
  if (auto it = lattices_.find(code); it != lattices_.end()) return it->second;
  const auto& grids = areas_->areas(*level_);
  const auto a = std::find_if(grids.begin(), grids.end(), [&](const geo::Area& g) { return g.code == code; });
  if (a == grids.end()) return nullptr;
  // A cell is the grid's when its centre is placed in the grid, by the rule every case is placed by.
  const size_t level = *level_;
  auto l = std::make_shared<const geo::CellLattice>(geo::CellLattice::build(
      a->bbox, config_.cell_m, [&](LonLat p) {
        const geo::Area* at = areas_->locate(p, level);
        return at && at->code == code;
      }));
  lattices_.emplace(code, l);
  return l;
}

std::vector<Store::PatrolCell> PatrolMap::cells(const geo::CellLattice& lattice, const std::optional<geo::Fix>& previous,
                                                const std::vector<geo::Fix>& kept) const {
  std::vector<Store::PatrolCell> out;
  const geo::Fix* from = previous ? &*previous : nullptr;
  for (const geo::Fix& f : kept) {
    // A worker standing still covers the cells around them; two fixes too far apart in time are
    // not a walk between them (the phone was off, or in a pocket without a fix).
    const bool joined = from && f.at - from->at <= config_.max_gap;
    const std::string day = day_of(f.at);
    for (int c : lattice.passed(joined ? from->p : f.p, f.p, config_.pass_m)) out.push_back({day, c});
    from = &f;
  }
  return out;
}

std::string PatrolMap::day_of(Timestamp t) const {
  const auto s = std::chrono::time_point_cast<std::chrono::seconds>(t);
  const cctz::civil_day d(cctz::convert(std::chrono::system_clock::time_point(s), tz_));
  return fmt::format("{:04}-{:02}-{:02}", d.year(), d.month(), d.day());
}

std::optional<std::pair<Timestamp, Timestamp>> PatrolMap::day_bounds(std::string_view day) const {
  int y = 0, m = 0, d = 0;
  char tail = 0;
  if (day.size() != 10 || std::sscanf(std::string(day).c_str(), "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3)
    return std::nullopt;
  const cctz::civil_day cd(y, m, d);
  if (cd.year() != y || cd.month() != m || cd.day() != d) return std::nullopt;
  const auto start = cctz::convert(cctz::civil_second(cd), tz_);
  const auto end = cctz::convert(cctz::civil_second(cd + 1), tz_);
  return std::pair{std::chrono::time_point_cast<std::chrono::milliseconds>(start),
                   std::chrono::time_point_cast<std::chrono::milliseconds>(end)};
}

}  // namespace gridwatch::center
