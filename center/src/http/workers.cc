// Routes: grid workers' positions, the list of workers, and who a token is.
#include "gridwatch/center/center.h"

#include <cmath>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include "http/answers.h"
#include "http/server.h"

namespace gridwatch::center {

void Center::add_worker_routes(http::Server& server) {
  // A grid worker's phone: {"lon": ..., "lat": ..., "on_duty": true}.
  server.put(R"(/api/v1/workers/([^/]+)/position)", [this](const http::Request& req, http::Response& res) {
    const auto who = caller(req, res);
    if (!who) return;
    const std::string id = req.matches[1];
    const auto grid = worker_grid(*who, id, res, fmt::format("report the position of worker {}", id));
    if (!grid) return;
    const auto body = json_body(req, res, {"lon", "lat", "on_duty"}, R"({"lon": 116.4, "lat": 39.9, "on_duty": true})");
    if (!body) return;
    std::optional<LonLat> where;
    if (body->contains("lon") || body->contains("lat")) {
      const auto p = http::point_of(*body);
      if (!p) return json_error(res, 400, p.error(), "lon");
      where = *p;
    }
    if (body->contains("on_duty") && !body->at("on_duty").is_boolean())
      return json_error(res, 400, "on_duty is true or false", "on_duty");
    const bool on_duty = body->contains("on_duty") ? body->at("on_duty").get<bool>() : true;
    if (auto st = store_->report_worker(id, *grid, where, on_duty); !st) return json_error(res, 503, st.error().message);
    res.set_content(nlohmann::json({{"worker", id}, {"grid", *grid}, {"on_duty", on_duty}}).dump(), "application/json");
  });

  server.get("/api/v1/workers", [this](const http::Request& req, http::Response& res) {
    const auto who = caller(req, res);
    if (!who) return;
    if (!who->may_list_workers()) return deny(res, *who, "list the workers");
    auto body = store_->workers_geojson();
    if (!body) return json_error(res, 503, body.error().message);
    res.set_content(*body, "application/geo+json");
  });

  // Who the token is: the pages show the name and offer what the role may do.
  server.get("/api/v1/me", [this](const http::Request& req, http::Response& res) {
    const auto who = caller(req, res);
    if (!who) return;
    nlohmann::json me = {{"name", who->name}, {"role", std::string(to_string(who->role))}};
    if (!who->unit.empty()) me["unit"] = who->unit;
    if (!who->grid.empty()) me["grid"] = who->grid;
    me["may"] = {{"split", who->may_split()},
                 {"summon", who->may_summon()},
                 {"stats", who->may_read_stats()},
                 {"workers", who->may_list_workers()}};
    nlohmann::json actions = nlohmann::json::array();
    for (CaseAction a : kAllActions)
      if (who->may(a)) actions.push_back(std::string(to_string(a)));
    me["may"]["actions"] = actions;
    res.set_content(me.dump(), "application/json");
  });
}

}  // namespace gridwatch::center
