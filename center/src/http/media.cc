// Routes: photos (workers' proof of work, residents' photos) and the clips agents keep.
#include "gridwatch/center/center.h"

#include "gridwatch/center/open311.h"
#include "gridwatch/domain/clip.h"
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include "http/answers.h"
#include "http/server.h"

namespace gridwatch::center {
using http::image_type;

void Center::add_media_routes(http::Server& server) {
  // Photos: a worker's proof of work (any token) and a resident's photo of the problem (an Open311
  // api_key), the raw JPEG or PNG as the body; answered with the URL to give with the step or the
  // ticket (photo_url, media_url).
  auto store_media = [this](const http::Request& req, http::Response& res, const std::string& by) {
    const auto type = image_type(req.body);
    if (!type) return json_error(res, 400, "the body must be a JPEG or PNG image", "body");
    auto id = store_->put_media({*type, req.body}, by);
    if (!id) return json_error(res, 503, id.error().message);
    const std::string url = fmt::format("/media/{}.{}", *id, *type == "image/png" ? "png" : "jpg");
    spdlog::info("photo {} ({} bytes) from {}", url, req.body.size(), by);
    res.status = 201;
    res.set_header("Location", url);
    res.set_content(nlohmann::json{{"id", *id}, {"url", url}, {"bytes", req.body.size()}}.dump(), "application/json");
  };
  server.post("/api/v1/media", [this, store_media](const http::Request& req, http::Response& res) {
    const auto who = caller(req, res);
    if (!who) return;
    if (auto wait = over_limit("token:" + who->name, req)) return http::too_many(res, *wait);
    store_media(req, res, who->name);
  });
  server.post(R"(/open311/v2/media(?:\.json)?)", [this, store_media](const http::Request& req, http::Response& res) {
    const ApiKey* key = find_api_key(config_.api_keys, req.get_param_value("api_key"));
    if (auto wait = over_limit(key, req))
      return http::too_many(res, *wait, open311::error(429, http::too_many_message(*wait), open311::Format::kJson),
                            open311::content_type(open311::Format::kJson));
    if (!key) {
      res.status = 403;
      return res.set_content(open311::error(403, "api_key is missing or unknown", open311::Format::kJson),
                             open311::content_type(open311::Format::kJson));
    }
    store_media(req, res, "open311:" + key->name);
  });
  server.get(R"(/media/([0-9a-f]{16,64})\.(jpg|png))", [this](const http::Request& req, http::Response& res) {
    auto m = store_->media(req.matches[1]);
    if (!m) return json_error(res, 503, m.error().message);
    if (!*m) return json_error(res, 404, "no such photo");
    res.set_header("Cache-Control", "public, max-age=31536000, immutable");
    res.set_content(std::move((*m)->bytes), (*m)->content_type);
  });

  // The clip an agent keeps for a camera case (evidence.clip of its sources), fetched on request.
  server.get(R"(/api/v1/orders/([^/]+)/clip)", [this](const http::Request& req, http::Response& res) {
    // A link on the map opens the clip: the token may come as ?access_token=.
    auto c = readable_case(req, res, /*query_token=*/true);
    if (!c) return;
    const std::string id = c->feature.value("id", "");
    const nlohmann::json* more = &c->more;
    // The newest source with a clip, or the one named by ?name=.
    const std::string wanted = req.has_param("name") ? req.get_param_value("name") : "";
    std::string agent_id, name;
    for (const nlohmann::json& src : more->value("sources", nlohmann::json::array())) {
      if (!src.contains("evidence") || !src.at("evidence").is_object() || !src.at("evidence").contains("clip")) continue;
      const nlohmann::json& clip = src.at("evidence").at("clip");
      // The agent that sent the source (checked against its topic at intake), not what the evidence says.
      if (!clip.is_object() || !clip.contains("name") || !clip.at("name").is_string() || !src.contains("agent_id") ||
          !src.at("agent_id").is_string())
        continue;
      if (!wanted.empty() && clip.at("name").get<std::string>() != wanted) continue;
      agent_id = src.at("agent_id").get<std::string>();
      name = clip.at("name").get<std::string>();
    }
    if (name.empty())
      return json_error(res, 404, wanted.empty() ? fmt::format("case \"{}\" has no camera clip", id)
                                                 : fmt::format("case \"{}\" has no clip \"{}\"", id, wanted),
                        wanted.empty() ? "id" : "name");
    if (!is_valid_id(agent_id, 64)) return json_error(res, 404, "the clip's agent id is malformed", "id");
    // From memory when asked for lately (a player asks several times: ranges, seeks); else one
    // fetch from the agent, which holds an HTTP thread while it answers: a few at a time.
    auto bytes = clip(agent_id, name);
    if (!bytes && bytes.error().field == "busy") {
      res.set_header("Retry-After", "2");
      return json_error(res, 503, bytes.error().message);
    }
    if (!bytes) return json_error(res, bytes.error().code == ErrorCode::kNotFound ? 404 : 504, bytes.error().message);
    res.set_header("Content-Disposition", fmt::format("inline; filename=\"{}\"", name));
    const ClipMedia* media = clip_media_of(name);
    res.set_content(**bytes, media ? std::string(media->mime) : "application/octet-stream");
  });
}

}  // namespace gridwatch::center
