#include "gridwatch/geo/areas.h"

#include <geos_c.h>

#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace gridwatch::geo {
namespace {

using json = nlohmann::json;

// One GEOS context for the duration of a load (GEOS contexts are not shared between threads).
class Geos {
 public:
  Geos() : ctx_(GEOS_init_r()) {
    GEOSContext_setErrorMessageHandler_r(ctx_, &Geos::on_error, this);
  }
  ~Geos() { GEOS_finish_r(ctx_); }
  Geos(const Geos&) = delete;
  Geos& operator=(const Geos&) = delete;
  GEOSContextHandle_t get() const { return ctx_; }
  std::string take_error() { return std::exchange(error_, {}); }

 private:
  static void on_error(const char* message, void* self) {
    static_cast<Geos*>(self)->error_ = message ? message : "";
  }
  GEOSContextHandle_t ctx_;
  std::string error_;
};

struct GeomDeleter {
  GEOSContextHandle_t ctx;
  void operator()(GEOSGeometry* g) const {
    if (g) GEOSGeom_destroy_r(ctx, g);
  }
};
using GeomPtr = std::unique_ptr<GEOSGeometry, GeomDeleter>;

std::string code_of(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer() || v.is_number_unsigned()) return std::to_string(v.get<int64_t>());
  if (v.is_number_float()) {
    double d = v.get<double>();
    if (d == std::floor(d) && std::abs(d) < 1e15) return std::to_string(static_cast<int64_t>(d));
    return fmt::format("{}", d);
  }
  return {};
}

Ring read_ring(GEOSContextHandle_t ctx, const GEOSGeometry* ring) {
  Ring out;
  const GEOSCoordSequence* seq = GEOSGeom_getCoordSeq_r(ctx, ring);
  unsigned int n = 0;
  GEOSCoordSeq_getSize_r(ctx, seq, &n);
  out.reserve(n);
  for (unsigned int i = 0; i < n; ++i) {
    double x = 0, y = 0;
    GEOSCoordSeq_getXY_r(ctx, seq, i, &x, &y);
    out.push_back({.lon = x, .lat = y});
  }
  return out;
}

// Appends the polygons of `g` (Polygon, MultiPolygon, or the polygonal parts of a collection).
void collect_polygons(GEOSContextHandle_t ctx, const GEOSGeometry* g, MultiPolygon& out) {
  int type = GEOSGeomTypeId_r(ctx, g);
  if (type == GEOS_POLYGON) {
    if (GEOSisEmpty_r(ctx, g)) return;
    Polygon p;
    p.push_back(read_ring(ctx, GEOSGetExteriorRing_r(ctx, g)));
    int holes = GEOSGetNumInteriorRings_r(ctx, g);
    for (int i = 0; i < holes; ++i) p.push_back(read_ring(ctx, GEOSGetInteriorRingN_r(ctx, g, i)));
    out.push_back(std::move(p));
  } else if (type == GEOS_MULTIPOLYGON || type == GEOS_GEOMETRYCOLLECTION) {
    int n = GEOSGetNumGeometries_r(ctx, g);
    for (int i = 0; i < n; ++i) collect_polygons(ctx, GEOSGetGeometryN_r(ctx, g, i), out);
  }
}

// Bounding box of the exterior rings: min lon, min lat, max lon, max lat.
std::array<double, 4> bbox_of(const MultiPolygon& mp) {
  std::array<double, 4> b{1e300, 1e300, -1e300, -1e300};
  for (const Polygon& p : mp)
    for (const LonLat& c : p.front()) {
      b[0] = std::min(b[0], c.lon);
      b[1] = std::min(b[1], c.lat);
      b[2] = std::max(b[2], c.lon);
      b[3] = std::max(b[3], c.lat);
    }
  return b;
}

int to_wgs84_callback(double* x, double* y, void* userdata) {
  LonLat p = to_wgs84(LonLat{.lon = *x, .lat = *y}, *static_cast<const Crs*>(userdata));
  *x = p.lon;
  *y = p.lat;
  return 1;
}

