// Test helpers: assert the specific error of a Result.
#pragma once

#include <gmock/gmock.h>

#include "gridwatch/domain/error.h"

namespace gridwatch::testing {

// Matches a Result<T> that failed with `code`, whose field equals `field` and whose message
// contains `substr`.
MATCHER_P3(FailsWith, code, field, substr,
           std::string("fails with ") + std::string(to_string(code)) + " on '" + field + "'") {
  if (arg.has_value()) {
    *result_listener << "succeeded";
    return false;
  }
  const Error& e = arg.error();
  *result_listener << "error " << to_string(e.code) << " field '" << e.field << "': " << e.message;
  return e.code == code && e.field == field &&
         e.message.find(substr) != std::string::npos;
}

}  // namespace gridwatch::testing
