// The demo's calls to its own center's API (the pages' and phones' requests, scripted).
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace gridwatch::app {

// `method` ("GET", "POST", "PUT") `path` on the center at 127.0.0.1:`port` with bearer `token`
// ("" for none) and a JSON `body` (or raw bytes of `content_type` when given): the JSON answer of
// a 200 or 201, or nullopt after a warning naming the refusal.
std::optional<nlohmann::json> demo_call(int port, const char* method, const std::string& path,
                                        const nlohmann::json& body, const char* token,
                                        const std::string& raw = {}, const std::string& content_type = {});

}  // namespace gridwatch::app
