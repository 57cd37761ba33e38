// Grid workers' patrol tracks: dropping GPS glitches, and which 50 m cells of a grid a track
// passed (the coverage of a round, docs/patrol.md).
//
// A CellLattice cuts a grid's bounding box into square cells of `cell_m` metres in a local
// equirectangular frame whose origin is the box's south-west corner (good to well under a metre
// over a grid of a few kilometres); a cell belongs to the grid when its centre does (the caller
// says what "inside" means: the center uses the area index, with its boundary rule). A track
// segment passes a cell when the cell's centre is within `pass_m` of the segment (a millimetre
// of slack: a centre at exactly `pass_m` counts).
//
// Thread-safe after build(): passed() and cell_ring() only read.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "gridwatch/domain/order.h"
#include "gridwatch/domain/time.h"
#include "gridwatch/geo/areas.h"

namespace gridwatch::geo {

struct Fix {
  Timestamp at;
  LonLat p;
  std::optional<double> accuracy_m;
};

// A fix is a glitch when reaching it from the last fix kept would take more than `max_speed_mps`
// and it lies more than `min_jump_m` away (short hops at a high implied speed are jitter of a
// few metres, not a jump). Fixes are taken in time order; one with the time of a fix already
// kept is dropped as a repeat.
struct GlitchRule {
  double max_speed_mps = 30;  // 108 km/h: no grid worker walks, cycles or rides faster
  double min_jump_m = 100;
};

struct TrackFilter {
  std::vector<Fix> kept;     // in time order
  std::vector<Fix> glitches; // dropped as jumps
  size_t repeats = 0;        // dropped as a second fix of the same instant
};

// `previous`: the last fix kept before this batch (the jump is judged from it), if any.
TrackFilter drop_glitches(const std::optional<Fix>& previous, std::vector<Fix> fixes, const GlitchRule& rule = {});

class CellLattice {
 public:
  // The cells of `bbox` (min lon, min lat, max lon, max lat) whose centres satisfy `inside`.
  static CellLattice build(const std::array<double, 4>& bbox, double cell_m,
                           const std::function<bool(LonLat)>& inside);

  size_t cells() const { return count_; }  // cells of the grid
  int columns() const { return cols_; }
  int rows() const { return rows_; }
  bool in_grid(int cell) const { return cell >= 0 && cell < cols_ * rows_ && mask_[static_cast<size_t>(cell)]; }

  // The cells of the grid (row * columns + column, ascending) whose centres lie within `pass_m`
  // of the segment a–b.
  std::vector<int> passed(LonLat a, LonLat b, double pass_m) const;
  // A cell's square, closed, counter-clockwise, WGS-84.
  Ring cell_ring(int cell) const;

 private:
  std::array<double, 2> to_xy(LonLat p) const;
  LonLat to_lonlat(double x, double y) const;

  double lon0_ = 0, lat0_ = 0, m_per_lon_ = 1, m_per_lat_ = 1, cell_m_ = 50;
  int cols_ = 0, rows_ = 0;
  size_t count_ = 0;
  std::vector<uint8_t> mask_;
};

}  // namespace gridwatch::geo
