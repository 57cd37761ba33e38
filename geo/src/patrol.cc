#include "gridwatch/geo/patrol.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numbers>

#include "gridwatch/geo/distance.h"

namespace gridwatch::geo {

TrackFilter drop_glitches(const std::optional<Fix>& previous, std::vector<Fix> fixes, const GlitchRule& rule) {
  std::stable_sort(fixes.begin(), fixes.end(), [](const Fix& a, const Fix& b) { return a.at < b.at; });
  TrackFilter out;
  std::optional<Fix> last = previous;
  for (Fix& f : fixes) {
    if (last && f.at <= last->at) {
      // A second fix of an instant already kept (a resend), or older than the last one kept.
      ++out.repeats;
      continue;
    }
    if (last) {
      const double d = distance_m(last->p, f.p);
      const double s = std::chrono::duration<double>(f.at - last->at).count();
      if (d > rule.min_jump_m && d > rule.max_speed_mps * s) {
        out.glitches.push_back(f);
        continue;
      }
    }
    last = f;
    out.kept.push_back(f);
  }
  return out;
}

CellLattice CellLattice::build(const std::array<double, 4>& bbox, double cell_m,
                               const std::function<bool(LonLat)>& inside) {
  constexpr double kRad = std::numbers::pi / 180.0;
  CellLattice l;
  l.cell_m_ = cell_m;
  l.lon0_ = bbox[0];
  l.lat0_ = bbox[1];
  l.m_per_lat_ = kEarthRadiusM * kRad;
  l.m_per_lon_ = l.m_per_lat_ * std::cos((bbox[1] + bbox[3]) / 2 * kRad);
  const auto ne = l.to_xy({bbox[2], bbox[3]});
  l.cols_ = std::max(1, static_cast<int>(std::ceil(ne[0] / cell_m - 1e-9)));
  l.rows_ = std::max(1, static_cast<int>(std::ceil(ne[1] / cell_m - 1e-9)));
  l.mask_.assign(static_cast<size_t>(l.cols_) * static_cast<size_t>(l.rows_), 0);
  for (int r = 0; r < l.rows_; ++r)
    for (int c = 0; c < l.cols_; ++c)
      if (inside(l.to_lonlat((c + 0.5) * cell_m, (r + 0.5) * cell_m))) {
        l.mask_[static_cast<size_t>(r * l.cols_ + c)] = 1;
        ++l.count_;
      }
  return l;
}

std::array<double, 2> CellLattice::to_xy(LonLat p) const {
  return {(p.lon - lon0_) * m_per_lon_, (p.lat - lat0_) * m_per_lat_};
}

LonLat CellLattice::to_lonlat(double x, double y) const { return {lon0_ + x / m_per_lon_, lat0_ + y / m_per_lat_}; }

std::vector<int> CellLattice::passed(LonLat a, LonLat b, double pass_m) const {
  const auto pa = to_xy(a), pb = to_xy(b);
  const double dx = pb[0] - pa[0], dy = pb[1] - pa[1], len2 = dx * dx + dy * dy;
  // The cells whose centres may be within pass_m: the segment's box grown by pass_m.
  const auto first = [&](double v) { return static_cast<int>(std::floor((v - pass_m) / cell_m_ - 0.5)); };
  const auto last = [&](double v) { return static_cast<int>(std::ceil((v + pass_m) / cell_m_ - 0.5)); };
  const int c0 = std::max(0, first(std::min(pa[0], pb[0]))), c1 = std::min(cols_ - 1, last(std::max(pa[0], pb[0])));
  const int r0 = std::max(0, first(std::min(pa[1], pb[1]))), r1 = std::min(rows_ - 1, last(std::max(pa[1], pb[1])));
  std::vector<int> out;
  for (int r = r0; r <= r1; ++r)
    for (int c = c0; c <= c1; ++c) {
      const int cell = r * cols_ + c;
      if (!mask_[static_cast<size_t>(cell)]) continue;
      const double x = (c + 0.5) * cell_m_, y = (r + 0.5) * cell_m_;
      double t = len2 > 0 ? ((x - pa[0]) * dx + (y - pa[1]) * dy) / len2 : 0;
      t = std::clamp(t, 0.0, 1.0);
      const double ex = pa[0] + t * dx - x, ey = pa[1] + t * dy - y;
      // A millimetre of slack: a centre at exactly pass_m counts, whatever the rounding.
      if (ex * ex + ey * ey <= (pass_m + 1e-3) * (pass_m + 1e-3)) out.push_back(cell);
    }
  return out;
}

Ring CellLattice::cell_ring(int cell) const {
  const double x = (cell % cols_) * cell_m_, y = (cell / cols_) * cell_m_;
  return {to_lonlat(x, y), to_lonlat(x + cell_m_, y), to_lonlat(x + cell_m_, y + cell_m_), to_lonlat(x, y + cell_m_),
          to_lonlat(x, y)};
}

}  // namespace gridwatch::geo
