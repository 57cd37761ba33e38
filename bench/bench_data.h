// Where the benchmarks' real data lives, decided at run time (as for the tests,
// domain/tests/test_data.h): $GRIDWATCH_TEST_DATA, else ../shared/data beside the checkout.
// A benchmark that needs a missing file says so in one line and exits with code 2.
// Kept apart from bench_support.h, which needs libpq, so that benchmarks without a database can
// use it; bench_support.h includes it.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace gridwatch::bench {

// The folder of the real data: $GRIDWATCH_TEST_DATA when set, else ../shared/data beside the
// source tree.
inline std::filesystem::path data_dir() {
  if (const char* env = std::getenv("GRIDWATCH_TEST_DATA"); env && *env) return env;
  return std::filesystem::path(GRIDWATCH_SOURCE_DIR).parent_path() / "shared" / "data";
}

// The full path of `relative` under data_dir(); when there is no such file, prints
// "needs FILE (GRIDWATCH_TEST_DATA)" and ends the benchmark with exit code 2.
inline std::string need_data(const std::string& relative) {
  const std::filesystem::path p = data_dir() / relative;
  std::error_code ec;
  if (!std::filesystem::exists(p, ec)) {
    std::fprintf(stderr, "needs %s (GRIDWATCH_TEST_DATA)\n", p.filename().string().c_str());
    std::exit(2);
  }
  return p.string();
}

}  // namespace gridwatch::bench
