// Point-in-area assignment: gridwatch's AreaIndex against the naive GEOS C API path (an STRtree
// of prepared geometries, a point geometry per query, GEOSPreparedCovers on the candidates), on
// the same random points, with the answers compared.
//
// The third peer is PostGIS: the same areas in a table with a GiST index, the points sent as
// two float8 arrays and assigned by one ST_Covers join (a private PostgreSQL is started for it).
//
// Data sets: NYC community districts (71 real polygons) and synthetic ~750 m grid cells clipped
// to Beijing's 16 districts (about 30k cells). Usage: geo_assign_bench [POINTS] (default 1000000)
#include <geos_c.h>
#include <libpq-fe.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "bench_data.h"
#include "gridwatch/geo/areas.h"
#include "gridwatch/platform/services.h"

using namespace gridwatch;
using namespace gridwatch::geo;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

struct Naive {
  GEOSContextHandle_t ctx = GEOS_init_r();
  std::vector<GEOSGeometry*> geoms;
  std::vector<const GEOSPreparedGeometry*> prepared;
  GEOSSTRtree* tree = nullptr;
  std::vector<int> codes;  // index into areas

  explicit Naive(const std::vector<Area>& areas) {
    tree = GEOSSTRtree_create_r(ctx, 10);
    for (size_t i = 0; i < areas.size(); ++i) {
      std::vector<GEOSGeometry*> polys;
      for (const Polygon& p : areas[i].geometry) {
        std::vector<GEOSGeometry*> rings;
        for (const Ring& r : p) {
          GEOSCoordSequence* seq = GEOSCoordSeq_create_r(ctx, static_cast<unsigned>(r.size()), 2);
          for (size_t k = 0; k < r.size(); ++k)
            GEOSCoordSeq_setXY_r(ctx, seq, static_cast<unsigned>(k), r[k].lon, r[k].lat);
          rings.push_back(GEOSGeom_createLinearRing_r(ctx, seq));
        }
        polys.push_back(GEOSGeom_createPolygon_r(ctx, rings[0], rings.data() + 1,
                                                 static_cast<unsigned>(rings.size() - 1)));
      }
      GEOSGeometry* g = GEOSGeom_createCollection_r(ctx, GEOS_MULTIPOLYGON, polys.data(),
                                                    static_cast<unsigned>(polys.size()));
      geoms.push_back(g);
      prepared.push_back(GEOSPrepare_r(ctx, g));
    }
    for (size_t i = 0; i < geoms.size(); ++i)
      GEOSSTRtree_insert_r(ctx, tree, geoms[i], reinterpret_cast<void*>(i));
  }
  ~Naive() {
    GEOSSTRtree_destroy_r(ctx, tree);
    for (auto* p : prepared) GEOSPreparedGeom_destroy_r(ctx, p);
    for (auto* g : geoms) GEOSGeom_destroy_r(ctx, g);
    GEOS_finish_r(ctx);
  }
  struct Query {
    Naive* self;
    const GEOSGeometry* point;
    long found;
  };
  long locate(double x, double y) {
    GEOSGeometry* pt = GEOSGeom_createPointFromXY_r(ctx, x, y);
    Query q{this, pt, -1};
    GEOSSTRtree_query_r(
        ctx, tree, pt,
        [](void* item, void* userdata) {
          auto* query = static_cast<Query*>(userdata);
          auto i = reinterpret_cast<size_t>(item);
          // Overlapping areas (imperfect source data): the one listed first wins, as in AreaIndex.
          if ((query->found < 0 || static_cast<long>(i) < query->found) &&
              GEOSPreparedCovers_r(query->self->ctx, query->self->prepared[i], query->point) == 1)
            query->found = static_cast<long>(i);
        },
        &q);
    GEOSGeom_destroy_r(ctx, pt);
    return q.found;
  }
};

