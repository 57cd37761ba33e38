// Administrative areas and the point-assignment index.
//
// An Area is one polygonal unit of one level of the hierarchy (district → street/township →
// community → grid cell): a code, a name, its parent's code, and its WGS-84 geometry (polygons
// with holes). load_layer() reads one level from a GeoJSON FeatureCollection in WGS-84, GCJ-02
// or BD-09, repairs invalid geometry with GEOSMakeValid (and says so, naming the feature).
//
// AreaIndex answers "which area is this point in" for any number of levels. It is immutable
// after build(): any number of threads may call locate() at once, and locate() allocates
// nothing. GEOS is used only while loading; the hot path is a ray-crossing test over the edges
// of the candidate areas, bucketed in horizontal bands.
//
// Boundary rule (deterministic, documented in docs/geo.md): a point exactly on an edge shared by
// two areas belongs to the one east of the edge; on an east-west edge, to the one north of it. A
// shared vertex likewise goes to exactly one area. Hence a point on the outer boundary of a
// layer may be outside every area of it (the east and north sides). Where areas of one level
// overlap (imperfect source data), the point goes to the area listed first.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "gridwatch/domain/error.h"
#include "gridwatch/domain/order.h"
#include "gridwatch/geo/chinacoord.h"

namespace gridwatch::geo {

using Ring = std::vector<LonLat>;           // closed: first == last
using Polygon = std::vector<Ring>;          // exterior first, then holes
using MultiPolygon = std::vector<Polygon>;

struct Area {
  std::string code;    // unique within its level
  std::string name;
  std::string parent;  // parent's code; empty at the top level or when unknown
  int level = 0;       // 0 = coarsest
  std::string level_name;  // "district", "street", "community", "grid", ...
  MultiPolygon geometry;   // WGS-84
  LonLat interior;         // a point inside the area (GEOS point on surface)
  std::array<double, 4> bbox{};  // min lon, min lat, max lon, max lat
};

struct LayerOptions {
  std::string level_name = "area";
  // Property holding the code; empty: the feature's "id". Numbers are written without decimals.
  std::string id_property;
  std::string name_property = "name";  // missing property: the name is empty
  // Property holding the parent's code; empty: the parent is found by containment.
  std::string parent_property;
  Crs crs = Crs::kWgs84;
};

// Reads one level. Besides plain GeoJSON, reads the compressed map files of the npm package
// echarts 4 ("UTF8Encoding": true, coordinates quantised to 1/1024 degree, about 100 m), e.g.
// echarts/map/json/province/beijing.json (GCJ-02, codes in the features' "id").
// Fails (kParse / kInvalidArgument) naming the feature for input it cannot use:
// not GeoJSON, a feature without a code, a duplicate code, a non-polygonal geometry.
// Repairs are reported in `warnings` ("feature 110105 (朝阳区): invalid geometry repaired: ...").
[[nodiscard]] Result<std::vector<Area>> load_layer(const std::filesystem::path& file,
                                                   const LayerOptions& options,
                                                   std::vector<std::string>* warnings = nullptr);
[[nodiscard]] Result<std::vector<Area>> parse_layer(std::string_view geojson,
                                                    const LayerOptions& options,
                                                    std::vector<std::string>* warnings = nullptr);

// Well-known text of a multipolygon, with enough digits to read back the same doubles.
std::string to_wkt(const MultiPolygon& mp);

// SYNTHETIC grid cells for demos and benchmarks where only coarse real boundaries exist: squares
// of about `cell_m` metres (in a local equirectangular frame of each parent) clipped to each
// parent area. Codes are stable: "{parent}-g{row:04}{col:04}", counted from the parent's
// south-west corner; names say "synthetic". Cells whose clipped part is smaller than 1 % of a
// full cell are dropped.
[[nodiscard]] Result<std::vector<Area>> synthetic_grid(const std::vector<Area>& parents, double cell_m);

class AreaIndex {
 public:
  // `levels` from coarsest to finest. Parents named by code must exist one level up; areas
  // without a parent code (below the top) get the parent that contains their interior point.
  [[nodiscard]] static Result<std::shared_ptr<const AreaIndex>> build(
      std::vector<std::vector<Area>> levels);

  // The finest area containing `p`, or nullptr.
  const Area* locate(LonLat p) const;
  // The finest area containing `p` at `level`, or nullptr.
  const Area* locate(LonLat p, size_t level) const;
  // `a` and its ancestors, finest first.
  std::vector<const Area*> lineage(const Area* a) const;
  const Area* parent(const Area* a) const;

  size_t levels() const { return levels_.size(); }
  const std::vector<Area>& areas(size_t level) const { return levels_[level].areas; }
  size_t memory_bytes() const;

 private:
  struct Edge {
    double x1, y1, x2, y2;  // y1 < y2 (horizontal edges are dropped: they never cross a ray)
  };
  struct AreaEdges {
    double min_y = 0, band_height = 1;
    uint32_t bands = 1;
    std::vector<uint32_t> band_start;  // bands + 1 offsets into edges
    std::vector<Edge> edges;           // grouped by band; an edge is in every band it spans
  };
  struct Level {
    std::vector<Area> areas;
    std::vector<AreaEdges> edges;
    std::vector<int32_t> parent;  // index one level up, -1 when none
    // Uniform grid over the level's extent: cell -> the areas that may contain its points, in
    // area order. An entry with kFull set is an area that contains the whole cell (no test
    // needed); others touch the cell with an edge. Areas that miss the cell are not listed.
    static constexpr uint32_t kFull = 0x8000'0000u;
    double min_x = 0, min_y = 0, cell_w = 1, cell_h = 1;
    uint32_t cols = 1, rows = 1;
    std::vector<uint32_t> cell_start;
    std::vector<uint32_t> cell_areas;
  };
  static bool contains(const AreaEdges& e, double x, double y);
  static void index_level(Level& level);
  int32_t locate_index(const Level& level, double x, double y) const;

  std::vector<Level> levels_;
};

}  // namespace gridwatch::geo