// Unicode code points of a UTF-8 string as UTF-16 code units (what JavaScript's charCodeAt
// sees), or nullopt when the bytes are not UTF-8.
std::optional<std::vector<uint32_t>> utf16_units(const std::string& s) {
  std::vector<uint32_t> out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    auto b = static_cast<unsigned char>(s[i]);
    uint32_t cp = 0;
    size_t n = 0;
    if (b < 0x80) { cp = b; n = 1; }
    else if ((b & 0xE0) == 0xC0) { cp = b & 0x1F; n = 2; }
    else if ((b & 0xF0) == 0xE0) { cp = b & 0x0F; n = 3; }
    else if ((b & 0xF8) == 0xF0) { cp = b & 0x07; n = 4; }
    else return std::nullopt;
    if (i + n > s.size()) return std::nullopt;
    for (size_t k = 1; k < n; ++k) {
      auto c = static_cast<unsigned char>(s[i + k]);
      if ((c & 0xC0) != 0x80) return std::nullopt;
      cp = (cp << 6) | (c & 0x3F);
    }
    if (cp >= 0x10000) {
      cp -= 0x10000;
      out.push_back(0xD800 + (cp >> 10));
      out.push_back(0xDC00 + (cp & 0x3FF));
    } else {
      out.push_back(cp);
    }
    i += n;
  }
  return out;
}

// One ring of ECharts' compressed map format: pairs of characters, each (code unit - 64)
// zigzag-encoded and delta-coded from `offset`, divided by `scale`.
Result<json> decode_echarts_ring(const json& encoded, const json& offset, double scale) {
  if (!encoded.is_string() || !offset.is_array() || offset.size() != 2 || !offset[0].is_number() ||
      !offset[1].is_number())
    return fail(ErrorCode::kParse, "ring is not a string with a [x, y] offset");
  auto units = utf16_units(encoded.get<std::string>());
  if (!units || units->size() % 2 != 0)
    return fail(ErrorCode::kParse, "ring is not an even number of characters");
  auto prev_x = offset[0].get<int64_t>();
  auto prev_y = offset[1].get<int64_t>();
  json ring = json::array();
  for (size_t i = 0; i < units->size(); i += 2) {
    int64_t x = static_cast<int64_t>((*units)[i]) - 64;
    int64_t y = static_cast<int64_t>((*units)[i + 1]) - 64;
    if (x < 0 || y < 0) return fail(ErrorCode::kParse, "ring has a character below '@'");
    x = (x >> 1) ^ (-(x & 1));
    y = (y >> 1) ^ (-(y & 1));
    prev_x += x;
    prev_y += y;
    ring.push_back({static_cast<double>(prev_x) / scale, static_cast<double>(prev_y) / scale});
  }
  return ring;
}

// Rewrites an ECharts-compressed FeatureCollection ("UTF8Encoding": true, as in the map files
// of the npm package echarts 4) into plain GeoJSON coordinates.
Status decode_echarts(json& doc) {
  double scale = doc.contains("UTF8Scale") && doc["UTF8Scale"].is_number()
                     ? doc["UTF8Scale"].get<double>()
                     : 1024.0;
  if (!(scale > 0)) return fail(ErrorCode::kParse, "areas: UTF8Scale must be positive");
  json& features = doc["features"];
  for (size_t i = 0; i < features.size(); ++i) {
    json& f = features[i];
    if (!f.is_object() || !f.contains("geometry") || !f["geometry"].is_object()) continue;
    json& g = f["geometry"];
    const std::string type = g.value("type", "");
    if (type != "Polygon" && type != "MultiPolygon") continue;
    if (!g.contains("coordinates") || !g["coordinates"].is_array() || !g.contains("encodeOffsets") ||
        !g["encodeOffsets"].is_array() || g["encodeOffsets"].size() != g["coordinates"].size())
      return fail(ErrorCode::kParse,
                  fmt::format("areas: feature #{}: compressed geometry without matching encodeOffsets", i));
    json& coords = g["coordinates"];
    const json& offsets = g["encodeOffsets"];
    auto fail_ring = [&](const Error& e) {
      return fail(ErrorCode::kParse, fmt::format("areas: feature #{}: {}", i, e.message));
    };
    for (size_t c = 0; c < coords.size(); ++c) {
      if (type == "Polygon") {
        auto ring = decode_echarts_ring(coords[c], offsets[c], scale);
        if (!ring) return fail_ring(ring.error());
        coords[c] = std::move(*ring);
      } else {
        if (!coords[c].is_array() || !offsets[c].is_array() || offsets[c].size() != coords[c].size())
          return fail(ErrorCode::kParse,
                      fmt::format("areas: feature #{}: compressed polygon without matching encodeOffsets", i));
        for (size_t r = 0; r < coords[c].size(); ++r) {
          auto ring = decode_echarts_ring(coords[c][r], offsets[c][r], scale);
          if (!ring) return fail_ring(ring.error());
          coords[c][r] = std::move(*ring);
        }
      }
    }
    g.erase("encodeOffsets");
  }
  doc["UTF8Encoding"] = false;
  return {};
}

}  // namespace