// PostGIS peer: loads `areas` into a fresh table, assigns `pts` in one batch query.
struct Postgis {
  PGconn* conn = nullptr;
  explicit Postgis(const std::string& conninfo) : conn(PQconnectdb(conninfo.c_str())) {}
  ~Postgis() { PQfinish(conn); }
  bool exec(const std::string& sql) {
    PGresult* r = PQexec(conn, sql.c_str());
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
    if (!ok) fmt::print(stderr, "postgis: {}\n", PQresultErrorMessage(r));
    PQclear(r);
    return ok;
  }
  bool load(const std::vector<Area>& areas) {
    if (!exec("DROP TABLE IF EXISTS bench_areas; CREATE TABLE bench_areas (idx int PRIMARY KEY, "
              "geom geometry(MultiPolygon, 4326) NOT NULL)"))
      return false;
    for (size_t i = 0; i < areas.size(); ++i) {
      std::string idx = std::to_string(i), wkt = to_wkt(areas[i].geometry);
      const char* values[] = {idx.c_str(), wkt.c_str()};
      PGresult* r = PQexecParams(conn, "INSERT INTO bench_areas VALUES ($1::int, ST_GeomFromText($2, 4326))",
                                 2, nullptr, values, nullptr, nullptr, 0);
      bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
      PQclear(r);
      if (!ok) return false;
    }
    return exec("CREATE INDEX ON bench_areas USING gist (geom); ANALYZE bench_areas");
  }
  // Area index per point (-1: none); the lowest index wins where areas overlap.
  std::vector<long> assign(const std::vector<LonLat>& pts) {
    std::string xs = "{", ys = "{";
    for (size_t i = 0; i < pts.size(); ++i) {
      xs += fmt::format("{}{:.17g}", i ? "," : "", pts[i].lon);
      ys += fmt::format("{}{:.17g}", i ? "," : "", pts[i].lat);
    }
    xs += "}";
    ys += "}";
    const char* values[] = {xs.c_str(), ys.c_str()};
    PGresult* r = PQexecParams(conn, R"sql(
      SELECT coalesce(min(a.idx), -1)
      FROM unnest($1::float8[], $2::float8[]) WITH ORDINALITY AS p(x, y, i)
      LEFT JOIN bench_areas a ON ST_Covers(a.geom, ST_SetSRID(ST_MakePoint(p.x, p.y), 4326))
      GROUP BY p.i ORDER BY p.i)sql",
                               2, nullptr, values, nullptr, nullptr, 0);
    std::vector<long> out;
    if (PQresultStatus(r) == PGRES_TUPLES_OK)
      for (int i = 0; i < PQntuples(r); ++i) out.push_back(std::stol(PQgetvalue(r, i, 0)));
    else
      fmt::print(stderr, "postgis: {}\n", PQresultErrorMessage(r));
    PQclear(r);
    return out;
  }
};

std::vector<long> pg_sample_answers;

struct Run {
  double index_pps = 0, naive_pps = 0, postgis_pps = 0;
  size_t postgis_points = 0, postgis_mismatches = 0;
  size_t mismatches = 0, inside = 0, areas = 0;
  double build_ms = 0, bytes_per_area = 0;
};

