// Scope: the cases a caller may read and change, as far as the store limits them. Plain data.
#pragma once

#include <string>

namespace gridwatch::center {

// Whose request it is, as far as the store limits it: the cases a department or a grid worker may
// read and change. An empty scope sees every case.
struct Scope {
  std::string unit;        // cases dispatched to this unit or of this department
  std::string area_level;  // with area_code: cases placed in this area ("grid": "110101-g00040007")
  std::string area_code;
  bool empty() const { return unit.empty() && area_code.empty(); }
};

}  // namespace gridwatch::center