Result<std::vector<Area>> parse_layer(std::string_view geojson, const LayerOptions& options,
                                      std::vector<std::string>* warnings) {
  json doc = json::parse(geojson.begin(), geojson.end(), nullptr, false);
  if (doc.is_discarded()) return fail(ErrorCode::kParse, "areas: not valid JSON");
  if (!doc.is_object() || doc.value("type", "") != "FeatureCollection" || !doc.contains("features") ||
      !doc["features"].is_array())
    return fail(ErrorCode::kInvalidArgument, "areas: not a GeoJSON FeatureCollection");
  if (doc.value("UTF8Encoding", false)) {
    if (auto d = decode_echarts(doc); !d) return std::unexpected(d.error());
  }
  Geos geos;
  GEOSContextHandle_t ctx = geos.get();
  GEOSGeoJSONReader* reader = GEOSGeoJSONReader_create_r(ctx);
  std::unique_ptr<GEOSGeoJSONReader, std::function<void(GEOSGeoJSONReader*)>> reader_guard(
      reader, [ctx](GEOSGeoJSONReader* r) { GEOSGeoJSONReader_destroy_r(ctx, r); });
  std::vector<Area> out;
  std::map<std::string, size_t> seen;
  const auto& features = doc["features"];
  for (size_t i = 0; i < features.size(); ++i) {
    const json& f = features[i];
    const json props = f.contains("properties") && f["properties"].is_object() ? f["properties"]
                                                                              : json::object();
    Area a;
    a.level_name = options.level_name;
    if (options.id_property.empty()) {
      a.code = f.contains("id") ? code_of(f["id"]) : "";
    } else if (props.contains(options.id_property)) {
      a.code = code_of(props[options.id_property]);
    }
    std::string label = a.code.empty() ? fmt::format("#{}", i) : a.code;
    if (a.code.empty())
      return fail(ErrorCode::kInvalidArgument,
                  fmt::format("areas: feature {} has no code ({})", label,
                              options.id_property.empty() ? "no \"id\""
                                                          : fmt::format("no property \"{}\"", options.id_property)),
                  options.id_property.empty() ? "id" : options.id_property);
    if (!seen.emplace(a.code, i).second)
      return fail(ErrorCode::kInvalidArgument, fmt::format("areas: duplicate code \"{}\"", a.code),
                  "id");
    if (props.contains(options.name_property) && props[options.name_property].is_string())
      a.name = props[options.name_property].get<std::string>();
    if (!a.name.empty()) label = fmt::format("{} ({})", a.code, a.name);
    if (!options.parent_property.empty() && props.contains(options.parent_property))
      a.parent = code_of(props[options.parent_property]);
    if (!f.contains("geometry") || !f["geometry"].is_object())
      return fail(ErrorCode::kInvalidArgument, fmt::format("areas: feature {} has no geometry", label));
    std::string gtype = f["geometry"].value("type", "");
    if (gtype != "Polygon" && gtype != "MultiPolygon")
      return fail(ErrorCode::kInvalidArgument,
                  fmt::format("areas: feature {} is a {}, not a Polygon or MultiPolygon", label, gtype));
    GeomPtr g(GEOSGeoJSONReader_readGeometry_r(ctx, reader, f["geometry"].dump().c_str()),
              GeomDeleter{ctx});
    if (!g)
      return fail(ErrorCode::kParse,
                  fmt::format("areas: feature {}: unreadable geometry: {}", label, geos.take_error()));
    if (options.crs != Crs::kWgs84) {
      Crs crs = options.crs;
      GeomPtr t(GEOSGeom_transformXY_r(ctx, g.get(), &to_wgs84_callback, &crs), GeomDeleter{ctx});
      if (!t) return fail(ErrorCode::kInternal, fmt::format("areas: feature {}: transform failed", label));
      g = std::move(t);
    }
    if (GEOSisValid_r(ctx, g.get()) != 1) {
      char* reason = GEOSisValidReason_r(ctx, g.get());
      std::string why = reason ? reason : "invalid";
      GEOSFree_r(ctx, reason);
      GeomPtr fixed(GEOSMakeValid_r(ctx, g.get()), GeomDeleter{ctx});
      if (!fixed)
        return fail(ErrorCode::kInvalidArgument,
                    fmt::format("areas: feature {}: invalid geometry ({}) could not be repaired", label, why));
      if (warnings)
        warnings->push_back(fmt::format("feature {}: invalid geometry repaired ({})", label, why));
      g = std::move(fixed);
    }
    collect_polygons(ctx, g.get(), a.geometry);
    if (a.geometry.empty())
      return fail(ErrorCode::kInvalidArgument, fmt::format("areas: feature {} has an empty geometry", label));
    GeomPtr pos(GEOSPointOnSurface_r(ctx, g.get()), GeomDeleter{ctx});
    if (pos) {
      GEOSGeomGetX_r(ctx, pos.get(), &a.interior.lon);
      GEOSGeomGetY_r(ctx, pos.get(), &a.interior.lat);
    }
    a.bbox = bbox_of(a.geometry);
    out.push_back(std::move(a));
  }
  return out;
}

