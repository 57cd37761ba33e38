#pragma once
// What the analytics read from the store: the cases of a window counted per cell and time step,
// on hexagons of a size (PostGIS ST_HexagonGrid in the UTM zone of the area) or on the polygons
// of an area level (grid cells, communities, streets), with the cells' neighbours.

#include <cstddef>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "gridwatch/domain/time.h"

namespace gridwatch::center::analytics {

struct CellQuery {
  Timestamp from, to;             // cases opened in [from, to)
  int64_t step_seconds = 0;       // counts per step of this length from `from`; 0: one step
  std::string cells = "hex";      // "hex" or the name of an area level
  double size_m = 250;            // hexagons: the length of an edge
  // Hexagons: when the area would take more than kMaxCells of size_m, larger ones that fit (the
  // size was a default, not asked for); otherwise such a grid is refused.
  bool fit_size = false;
  std::string category;           // a category code or group ("sanitation"): only its cases; "": all
  std::string area_level, area_code;  // only the cells of this area (its cases), when given
  size_t steps() const;
};

struct Cell {
  std::string id;       // "h:I:J" for a hexagon, the area's code for a polygon
  std::string name;     // the area's name; "" for a hexagon
  double x = 0, y = 0;  // the centre: metres (hexagons, UTM) or degrees (polygons)
  double lon = 0, lat = 0;
  std::string geometry;         // GeoJSON in WGS 84
  std::vector<double> counts;   // one per step
  std::map<std::string, std::vector<double>> groups;  // the same per category group (those with cases)
  double total() const;
};

struct CellGrid {
  std::vector<Cell> cells;
  // The same grid with only one category group's counts (empty counts where it has none).
  CellGrid only(const std::string& group) const;
  std::vector<std::pair<size_t, size_t>> touching;  // polygons: the pairs that share a border or corner
  double band_m = 0;  // hexagons: centres this far apart are neighbours (√3 × edge, and a little)
  double size_m = 0;  // hexagons: the edge used (larger than asked when fitted)
  bool hexagons() const { return band_m > 0; }
};

// Cases of one category group in one area on one local day.
struct DailyCount {
  std::string group, area, area_name;
  int day = 0;  // 0: the first day of the span read
  double n = 0;
};

// Hexagon grids larger than this are refused (a cell size too small for the area), or made of
// larger hexagons when the size was not asked for (CellQuery::fit_size).
inline constexpr size_t kMaxCells = 20000;
inline constexpr double kMinHexagonM = 50;    // the smallest edge asked or configured
inline constexpr double kMaxHexagonM = 5000;  // the largest edge asked, configured or fitted

// The edge of hexagons that cover an area of `cells` hexagons of `size_m` in at most 90 % of
// kMaxCells (room for the hexagons on the area's border), rounded up to 50 m; size_m itself when
// it already fits.
double fitted_hexagon_m(double size_m, double cells);

}  // namespace gridwatch::center::analytics
