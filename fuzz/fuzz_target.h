// One fuzz target: a function that takes any bytes and must neither crash, nor throw, nor break
// the property it checks. Built two ways from the same source (fuzz/CMakeLists.txt):
// - with clang's libFuzzer (GRIDWATCH_FUZZ=ON, scripts/fuzz.sh): the function is
//   LLVMFuzzerTestOneInput of an executable of its own;
// - in every build: registered by name in fuzz_replay_test, which runs each file of the target's
//   seed corpus (fuzz/corpus/NAME) and of its regressions (fuzz/regressions/NAME) through it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace gridwatch::fuzz {

using Target = int (*)(const uint8_t* data, size_t size);
bool register_target(const char* name, Target target);

inline std::string_view text(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// A property the target checks did not hold: a crash for libFuzzer, a failure for the replay.
#ifdef GRIDWATCH_LIBFUZZER
[[noreturn]] inline void broken(const char* what) {
  std::fprintf(stderr, "gridwatch fuzz: property broken: %s\n", what);
  std::abort();
}
#else
[[noreturn]] void broken(const char* what);  // replay_test.cc: throws
#endif

}  // namespace gridwatch::fuzz

#ifdef GRIDWATCH_LIBFUZZER
#define GW_FUZZ_TARGET(name) extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
#else
#define GW_FUZZ_TARGET(name)                                                                                  \
  static int gw_fuzz_##name(const uint8_t* data, size_t size);                                               \
  [[maybe_unused]] static const bool gw_fuzz_registered_##name =                                            \
      ::gridwatch::fuzz::register_target(#name, gw_fuzz_##name);                                             \
  static int gw_fuzz_##name(const uint8_t* data, size_t size)
#endif