Result<std::vector<Area>> load_layer(const std::filesystem::path& file, const LayerOptions& options,
                                     std::vector<std::string>* warnings) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return fail(ErrorCode::kNotFound, fmt::format("{}: cannot open file", file.string()));
  std::stringstream ss;
  ss << in.rdbuf();
  auto r = parse_layer(ss.str(), options, warnings);
  if (!r) {
    Error e = r.error();
    e.message = fmt::format("{}: {}", file.string(), e.message);
    return std::unexpected(std::move(e));
  }
  return r;
}

namespace {

GeomPtr to_geos(GEOSContextHandle_t ctx, const MultiPolygon& mp) {
  std::vector<GEOSGeometry*> polys;
  for (const Polygon& p : mp) {
    std::vector<GEOSGeometry*> rings;
    for (const Ring& r : p) {
      GEOSCoordSequence* seq = GEOSCoordSeq_create_r(ctx, static_cast<unsigned>(r.size()), 2);
      for (size_t i = 0; i < r.size(); ++i)
        GEOSCoordSeq_setXY_r(ctx, seq, static_cast<unsigned>(i), r[i].lon, r[i].lat);
      rings.push_back(GEOSGeom_createLinearRing_r(ctx, seq));
    }
    polys.push_back(GEOSGeom_createPolygon_r(ctx, rings[0], rings.data() + 1,
                                             static_cast<unsigned>(rings.size() - 1)));
  }
  return GeomPtr(GEOSGeom_createCollection_r(ctx, GEOS_MULTIPOLYGON, polys.data(),
                                             static_cast<unsigned>(polys.size())),
                 GeomDeleter{ctx});
}

}  // namespace

std::string to_wkt(const MultiPolygon& mp) {
  std::string w = "MULTIPOLYGON(";
  for (size_t i = 0; i < mp.size(); ++i) {
    w += i ? ",(" : "(";
    for (size_t j = 0; j < mp[i].size(); ++j) {
      w += j ? ",(" : "(";
      for (size_t k = 0; k < mp[i][j].size(); ++k)
        w += fmt::format("{}{:.17g} {:.17g}", k ? "," : "", mp[i][j][k].lon, mp[i][j][k].lat);
      w += ")";
    }
    w += ")";
  }
  return w + ")";
}

