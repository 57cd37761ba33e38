// Errors as values at module boundaries.
//
// Every fallible function that crosses a module boundary returns Result<T> (std::expected).
// An Error carries a code a caller can branch on, the name of what was wrong (a JSON field
// path such as "location.lat", a config key such as "sensors[0].type", or an HTTP parameter)
// and a message a person can act on. Error is a plain value; it is safe to copy between threads.
#pragma once

#include <expected>
#include <string>
#include <string_view>

namespace gridwatch {

enum class ErrorCode {
  kInvalidArgument,  // a value is of the wrong type, missing or out of range
  kParse,            // input is not well-formed (JSON, YAML, CSV, timestamp)
  kTooLarge,         // input exceeds a configured size limit
  kConfig,           // a configuration file is wrong (file, line and key in the message)
  kNotFound,         // the thing asked for does not exist
  kUnauthenticated,  // no valid credentials: missing, unknown or expired token
  kDenied,           // the caller may not do this (its role, unit or grid)
  kUnavailable,      // a peer (broker, database, camera) cannot be reached now; retry may help
  kIo,               // the operating system refused (file, socket, process)
  kInternal,         // a bug or an unexpected state
};

std::string_view to_string(ErrorCode code);

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;  // human-readable, complete on its own
  std::string field;    // what was wrong: JSON path, config key or parameter; may be empty
};

template <class T>
using Result = std::expected<T, Error>;
using Status = std::expected<void, Error>;

inline std::unexpected<Error> fail(ErrorCode code, std::string message, std::string field = {}) {
  return std::unexpected(Error{code, std::move(message), std::move(field)});
}

}  // namespace gridwatch
