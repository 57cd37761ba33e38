// Simulations of the hot spot statistics (docs/analytics.md): does the emerging hot spot analysis
// find a growing hot spot, and does the hot spot map stay quiet when there is nothing to find?
//
//   hotspot_sim [RUNS]   (default 200)
//
// The map: 900 hexagons (30 × 30, edge 250 m, neighbours by distance band as the center builds
// them), 13 weeks, 20,000 background tickets spread uniformly over cells and weeks (Poisson,
// ~1.7 a cell a week). The planted hot spot: one cell and its six neighbours get extra tickets,
// Poisson with mean 4 a cell in week 1 growing linearly to 12 in week 13 (~730 tickets in all).
// Per run, seeded: (a) with the plant, is the centre cell classed intensifying hot? (b) without
// it, does the hot spot map of the 13 weeks' totals (Gi*, FDR q = 0.05) show any significant
// cell, and does the emerging analysis class any cell as intensifying, persistent or
// diminishing (hot or cold)? The peer for (b) is the rate a per-cell test at p < 0.05 without FDR
// would show, measured on the same runs.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include <fmt/format.h>

#include "gridwatch/center/analytics/maps.h"

using namespace gridwatch::center::analytics;

namespace {

constexpr int kSide = 30;
constexpr int kWeeks = 13;
constexpr double kBackground = 20000;
constexpr double kEdge = 250;

CellGrid make_grid() {
  CellGrid g;
  for (int c = 0; c < kSide; ++c)
    for (int r = 0; r < kSide; ++r) {
      Cell cell;
      cell.id = fmt::format("h:{}:{}", c, r);
      cell.x = 1.5 * kEdge * c;
      cell.y = std::sqrt(3.0) * kEdge * (r + (c % 2 ? 0.5 : 0.0));
      cell.counts.assign(kWeeks, 0.0);
      g.cells.push_back(std::move(cell));
    }
  g.band_m = std::sqrt(3.0) * kEdge * 1.01;
  return g;
}

void fill(CellGrid& g, const Weights& w, std::mt19937_64& rng, bool plant, size_t centre) {
  const double per = kBackground / double(g.cells.size() * kWeeks);
  std::poisson_distribution<int> background(per);
  for (Cell& c : g.cells)
    for (double& n : c.counts) n = background(rng);
  if (!plant) return;
  for (int t = 0; t < kWeeks; ++t) {
    std::poisson_distribution<int> extra(4.0 + 8.0 * t / (kWeeks - 1));
    for (size_t j : w.neighbours[centre]) g.cells[j].counts[static_cast<size_t>(t)] += extra(rng);
  }
}

}  // namespace

int main(int argc, char** argv) {
  const int runs = argc > 1 ? std::atoi(argv[1]) : 200;
  CellGrid grid = make_grid();
  const Weights w = weights_of(grid);
  const size_t centre = static_cast<size_t>((kSide / 2) * kSide + kSide / 2);
  int found = 0, consecutive_or_other = 0;
  int null_any = 0, null_any_uncorrected = 0, null_trend_class = 0, null_hot = 0, null_cold = 0;
  const auto start = std::chrono::steady_clock::now();
  for (int run = 0; run < runs; ++run) {
    std::mt19937_64 rng(1000 + static_cast<uint64_t>(run));
    fill(grid, w, rng, true, centre);
    const auto classes = emerging(grid, 0.05);
    if (classes[centre].kind == Emerging::kIntensifyingHot) ++found;
    else ++consecutive_or_other;

    std::mt19937_64 rng0(900000 + static_cast<uint64_t>(run));
    fill(grid, w, rng0, false, centre);
    std::vector<double> totals;
    for (const Cell& c : grid.cells) totals.push_back(c.total());
    const auto r = hot_and_cold(totals, w, 0.05);
    bool any = false, any_raw = false, hot = false, cold = false;
    for (const CellResult& c : r) {
      any = any || c.spot != 0;
      hot = hot || c.spot > 0;
      cold = cold || c.spot < 0;
      any_raw = any_raw || c.p < 0.05;
    }
    null_hot += hot ? 1 : 0;
    null_cold += cold ? 1 : 0;
    null_any += any ? 1 : 0;
    null_any_uncorrected += any_raw ? 1 : 0;
    bool trend = false;
    for (const EmergingResult& e : emerging(grid, 0.05)) {
      switch (e.kind) {
        case Emerging::kIntensifyingHot: case Emerging::kPersistentHot: case Emerging::kDiminishingHot:
        case Emerging::kIntensifyingCold: case Emerging::kPersistentCold: case Emerging::kDiminishingCold:
          trend = true;
          break;
        default: break;
      }
    }
    null_trend_class += trend ? 1 : 0;
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double detect = double(found) / runs, false_any = double(null_any) / runs;
  fmt::print("{} runs, {} cells, {} weeks, {:.0f} background tickets ({:.1f} s)\n", runs, grid.cells.size(), kWeeks,
             kBackground, secs);
  fmt::print("planted growing hot spot classed intensifying: {}/{} = {:.1f} % (goal >= 95 %)\n", found, runs,
             100 * detect);
  fmt::print("no signal, any significant cell in the 13-week hot spot map after FDR: {}/{} = {:.1f} % (goal <= 5 %)\n",
             null_any, runs, 100 * false_any);
  fmt::print("  runs with a hot cell: {}, with a cold cell: {}\n", null_hot, null_cold);
  fmt::print("  peer, the same without FDR (any cell p < 0.05): {}/{} = {:.1f} %\n", null_any_uncorrected, runs,
             100.0 * null_any_uncorrected / runs);
  fmt::print("no signal, any cell classed intensifying/persistent/diminishing: {}/{} = {:.1f} %\n", null_trend_class,
             runs, 100.0 * null_trend_class / runs);
  fmt::print("RESULT detect={:.3f} false_any={:.3f} false_uncorrected={:.3f} false_trend={:.3f} goals_met={}\n", detect,
             false_any, double(null_any_uncorrected) / runs, double(null_trend_class) / runs,
             detect >= 0.95 && false_any <= 0.05 ? 1 : 0);
  return 0;
}