Run run(const std::string& label, std::vector<Area> areas, size_t n_points, Postgis* pg,
        size_t pg_points) {
  double minx = 1e300, miny = 1e300, maxx = -1e300, maxy = -1e300;
  for (const Area& a : areas) {
    minx = std::min(minx, a.bbox[0]);
    miny = std::min(miny, a.bbox[1]);
    maxx = std::max(maxx, a.bbox[2]);
    maxy = std::max(maxy, a.bbox[3]);
  }
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> ux(minx, maxx), uy(miny, maxy);
  std::vector<LonLat> pts(n_points);
  for (auto& p : pts) p = {.lon = ux(rng), .lat = uy(rng)};

  Naive naive(areas);
  size_t n_areas = areas.size();
  Run r;
  if (pg && pg->load(areas)) {
    // PostGIS on the first pg_points points (it is far slower; a sample keeps the run short).
    std::vector<LonLat> sample(pts.begin(), pts.begin() + static_cast<long>(std::min(pg_points, n_points)));
    auto t = Clock::now();
    auto got = pg->assign(sample);
    r.postgis_pps = static_cast<double>(sample.size()) / seconds_since(t);
    r.postgis_points = sample.size();
    r.postgis_mismatches = got.size() == sample.size() ? 0 : sample.size();
    pg_sample_answers = std::move(got);
  }
  auto t0 = Clock::now();
  auto built = AreaIndex::build({std::move(areas)});
  r.areas = n_areas;
  r.build_ms = seconds_since(t0) * 1000;
  const AreaIndex& idx = **built;
  r.bytes_per_area = static_cast<double>(idx.memory_bytes()) / static_cast<double>(n_areas);

  std::vector<long> ours(n_points), theirs(n_points);
  const Area* base = idx.areas(0).data();
  t0 = Clock::now();
  for (size_t i = 0; i < n_points; ++i) {
    const Area* a = idx.locate(pts[i], 0);
    ours[i] = a ? a - base : -1;
  }
  r.index_pps = static_cast<double>(n_points) / seconds_since(t0);
  t0 = Clock::now();
  for (size_t i = 0; i < n_points; ++i) theirs[i] = naive.locate(pts[i].lon, pts[i].lat);
  r.naive_pps = static_cast<double>(n_points) / seconds_since(t0);
  for (size_t i = 0; i < pg_sample_answers.size(); ++i) r.postgis_mismatches += ours[i] != pg_sample_answers[i];
  pg_sample_answers.clear();
  for (size_t i = 0; i < n_points; ++i) {
    if (ours[i] != theirs[i] && std::getenv("GW_BENCH_VERBOSE")) {
      auto covers = [&](long k) {
        return k >= 0 && GEOSPreparedCovers_r(naive.ctx, naive.prepared[static_cast<size_t>(k)],
                                              GEOSGeom_createPointFromXY_r(naive.ctx, pts[i].lon, pts[i].lat)) == 1;
      };
      fmt::print("  differ at {:.12f},{:.12f}: index {} (GEOS covers it: {}), GEOS {}\n", pts[i].lon,
                 pts[i].lat, ours[i] >= 0 ? idx.areas(0)[static_cast<size_t>(ours[i])].code : "-",
                 covers(ours[i]), theirs[i] >= 0 ? idx.areas(0)[static_cast<size_t>(theirs[i])].code : "-");
    }
    r.mismatches += ours[i] != theirs[i];
    r.inside += ours[i] >= 0;
  }
  fmt::print("{}: {} areas, {} points ({} inside)\n", label, n_areas, n_points, r.inside);
  fmt::print("  index  {:>12.0f} points/s  (build {:.0f} ms, {:.0f} bytes/area)\n", r.index_pps,
             r.build_ms, r.bytes_per_area);
  fmt::print("  GEOS   {:>12.0f} points/s  (STRtree + prepared covers)\n", r.naive_pps);
  fmt::print("  ratio  {:.1f}x, answers differing: {}\n", r.index_pps / r.naive_pps, r.mismatches);
  if (r.postgis_points)
    fmt::print("  PostGIS {:>11.0f} points/s  (batch ST_Covers join, GiST; {} points), ratio {:.0f}x, "
               "answers differing: {}\n",
               r.postgis_pps, r.postgis_points, r.index_pps / r.postgis_pps, r.postgis_mismatches);
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  size_t n = argc > 1 ? std::stoul(argv[1]) : 1'000'000;
  size_t pg_n = argc > 2 ? std::stoul(argv[2]) : 200'000;
  const std::string nyc_file = bench::need_data("boundaries/nyc-community-districts.geojson");
  const std::string bj_file = bench::need_data("boundaries/beijing-districts-gcj02.json");
  auto services = platform::PrivateServices::start(
      {.dir = std::filesystem::temp_directory_path() / fmt::format("gw-bench-{}", getpid()), .mosquitto = false});
  if (!services) {
    fmt::print(stderr, "PostGIS peer unavailable: {}\n", services.error().message);
    return 1;
  }
  Postgis pg((*services)->endpoints().pg_conninfo);
  auto nyc = load_layer(nyc_file, {.id_property = "BoroCD"});
  auto bj = load_layer(bj_file, {.crs = Crs::kGcj02});
  if (!nyc || !bj) {
    fmt::print(stderr, "cannot load the boundaries {} and {}\n", nyc_file, bj_file);
    return 1;
  }
  auto t0 = Clock::now();
  auto cells = synthetic_grid(*bj, 750);
  double grid_ms = seconds_since(t0) * 1000;
  fmt::print("synthetic grid: {} cells of ~750 m in {:.0f} ms\n", cells->size(), grid_ms);
  Run a = run("NYC community districts", std::move(*nyc), n, &pg, pg_n);
  Run b = run("Beijing synthetic grid cells", std::move(*cells), n, &pg, pg_n);
  fmt::print(
      "RESULT points={} nyc_index_pps={:.0f} nyc_geos_pps={:.0f} ratio_nyc_index_vs_geos={:.2f} "
      "nyc_mismatches={} grid_cells={} grid_index_pps={:.0f} grid_geos_pps={:.0f} "
      "ratio_grid_index_vs_geos={:.2f} grid_mismatches={} grid_bytes_per_area={:.0f} "
      "grid_build_ms={:.0f} postgis_points={} nyc_postgis_pps={:.0f} ratio_nyc_index_vs_postgis={:.1f} "
      "nyc_postgis_mismatches={} grid_postgis_pps={:.0f} ratio_grid_index_vs_postgis={:.1f} "
      "grid_postgis_mismatches={}\n",
      n, a.index_pps, a.naive_pps, a.index_pps / a.naive_pps, a.mismatches, b.areas, b.index_pps,
      b.naive_pps, b.index_pps / b.naive_pps, b.mismatches, b.bytes_per_area, b.build_ms,
      a.postgis_points, a.postgis_pps, a.index_pps / a.postgis_pps, a.postgis_mismatches, b.postgis_pps,
      b.index_pps / b.postgis_pps, b.postgis_mismatches);
  return 0;
}