Result<std::vector<Area>> synthetic_grid(const std::vector<Area>& parents, double cell_m) {
  if (!(cell_m >= 10)) return fail(ErrorCode::kInvalidArgument, "cell size must be at least 10 m", "cell_m");
  Geos geos;
  GEOSContextHandle_t ctx = geos.get();
  std::vector<Area> out;
  for (const Area& parent : parents) {
    GeomPtr pg = to_geos(ctx, parent.geometry);
    const GEOSPreparedGeometry* prep = GEOSPrepare_r(ctx, pg.get());
    double mid_lat = (parent.bbox[1] + parent.bbox[3]) / 2;
    double dlat = cell_m / 111'195.0;
    double dlon = dlat / std::cos(mid_lat * 3.14159265358979323846 / 180.0);
    auto rows = static_cast<int>(std::ceil((parent.bbox[3] - parent.bbox[1]) / dlat));
    auto cols = static_cast<int>(std::ceil((parent.bbox[2] - parent.bbox[0]) / dlon));
    for (int r = 0; r < rows; ++r)
      for (int c = 0; c < cols; ++c) {
        double x0 = parent.bbox[0] + c * dlon, y0 = parent.bbox[1] + r * dlat;
        MultiPolygon sq{{{{.lon = x0, .lat = y0}, {.lon = x0 + dlon, .lat = y0},
                          {.lon = x0 + dlon, .lat = y0 + dlat}, {.lon = x0, .lat = y0 + dlat},
                          {.lon = x0, .lat = y0}}}};
        GeomPtr cell = to_geos(ctx, sq);
        if (!GEOSPreparedIntersects_r(ctx, prep, cell.get())) continue;
        GeomPtr clipped(GEOSPreparedContains_r(ctx, prep, cell.get()) ? GEOSGeom_clone_r(ctx, cell.get())
                                                                      : GEOSIntersection_r(ctx, pg.get(), cell.get()),
                        GeomDeleter{ctx});
        if (!clipped) continue;
        double area = 0;
        GEOSArea_r(ctx, clipped.get(), &area);
        if (area < 0.01 * dlon * dlat) continue;
        Area a;
        a.code = fmt::format("{}-g{:04}{:04}", parent.code, r, c);
        a.name = fmt::format("synthetic grid cell {} {}/{}", parent.name, r, c);
        a.parent = parent.code;
        a.level_name = "grid (synthetic)";
        collect_polygons(ctx, clipped.get(), a.geometry);
        if (a.geometry.empty()) continue;
        GeomPtr pos(GEOSPointOnSurface_r(ctx, clipped.get()), GeomDeleter{ctx});
        GEOSGeomGetX_r(ctx, pos.get(), &a.interior.lon);
        GEOSGeomGetY_r(ctx, pos.get(), &a.interior.lat);
        a.bbox = bbox_of(a.geometry);
        out.push_back(std::move(a));
      }
    GEOSPreparedGeom_destroy_r(ctx, prep);
  }
  return out;
}

// ------------------------------------------------------------------------------------ index

bool AreaIndex::contains(const AreaEdges& e, double x, double y) {
  double fb = (y - e.min_y) / e.band_height;
  if (!(fb >= 0) || fb >= static_cast<double>(e.bands)) return false;
  auto b = static_cast<uint32_t>(fb);
  bool inside = false;
  for (uint32_t i = e.band_start[b], end = e.band_start[b + 1]; i < end; ++i) {
    const Edge& s = e.edges[i];
    // Half-open in y: an edge counts when y1 <= y < y2. Computed from the lower endpoint, so
    // the same edge shared by two areas gives both exactly the same answer.
    if (y >= s.y1 && y < s.y2 && x < s.x1 + (y - s.y1) * (s.x2 - s.x1) / (s.y2 - s.y1))
      inside = !inside;
  }
  return inside;
}

