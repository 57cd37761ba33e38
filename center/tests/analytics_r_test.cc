// Gi* equals R's spdep::localG on the same cells and weights (to 1e-9): a lattice and hexagons
// found by a distance band, with counts drawn from a seeded generator. Runs when Rscript and
// spdep are installed (scripts/install-deps.sh adds r-cran-spdep); skips with a message otherwise.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "gridwatch/center/analytics/gistar.h"

namespace gridwatch::center::analytics {
namespace {

namespace fs = std::filesystem;

std::string run(const std::string& command) {
  std::string out;
  FILE* p = popen(command.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  size_t n = 0;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  pclose(p);
  return out;
}

bool have_spdep() {
  return run("Rscript -e 'cat(requireNamespace(\"spdep\", quietly = TRUE))' 2>/dev/null") == "TRUE";
}

// spdep's localG of x under w (w's lists include each cell; the file gives R the others).
std::vector<double> r_local_g(const std::vector<double>& x, const Weights& w, const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("gw-localg-" + name + "-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  {
    std::ofstream values(dir / "x.txt");
    values.precision(17);
    for (double v : x) values << v << "\n";
    std::ofstream nb(dir / "nb.txt");
    for (size_t i = 0; i < w.size(); ++i) {
      std::string line;
      for (size_t j : w.neighbours[i])
        if (j != i) line += (line.empty() ? "" : " ") + std::to_string(j + 1);
      nb << (line.empty() ? "0" : line) << "\n";
    }
  }
  const std::string script = std::string(GRIDWATCH_SOURCE_DIR) + "/center/tests/localg.R";
  const std::string out =
      run("Rscript '" + script + "' '" + (dir / "x.txt").string() + "' '" + (dir / "nb.txt").string() + "' 2>&1");
  fs::remove_all(dir);
  std::vector<double> g;
  size_t pos = 0;
  while (pos < out.size()) {
    size_t end = out.find('\n', pos);
    if (end == std::string::npos) end = out.size();
    const std::string line = out.substr(pos, end - pos);
    if (!line.empty()) g.push_back(line == "NaN" || line == "NA" ? std::nan("") : std::stod(line));
    pos = end + 1;
  }
  EXPECT_EQ(g.size(), x.size()) << "Rscript said:\n" << out;
  return g;
}

void expect_equal(const std::vector<double>& ours, const std::vector<double>& r) {
  ASSERT_EQ(ours.size(), r.size());
  size_t compared = 0;
  for (size_t i = 0; i < ours.size(); ++i) {
    if (std::isnan(r[i])) {
      EXPECT_TRUE(std::isnan(ours[i])) << "cell " << i;
      continue;
    }
    EXPECT_NEAR(ours[i], r[i], 1e-9) << "cell " << i;
    ++compared;
  }
  EXPECT_GT(compared, ours.size() / 2);
}

TEST(GiStarAgainstR, LatticeWithQueenNeighbours) {
  if (!have_spdep()) GTEST_SKIP() << "Rscript with the spdep package is not installed (Debian r-cran-spdep)";
  // 14 × 11 cells, queen contiguity; counts Poisson(3) with a block of Poisson(9).
  std::mt19937_64 rng(20261204);
  const size_t w = 14, h = 11;
  std::vector<std::pair<size_t, size_t>> pairs;
  std::vector<double> x;
  for (size_t y = 0; y < h; ++y)
    for (size_t c = 0; c < w; ++c) {
      const bool block = c >= 4 && c <= 6 && y >= 3 && y <= 5;
      x.push_back(double(std::poisson_distribution<int>(block ? 9.0 : 3.0)(rng)));
      for (size_t dy = 0; dy <= 1; ++dy)
        for (int dx = -1; dx <= 1; ++dx) {
          if (dy == 0 && dx <= 0) continue;
          const auto nc = static_cast<long>(c) + dx;
          if (nc < 0 || nc >= long(w) || y + dy >= h) continue;
          pairs.emplace_back(y * w + c, (y + dy) * w + static_cast<size_t>(nc));
        }
    }
  const Weights weights = from_pairs(x.size(), pairs, true);
  expect_equal(gi_star(x, weights), r_local_g(x, weights, "lattice"));
}

TEST(GiStarAgainstR, HexagonsByDistanceBandWithIslands) {
  if (!have_spdep()) GTEST_SKIP() << "Rscript with the spdep package is not installed (Debian r-cran-spdep)";
  // Hexagon centres of edge 250 m, a few dropped (so some cells have fewer neighbours), plus two
  // far-away islands with no neighbour at all; counts from a negative binomial.
  std::mt19937_64 rng(7);
  std::vector<std::pair<double, double>> centres;
  for (int c = 0; c < 12; ++c)
    for (int r = 0; r < 12; ++r) {
      if ((c * 7 + r * 3) % 11 == 0) continue;
      centres.emplace_back(375.0 * c, std::sqrt(3.0) * 250 * (r + (c % 2 ? 0.5 : 0.0)));
    }
  centres.emplace_back(1e5, 1e5);
  centres.emplace_back(-1e5, 3e5);
  std::negative_binomial_distribution<int> nb(2, 0.4);
  std::vector<double> x;
  for (size_t i = 0; i < centres.size(); ++i) x.push_back(double(nb(rng)));
  const Weights weights = distance_band(centres, std::sqrt(3.0) * 250 * 1.01, true);
  expect_equal(gi_star(x, weights), r_local_g(x, weights, "hex"));
}

}  // namespace
}  // namespace gridwatch::center::analytics
