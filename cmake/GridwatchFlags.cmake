# Compiler flags live in INTERFACE targets that only this project's targets link
# (privately), so nothing developer-only leaks to a consumer.

add_library(gridwatch_developer_flags INTERFACE)
target_compile_options(gridwatch_developer_flags INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Wcast-align
  -Woverloaded-virtual -Wconversion -Wsign-conversion -Wnull-dereference -Wdouble-promotion
  -Wimplicit-fallthrough
  # Designated initializers that leave members at their defaults are intended.
  -Wno-missing-field-initializers)
if(GRIDWATCH_DEVELOPER)
  target_compile_options(gridwatch_developer_flags INTERFACE -Werror)
endif()
# With optimisation and debug information (RelWithDebInfo), GCC's tracking of where each variable
# lives takes a fifth to a third of the compile time (center/src/http/server.cc: 98 s -> 73 s).
# Without it the debug information keeps every type, function, line and variable; an optimised
# variable shows as <optimized out> more often.
target_compile_options(gridwatch_developer_flags INTERFACE
  $<$<CONFIG:RelWithDebInfo>:-fno-var-tracking-assignments>)

add_library(gridwatch_sanitizer_flags INTERFACE)
if(GRIDWATCH_SANITIZE)
  target_compile_options(gridwatch_sanitizer_flags INTERFACE
    -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  target_link_options(gridwatch_sanitizer_flags INTERFACE -fsanitize=address,undefined)
endif()

# The tests' own code is compiled for debugging (-Og), not for speed: the code under test is the
# modules' libraries, compiled as the build type says. A test file compiles in about 40 % less
# time (28 s -> 16 s for tests/dispatch_test.cc at -O2 -g, compiled alone on 2 cores).
# Their debug information is line tables only (-g1: a failing test's backtrace names functions,
# files and lines; a variable is not shown): about a sixth less time again (16.4 s -> 13.0 s for
# tests/dispatch_test.cc, 5.8-6.4 s -> 4.9-5.0 s for center/tests/config_test.cc, runs alternated).
# A Debug build keeps everything.
add_library(gridwatch_test_flags INTERFACE)
target_compile_options(gridwatch_test_flags INTERFACE -Og $<$<CONFIG:RelWithDebInfo>:-g1>)

# gridwatch_module(NAME SOURCES ... ) : a module library with the project's flags and the
# alias gridwatch::NAME. Public headers live in NAME/include/gridwatch/NAME/.
function(gridwatch_module name)
  add_library(gridwatch_${name} ${ARGN})
  add_library(gridwatch::${name} ALIAS gridwatch_${name})
  target_include_directories(gridwatch_${name} PUBLIC
    $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/include>)
  target_link_libraries(gridwatch_${name} PRIVATE gridwatch_developer_flags gridwatch_sanitizer_flags)
  set_target_properties(gridwatch_${name} PROPERTIES OUTPUT_NAME gridwatch_${name})
endfunction()

# gridwatch_test(NAME SOURCES ... LIBS ...) : one GoogleTest binary, its tests discovered by CTest.
function(gridwatch_test name)
  cmake_parse_arguments(T "" "" "SOURCES;LIBS;PROPERTIES" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_LIBS} GTest::gtest GTest::gmock GTest::gtest_main
    gridwatch_developer_flags gridwatch_sanitizer_flags gridwatch_test_flags)
  target_compile_definitions(${name} PRIVATE GRIDWATCH_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  # Shared test helpers: matchers for Result errors (matchers.h), the real-data folder
  # (test_data.h).
  target_include_directories(${name} PRIVATE "${PROJECT_SOURCE_DIR}/domain/tests")
  # Suites named *RealData read files of the real-data folder ($GRIDWATCH_TEST_DATA, else
  # ../shared/data) and skip when it is missing: they carry the CTest label `realdata`.
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 30 TEST_FILTER "-*RealData*.*"
    PROPERTIES ${T_PROPERTIES})
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 30 TEST_FILTER "*RealData*.*"
    PROPERTIES ${T_PROPERTIES} LABELS realdata)
endfunction()
