// gridwatch calibrate: a camera's homography from ground control points.
#include <cmath>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "commands.h"
#include "gridwatch/domain/text.h"
#include "gridwatch/geo/calibration.h"
#include "gridwatch/geo/chinacoord.h"

namespace gridwatch::app {

int run_calibrate(const std::filesystem::path& points_file, const std::string& crs_name) {
  auto crs = geo::parse_crs(crs_name);
  if (!crs) {
    fmt::print(stderr, "error: --crs must be wgs84, gcj02 or bd09\n");
    return kExitUsage;
  }
  std::ifstream in(points_file);
  if (!in) {
    fmt::print(stderr, "error: {}: cannot open file\n", points_file.string());
    return kExitUsage;
  }
  std::vector<geo::ControlPoint> points;
  std::string line;
  for (int line_no = 1; std::getline(in, line); ++line_no) {
    if (auto hash = line.find('#'); hash != std::string::npos) line.resize(hash);
    std::vector<double> v;
    std::stringstream ss(line);
    std::string field;
    bool ok = true, blank = true;
    while (std::getline(ss, field, ',')) {
      const std::string_view f = trim_blanks(field);
      if (!f.empty()) blank = false;
      const auto d = parse_finite(f);
      ok = ok && d.has_value();
      v.push_back(d.value_or(0));
    }
    if (blank) continue;
    if (line_no == 1 && !ok) continue;  // header: px,py,lon,lat
    if (!ok || v.size() != 4) {
      fmt::print(stderr, "error: {}:{}: expected px,py,lon,lat (four numbers)\n", points_file.string(), line_no);
      return kExitUsage;
    }
    LonLat w = geo::to_wgs84(LonLat{.lon = v[2], .lat = v[3]}, *crs);
    points.push_back({v[0], v[1], w});
  }
  auto cal = geo::calibrate(points);
  if (!cal) {
    fmt::print(stderr, "error: {}: {}\n", points_file.string(), cal.error().message);
    return kExitUsage;
  }
  const auto& h = cal->h;
  fmt::print("# pixel -> local metres (east, north) around the origin; WGS-84\n");
  fmt::print("calibration:\n  origin: {{lon: {:.8f}, lat: {:.8f}}}\n", cal->origin.lon, cal->origin.lat);
  fmt::print("  homography: [{:.10g}, {:.10g}, {:.10g}, {:.10g}, {:.10g}, {:.10g}, {:.10g}, {:.10g}, {:.10g}]\n",
             h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7], h[8]);
  fmt::print("  rms_error_m: {:.3f}\n", cal->rms_m);
  fmt::print("# per point: px, py -> error in metres\n");
  for (size_t i = 0; i < points.size(); ++i)
    fmt::print("#   {:>2}: {:>8.1f}, {:>8.1f} -> {:.3f} m\n", i + 1, points[i].px, points[i].py, cal->error_m[i]);
  return kExitOk;
}

}  // namespace gridwatch::app
