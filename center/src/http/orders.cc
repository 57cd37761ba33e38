// Routes: the cases for the map and the panel (GeoJSON, one case with its sources, vector tiles, areas).
#include "gridwatch/center/center.h"

#include "gridwatch/domain/text.h"
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include "http/answers.h"
#include "http/server.h"

namespace gridwatch::center {

namespace {

// The steps `who` may take on a case in each state: the lifecycle's table and the role.
nlohmann::json allowed_by_state(const Principal& who) {
  nlohmann::json table = nlohmann::json::object();
  for (CaseState s : kAllStates) {
    nlohmann::json actions = nlohmann::json::array();
    for (CaseAction a : actions_from(s))
      if (who.may(a)) actions.push_back(std::string(to_string(a)));
    table[std::string(to_string(s))] = std::move(actions);
  }
  return table;
}

}  // namespace

void Center::add_order_routes(http::Server& server) {
  server.get("/api/v1/orders", [this](const http::Request& req, http::Response& res) {
    const auto who = caller(req, res);
    if (!who) return;
    auto q = parse_order_query(req.params, catalog_);
    if (!q) return json_error(res, 400, q.error().message, q.error().field);
    q->scope = who->read_scope(config_.worker_level);
    if (!q->map_fields) q->allowed_by_state = allowed_by_state(*who).dump();
    auto body = store_->orders_geojson(*q);
    if (!body) return json_error(res, 503, body.error().message);
    res.set_content(*body, q->count_only ? "application/json" : "application/geo+json");
  });


  server.get(R"(/api/v1/orders/([^/]+))", [this](const http::Request& req, http::Response& res) {
    auto c = readable_case(req, res);
    if (!c) return;
    auto& [who, feature, more] = *c;
    // The steps this caller may take now (the lifecycle's table and the role): the pages offer
    // these, and nothing else.
    const nlohmann::json table = allowed_by_state(who);
    const std::string state = feature["properties"].value("state", "");
    feature["properties"]["allowed_actions"] = table.contains(state) ? table.at(state) : nlohmann::json::array();
    feature["properties"]["sources"] = std::move(more["sources"]);
    feature["properties"]["history"] = std::move(more["history"]);
    feature["properties"]["tasks"] = std::move(more["tasks"]);
    res.set_content(feature.dump(), "application/geo+json");
  });

  // Vector tiles of the open cases for the map (MapLibre / Mapbox GL), filtered as the map page
  // filters and clustered up to zoom 13: a map of 50,000 cases loads only the tiles it shows.
  // Token as for /api/v1/events.
  server.get(R"(/tiles/(\d{1,2})/(\d{1,7})/(\d{1,7})\.mvt)", [this](const http::Request& req, http::Response& res) {
    const auto who = caller(req, res, /*query_token=*/true);
    if (!who) return;
    auto q = parse_tile_query(req.params, catalog_);
    if (!q) return json_error(res, 400, q.error().message, q.error().field);
    q->z = std::stoi(req.matches[1]);
    q->x = std::stoi(req.matches[2]);
    q->y = std::stoi(req.matches[3]);
    if (q->z > 22) return json_error(res, 400, fmt::format("zoom {} is above 22", q->z), "z");
    if (q->x >= (1 << q->z) || q->y >= (1 << q->z))
      return json_error(res, 400, fmt::format("no tile {}/{}/{}", q->z, q->x, q->y), "x");
    q->scope = who->read_scope(config_.worker_level);
    auto tile = store_->cases_tile(*q);
    if (!tile) return json_error(res, 503, tile.error().message);
    res.set_header("Cache-Control", "no-store");  // cases change every minute
    if (tile->empty()) {
      res.status = 204;
      return;
    }
    res.set_content(std::move(*tile), "application/vnd.mapbox-vector-tile");
  });

  server.get("/api/v1/areas", [this](const http::Request& req, http::Response& res) {
    if (!caller(req, res)) return;
    std::optional<int> level;
    for (const auto& [key, value] : req.params)
      if (key != "level") return json_error(res, 400, fmt::format("unknown parameter \"{}\" (known: level)", key), key);
    if (req.has_param("level")) {
      level = parse_int_in(req.get_param_value("level"), 0, 16);
      if (!level) return json_error(res, 400, "level must be a whole number from 0 (coarsest) to 16", "level");
    }
    auto body = store_->areas_geojson(level);
    if (!body) return json_error(res, 503, body.error().message);
    res.set_content(*body, "application/geo+json");
  });
}

}  // namespace gridwatch::center
