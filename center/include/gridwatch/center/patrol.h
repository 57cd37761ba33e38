// Grid workers' rounds on the center's side (docs/patrol.md): each grid's coverage lattice
// (built once, on first use), the cells a batch of positions passed, and days in the configured
// time zone. Thread-safe.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <cctz/time_zone.h>

#include "gridwatch/center/config.h"
#include "gridwatch/center/store.h"
#include "gridwatch/geo/areas.h"
#include "gridwatch/geo/patrol.h"

namespace gridwatch::center {

class PatrolMap {
 public:
  // `level`: the area level grid workers belong to (dispatch.worker_level).
  PatrolMap(PatrolConfig config, std::shared_ptr<const geo::AreaIndex> areas, std::string level);

  const PatrolConfig& config() const { return config_; }
  // The lattice of grid `code`; nullptr when no area of the level has that code.
  std::shared_ptr<const geo::CellLattice> lattice(const std::string& code);
  // The lattice cells of the grid that `kept` passed (joined to `previous`, the last fix stored,
  // when within max_gap), each with the day of the fix that reached it.
  std::vector<Store::PatrolCell> cells(const geo::CellLattice& lattice, const std::optional<geo::Fix>& previous,
                                       const std::vector<geo::Fix>& kept) const;
  // YYYY-MM-DD of `t` in patrol.time_zone.
  std::string day_of(Timestamp t) const;
  // The first instant of `day` (YYYY-MM-DD) and of the day after, in patrol.time_zone; nullopt
  // when `day` is not a date.
  std::optional<std::pair<Timestamp, Timestamp>> day_bounds(std::string_view day) const;

 private:
  PatrolConfig config_;
  std::shared_ptr<const geo::AreaIndex> areas_;
  std::optional<size_t> level_;
  cctz::time_zone tz_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<const geo::CellLattice>> lattices_;
};

}  // namespace gridwatch::center
