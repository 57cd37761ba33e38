#include "gridwatch/geo/chinacoord.h"

#include <cmath>
#include <numbers>

namespace gridwatch::geo {
namespace {

constexpr double kPi = std::numbers::pi;
// Krasovsky 1940 ellipsoid, as the GCJ-02 formulas use it.
constexpr double kA = 6378245.0;
constexpr double kEe = 0.00669342162296594323;
constexpr double kXPi = kPi * 3000.0 / 180.0;

double transform_lat(double x, double y) {
  double r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * std::sqrt(std::abs(x));
  r += (20.0 * std::sin(6.0 * x * kPi) + 20.0 * std::sin(2.0 * x * kPi)) * 2.0 / 3.0;
  r += (20.0 * std::sin(y * kPi) + 40.0 * std::sin(y / 3.0 * kPi)) * 2.0 / 3.0;
  r += (160.0 * std::sin(y / 12.0 * kPi) + 320 * std::sin(y * kPi / 30.0)) * 2.0 / 3.0;
  return r;
}

double transform_lon(double x, double y) {
  double r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * std::sqrt(std::abs(x));
  r += (20.0 * std::sin(6.0 * x * kPi) + 20.0 * std::sin(2.0 * x * kPi)) * 2.0 / 3.0;
  r += (20.0 * std::sin(x * kPi) + 40.0 * std::sin(x / 3.0 * kPi)) * 2.0 / 3.0;
  r += (150.0 * std::sin(x / 12.0 * kPi) + 300.0 * std::sin(x / 30.0 * kPi)) * 2.0 / 3.0;
  return r;
}

constexpr double kTolerance = 1e-10;  // degrees
constexpr int kMaxIterations = 30;

// The inverse of `forward` at `target`, from `guess` by fixed-point iteration: each step moves the
// guess by how far forward(guess) misses the target, until it misses by less than kTolerance.
template <typename From, typename To, typename Forward>
From refine(From guess, To target, Forward forward) {
  for (int i = 0; i < kMaxIterations; ++i) {
    const To t = forward(guess);
    const double dlon = t.lon - target.lon, dlat = t.lat - target.lat;
    guess.lon -= dlon;
    guess.lat -= dlat;
    if (std::abs(dlon) < kTolerance && std::abs(dlat) < kTolerance) break;
  }
  return guess;
}

}  // namespace

bool outside_china(double lon, double lat) {
  return lon < 72.004 || lon > 137.8347 || lat < 0.8293 || lat > 55.8271;
}

Gcj02 to_gcj02(Wgs84 p) {
  if (outside_china(p.lon, p.lat)) return {p.lon, p.lat};
  double dlat = transform_lat(p.lon - 105.0, p.lat - 35.0);
  double dlon = transform_lon(p.lon - 105.0, p.lat - 35.0);
  double radlat = p.lat / 180.0 * kPi;
  double magic = std::sin(radlat);
  magic = 1 - kEe * magic * magic;
  double sqrtmagic = std::sqrt(magic);
  dlat = (dlat * 180.0) / ((kA * (1 - kEe)) / (magic * sqrtmagic) * kPi);
  dlon = (dlon * 180.0) / (kA / sqrtmagic * std::cos(radlat) * kPi);
  return {p.lon + dlon, p.lat + dlat};
}

Wgs84 to_wgs84(Gcj02 target) {
  // Fixed point: find w with to_gcj02(w) == target. The shift varies slowly, so each step
  // gains several digits.
  return refine(Wgs84{target.lon, target.lat}, target, [](Wgs84 w) { return to_gcj02(w); });
}

Bd09 to_bd09(Gcj02 p) {
  double x = p.lon, y = p.lat;
  double z = std::sqrt(x * x + y * y) + 0.00002 * std::sin(y * kXPi);
  double theta = std::atan2(y, x) + 0.000003 * std::cos(x * kXPi);
  return {z * std::cos(theta) + 0.0065, z * std::sin(theta) + 0.006};
}

Gcj02 to_gcj02(Bd09 target) {
  // Start from the usual approximate inverse, then refine by fixed-point iteration.
  double x = target.lon - 0.0065, y = target.lat - 0.006;
  double z = std::sqrt(x * x + y * y) - 0.00002 * std::sin(y * kXPi);
  double theta = std::atan2(y, x) - 0.000003 * std::cos(x * kXPi);
  return refine(Gcj02{z * std::cos(theta), z * std::sin(theta)}, target, [](Gcj02 g) { return to_bd09(g); });
}

std::optional<Crs> parse_crs(std::string_view name) {
  if (name == "wgs84") return Crs::kWgs84;
  if (name == "gcj02") return Crs::kGcj02;
  if (name == "bd09") return Crs::kBd09;
  return std::nullopt;
}

std::string_view to_string(Crs crs) {
  switch (crs) {
    case Crs::kWgs84: return "wgs84";
    case Crs::kGcj02: return "gcj02";
    case Crs::kBd09: return "bd09";
  }
  return "wgs84";
}

LonLat to_wgs84(LonLat p, Crs crs) {
  switch (crs) {
    case Crs::kWgs84: return p;
    case Crs::kGcj02: {
      Wgs84 w = to_wgs84(Gcj02{p.lon, p.lat});
      return {.lon = w.lon, .lat = w.lat};
    }
    case Crs::kBd09: {
      Wgs84 w = to_wgs84(Bd09{p.lon, p.lat});
      return {.lon = w.lon, .lat = w.lat};
    }
  }
  return p;
}

}  // namespace gridwatch::geo