void AreaIndex::index_level(Level& level) {
  // Edges of each area, bucketed in horizontal bands of its bounding box.
  level.edges.clear();
  for (const Area& a : level.areas) {
    std::vector<Edge> all;
    for (const Polygon& p : a.geometry)
      for (const Ring& r : p)
        for (size_t i = 0; i + 1 < r.size(); ++i) {
          LonLat u = r[i], v = r[i + 1];
          if (u.lat == v.lat) continue;
          if (u.lat > v.lat) std::swap(u, v);
          all.push_back({u.lon, u.lat, v.lon, v.lat});
        }
    AreaEdges ae;
    ae.min_y = a.bbox[1];
    double h = a.bbox[3] - a.bbox[1];
    ae.bands = static_cast<uint32_t>(std::clamp<size_t>(all.size() / 4, 1, 4096));
    ae.band_height = h > 0 ? h / ae.bands : 1;
    std::vector<std::vector<uint32_t>> per_band(ae.bands);
    for (uint32_t k = 0; k < all.size(); ++k) {
      auto b0 = static_cast<int64_t>(std::floor((all[k].y1 - ae.min_y) / ae.band_height));
      auto b1 = static_cast<int64_t>(std::floor((all[k].y2 - ae.min_y) / ae.band_height));
      b0 = std::clamp<int64_t>(b0, 0, ae.bands - 1);
      b1 = std::clamp<int64_t>(b1, 0, ae.bands - 1);
      for (int64_t b = b0; b <= b1; ++b) per_band[static_cast<size_t>(b)].push_back(k);
    }
    ae.band_start.push_back(0);
    for (const auto& band : per_band) {
      for (uint32_t k : band) ae.edges.push_back(all[k]);
      ae.band_start.push_back(static_cast<uint32_t>(ae.edges.size()));
    }
    level.edges.push_back(std::move(ae));
  }
  // Candidate grid over the level's extent. Cells are classified per area: touched by one of its
  // edges (test needed), wholly inside it (kFull: no test), or outside it (not listed). Most
  // points then fall in a cell that answers without any edge test.
  double minx = 1e300, miny = 1e300, maxx = -1e300, maxy = -1e300;
  size_t total_edges = 0;
  for (size_t i = 0; i < level.areas.size(); ++i) {
    const Area& a = level.areas[i];
    minx = std::min(minx, a.bbox[0]);
    miny = std::min(miny, a.bbox[1]);
    maxx = std::max(maxx, a.bbox[2]);
    maxy = std::max(maxy, a.bbox[3]);
    total_edges += level.edges[i].edges.size();
  }
  if (level.areas.empty()) minx = miny = 0, maxx = maxy = 1;
  double w = std::max(maxx - minx, 1e-9), h = std::max(maxy - miny, 1e-9);
  double target = std::clamp(std::max(static_cast<double>(level.areas.size()) * 4.0,
                                      static_cast<double>(total_edges) / 2.0),
                             1.0, 4.0e6);
  double cell = std::sqrt(w * h / target);
  level.cols = static_cast<uint32_t>(std::clamp(std::ceil(w / cell), 1.0, 2048.0));
  level.rows = static_cast<uint32_t>(std::clamp(std::ceil(h / cell), 1.0, 2048.0));
  level.min_x = minx;
  level.min_y = miny;
  level.cell_w = w / level.cols;
  level.cell_h = h / level.rows;
  auto col_of = [&](double x) {
    return std::clamp<int64_t>(static_cast<int64_t>(std::floor((x - minx) / level.cell_w)), 0, level.cols - 1);
  };
  auto row_of = [&](double y) {
    return std::clamp<int64_t>(static_cast<int64_t>(std::floor((y - miny) / level.cell_h)), 0, level.rows - 1);
  };
  std::vector<std::vector<uint32_t>> cells(static_cast<size_t>(level.cols) * level.rows);
  std::vector<uint8_t> touched;
  for (uint32_t i = 0; i < level.areas.size(); ++i) {
    const auto& b = level.areas[i].bbox;
    int64_t c0 = col_of(b[0]), c1 = col_of(b[2]), r0 = row_of(b[1]), r1 = row_of(b[3]);
    int64_t cw = c1 - c0 + 1;
    touched.assign(static_cast<size_t>(cw * (r1 - r0 + 1)), 0);
    // Every cell an edge's bounding box overlaps (horizontal edges included) counts as touched.
    for (const Polygon& p : level.areas[i].geometry)
      for (const Ring& ring : p)
        for (size_t k = 0; k + 1 < ring.size(); ++k) {
          const LonLat u = ring[k], v = ring[k + 1];
          for (int64_t r = row_of(std::min(u.lat, v.lat)); r <= row_of(std::max(u.lat, v.lat)); ++r)
            for (int64_t c = col_of(std::min(u.lon, v.lon)); c <= col_of(std::max(u.lon, v.lon)); ++c)
              touched[static_cast<size_t>((r - r0) * cw + (c - c0))] = 1;
        }
    for (int64_t r = r0; r <= r1; ++r)
      for (int64_t c = c0; c <= c1; ++c) {
        auto& list = cells[static_cast<size_t>(r * level.cols + c)];
        if (touched[static_cast<size_t>((r - r0) * cw + (c - c0))]) {
          list.push_back(i);
        } else {
          double cx = minx + (static_cast<double>(c) + 0.5) * level.cell_w;
          double cy = miny + (static_cast<double>(r) + 0.5) * level.cell_h;
          if (contains(level.edges[i], cx, cy)) list.push_back(i | Level::kFull);
        }
      }
  }
  level.cell_start.assign(1, 0);
  level.cell_areas.clear();
  for (const auto& c : cells) {
    level.cell_areas.insert(level.cell_areas.end(), c.begin(), c.end());
    level.cell_start.push_back(static_cast<uint32_t>(level.cell_areas.size()));
  }
}

int32_t AreaIndex::locate_index(const Level& level, double x, double y) const {
  double fc = (x - level.min_x) / level.cell_w, fr = (y - level.min_y) / level.cell_h;
  if (!(fc >= 0 && fr >= 0)) return -1;  // also NaN
  auto c = static_cast<uint64_t>(fc), r = static_cast<uint64_t>(fr);
  // The far edge of the extent belongs to the last cell.
  if (c == level.cols) --c;
  if (r == level.rows) --r;
  if (c >= level.cols || r >= level.rows) return -1;
  size_t cell = r * level.cols + c;
  for (uint32_t k = level.cell_start[cell]; k < level.cell_start[cell + 1]; ++k) {
    uint32_t entry = level.cell_areas[k];
    uint32_t i = entry & ~Level::kFull;
    if (entry & Level::kFull) return static_cast<int32_t>(i);
    const auto& b = level.areas[i].bbox;
    if (x < b[0] || x > b[2] || y < b[1] || y > b[3]) continue;
    if (contains(level.edges[i], x, y)) return static_cast<int32_t>(i);
  }
  return -1;
}

Result<std::shared_ptr<const AreaIndex>> AreaIndex::build(std::vector<std::vector<Area>> levels) {
  auto index = std::shared_ptr<AreaIndex>(new AreaIndex());
  for (size_t l = 0; l < levels.size(); ++l) {
    Level level;
    level.areas = std::move(levels[l]);
    for (Area& a : level.areas) a.level = static_cast<int>(l);
    index_level(level);
    level.parent.assign(level.areas.size(), -1);
    if (l > 0) {
      const Level& up = index->levels_[l - 1];
      std::map<std::string_view, int32_t> by_code;
      for (size_t i = 0; i < up.areas.size(); ++i) by_code[up.areas[i].code] = static_cast<int32_t>(i);
      for (size_t i = 0; i < level.areas.size(); ++i) {
        Area& a = level.areas[i];
        if (!a.parent.empty()) {
          auto it = by_code.find(a.parent);
          if (it == by_code.end())
            return fail(ErrorCode::kInvalidArgument,
                        fmt::format("area {} names parent \"{}\", which is not in the level above",
                                    a.code, a.parent),
                        "parent");
          level.parent[i] = it->second;
        } else {
          level.parent[i] = index->locate_index(up, a.interior.lon, a.interior.lat);
          if (level.parent[i] >= 0) a.parent = up.areas[static_cast<size_t>(level.parent[i])].code;
        }
      }
    }
    index->levels_.push_back(std::move(level));
  }
  return std::shared_ptr<const AreaIndex>(std::move(index));
}

const Area* AreaIndex::locate(LonLat p, size_t level) const {
  if (level >= levels_.size()) return nullptr;
  int32_t i = locate_index(levels_[level], p.lon, p.lat);
  return i < 0 ? nullptr : &levels_[level].areas[static_cast<size_t>(i)];
}

const Area* AreaIndex::locate(LonLat p) const {
  for (size_t l = levels_.size(); l-- > 0;)
    if (const Area* a = locate(p, l)) return a;
  return nullptr;
}

const Area* AreaIndex::parent(const Area* a) const {
  if (!a || a->level <= 0) return nullptr;
  const Level& level = levels_[static_cast<size_t>(a->level)];
  auto i = static_cast<size_t>(a - level.areas.data());
  int32_t p = level.parent[i];
  return p < 0 ? nullptr : &levels_[static_cast<size_t>(a->level - 1)].areas[static_cast<size_t>(p)];
}

std::vector<const Area*> AreaIndex::lineage(const Area* a) const {
  std::vector<const Area*> out;
  for (; a; a = parent(a)) out.push_back(a);
  return out;
}

size_t AreaIndex::memory_bytes() const {
  size_t n = 0;
  for (const Level& l : levels_) {
    for (const AreaEdges& e : l.edges)
      n += e.edges.size() * sizeof(Edge) + e.band_start.size() * sizeof(uint32_t);
    n += (l.cell_start.size() + l.cell_areas.size()) * sizeof(uint32_t);
    n += l.parent.size() * sizeof(int32_t);
  }
  return n;
}

}  // namespace gridwatch::geo
