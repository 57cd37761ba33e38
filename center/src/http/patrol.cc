// Routes: grid workers on patrol — what they report on their round, the positions of their
// round, and the coverage and tracks the control center sees (docs/patrol.md).
#include "gridwatch/center/center.h"

#include <cmath>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "gridwatch/domain/text.h"
#include "http/answers.h"
#include "http/server.h"

namespace gridwatch::center {

using http::point_of;
using http::text_field;

namespace {

constexpr size_t kMaxPhotos = 3;
constexpr size_t kMaxPositions = 500;  // a batch: 2 hours of fixes every 15 s, kept while offline

// accuracy_m of `j` when given: a number of metres in [0, 10000].
std::expected<std::optional<double>, std::string> accuracy_of(const nlohmann::json& j) {
  if (!j.contains("accuracy_m") || j.at("accuracy_m").is_null()) return std::optional<double>();
  if (!j.at("accuracy_m").is_number()) return std::unexpected("accuracy_m is a number of metres");
  const double a = j.at("accuracy_m").get<double>();
  if (!std::isfinite(a) || a < 0 || a > 10'000) return std::unexpected("accuracy_m must be within [0, 10000] metres");
  return std::optional<double>(a);
}

// What a patrol view of `who` covers: a worker only their own (`own`: their name or grid; asking
// for another's is 403), a dispatcher or an admin what they ask for (`asked`, "" for all), others
// nothing. nullopt after answering 403.
std::optional<std::string> patrol_view(const Principal& who, const std::string& asked, const std::string& own,
                                       http::Response& res, std::string_view what) {
  if (who.role == Role::kWorker) {
    if (!asked.empty() && asked != own) return deny(res, who, fmt::format("read the {} of {}", what, asked)), std::nullopt;
    return own;
  }
  if (!who.may_list_workers()) return deny(res, who, fmt::format("read the {}", what)), std::nullopt;
  return asked;
}

// ?date= (YYYY-MM-DD), by default today where the patrol is.
std::string day_param(const http::Request& req, const PatrolMap& patrol) {
  return req.has_param("date") ? req.get_param_value("date") : patrol.day_of(now_utc());
}

}  // namespace

std::optional<std::string> Center::worker_grid(const Principal& who, const std::string& id, http::Response& res,
                                               std::string_view what) {
  if (!who.may_report_position(id)) return deny(res, who, what), std::nullopt;
  if (who.role == Role::kWorker) return who.grid;
  const auto it = std::find_if(config_.tokens.begin(), config_.tokens.end(),
                               [&](const ApiToken& t) { return t.role == Role::kWorker && t.name == id; });
  if (it == config_.tokens.end()) return json_error(res, 404, fmt::format("no worker \"{}\"", id), "id"), std::nullopt;
  return it->grid;
}

void Center::add_patrol_routes(http::Server& server) {
  // 巡查上报: a problem a grid worker found on the round, as a source of kind `patrol`.
  server.post(R"(/api/v1/workers/([^/]+)/reports)", [this](const http::Request& req, http::Response& res) {
    const auto who = caller(req, res);
    if (!who) return;
    const std::string id = req.matches[1];
    const auto grid = worker_grid(*who, id, res, fmt::format("report a problem for worker {}", id));
    if (!grid) return;
    const auto body = json_body(req, res, {"category", "lon", "lat", "accuracy_m", "note", "photos", "request_id",
                                           "observed_at"},
                                R"({"category": "dumped_waste", "lon": 116.4, "lat": 39.9, "accuracy_m": 12, )"
                                R"("note": "...", "photos": ["/media/....jpg"], "request_id": "r-1"})");
    if (!body) return;
    const auto category = text_field(*body, "category", 64), note = text_field(*body, "note", 2000),
               request_id = text_field(*body, "request_id", 64);
    if (!category || !note || !request_id) return json_error(res, 400, "category, note and request_id are strings");
    const Category* cat = catalog_.find(*category);
    if (!cat)
      return json_error(res, 400, fmt::format("unknown category \"{}\" (see /open311/v2/services.json)",
                                              printable(*category, 64)), "category");
    // The phone sends a report once, with the id it made for it: sent again, it is the same report.
    if (!is_valid_id(*request_id, 64))
      return json_error(res, 400, "request_id is required: 1 to 64 of A-Z a-z 0-9 . _ : -", "request_id");
    const auto where = point_of(*body);
    if (!where) return json_error(res, 400, where.error(), "lon");
    const auto accuracy = accuracy_of(*body);
    if (!accuracy) return json_error(res, 400, accuracy.error(), "accuracy_m");
    nlohmann::json photos = nlohmann::json::array();
    if (body->contains("photos")) {
      const auto& p = body->at("photos");
      if (!p.is_array() || p.size() > kMaxPhotos)
        return json_error(res, 400, fmt::format("photos is a list of at most {} URLs", kMaxPhotos), "photos");
      for (const auto& u : p) {
        const std::string s = u.is_string() ? u.get<std::string>() : "";
        if (!(s.starts_with("/media/") || s.starts_with("https://") || s.starts_with("http://")) || s.size() > 500)
          return json_error(res, 400, "a photo is the URL POST /api/v1/media answered (or an http(s) URL)", "photos");
        photos.push_back(s);
      }
    }
    const Timestamp now = now_utc();
    Timestamp observed = now;
    if (body->contains("observed_at")) {
      // Reported offline: when the worker saw it, up to a week back.
      const auto t = body->at("observed_at").is_string() ? parse_rfc3339(body->at("observed_at").get<std::string>())
                                                         : Result<Timestamp>(fail(ErrorCode::kParse, "", ""));
      if (!t || *t > now + std::chrono::minutes{5} || *t < now - std::chrono::days{7})
        return json_error(res, 400, "observed_at is an RFC 3339 time within the last 7 days", "observed_at");
      observed = *t;
    }
    nlohmann::json source = {{"id", fmt::format("p-{}-{}", id, *request_id)},
                             {"kind", "patrol"},
                             {"channel", "worker"},
                             {"reporter", "worker:" + id},
                             {"category", cat->code},
                             {"priority", std::string(to_string(cat->default_priority))},
                             {"description", *note},
                             {"evidence", {{"photos", photos}, {"worker", id}, {"grid", *grid}}},
                             {"reported_at", format_rfc3339(observed)},
                             {"observed_at", format_rfc3339(observed)}};
    if (!photos.empty()) source["media_url"] = photos.front();
    if (*accuracy) source["accuracy_m"] = **accuracy;
    const auto placement = Store::Placement::of(areas_.get(), *where);
    auto out = store_->add_source(source, *where, &placement);
    if (!out) {
      spdlog::error("patrol report of {} not stored: {}", id, out.error().message);
      return answer_error(res, out.error(), 400);
    }
    nlohmann::json answer = {{"source_id", out->id}, {"case_id", out->case_id}, {"result", to_string(out->stored)}};
    if (out->stored == Stored::kDuplicate) {
      answer["result"] = "exists";
      answer["replayed"] = true;
      res.set_content(answer.dump(), "application/json");
      return;
    }
    answer["decision"] = out->decision;
    answer["area"] = placement.finest.empty() ? nlohmann::json(nullptr) : nlohmann::json(placement.finest);
    // Outside every configured area no unit owns it: the dispatcher's queue decides.
    if (placement.finest.empty()) answer["queue"] = "dispatcher";
    live_.publish(out->case_id, {{"type", std::string(to_string(out->stored))},
                                 {"case_id", out->case_id},
                                 {"source_id", out->id},
                                 {"event", "open"},
                                 {"category", cat->code}});
    spdlog::info("patrol report {} ({}) by worker {}: {} case {}", out->id, cat->code, id, to_string(out->stored),
                 out->case_id);
    res.status = 201;
    res.set_content(answer.dump(), "application/json");
  });

  // The phone's positions while on duty, in batches: {"shift": ..., "positions": [{at, lon, lat,
  // accuracy_m}]}. A position that is not one is refused (kept as a dead letter); the others count.
  server.post(R"(/api/v1/workers/([^/]+)/track)", [this](const http::Request& req, http::Response& res) {
    const auto who = caller(req, res);
    if (!who) return;
    const std::string id = req.matches[1];
    const auto grid = worker_grid(*who, id, res, fmt::format("send the track of worker {}", id));
    if (!grid) return;
    const auto body = json_body(req, res, {"shift", "positions"},
                                R"({"shift": "2026-12-04-am", "positions": [{"at": "2026-12-04T08:00:00Z", )"
                                R"("lon": 116.4, "lat": 39.9, "accuracy_m": 8}]})");
    if (!body) return;
    const auto shift = text_field(*body, "shift", 64);
    if (!shift || shift->empty()) return json_error(res, 400, "shift is a string of 1 to 64 characters", "shift");
    if (!body->contains("positions") || !body->at("positions").is_array())
      return json_error(res, 400, "positions is a list of {at, lon, lat, accuracy_m}", "positions");
    const auto& list = body->at("positions");
    if (list.size() > kMaxPositions)
      return json_error(res, 400, fmt::format("at most {} positions a batch", kMaxPositions), "positions");
    const Timestamp now = now_utc();
    std::vector<geo::Fix> fixes;
    nlohmann::json refused = nlohmann::json::array();
    for (size_t i = 0; i < list.size(); ++i) {
      const auto& p = list[i];
      std::string why;
      geo::Fix f;
      if (!p.is_object()) {
        why = "a position is an object {at, lon, lat, accuracy_m}";
      } else if (auto t = p.contains("at") && p.at("at").is_string() ? parse_rfc3339(p.at("at").get<std::string>())
                                                                     : Result<Timestamp>(fail(ErrorCode::kParse, "", ""));
                 !t) {
        why = "at is an RFC 3339 time";
      } else if (*t > now + std::chrono::minutes{5}) {
        why = "at is in the future";
      } else if (auto where = point_of(p); !where) {
        why = where.error();
      } else if (auto acc = accuracy_of(p); !acc) {
        why = acc.error();
      } else {
        f = {*t, *where, *acc};
      }
      if (why.empty()) {
        fixes.push_back(f);
        continue;
      }
      refused.push_back({{"index", i}, {"error", why}});
      metrics_.rejected(Error{ErrorCode::kInvalidArgument, why, "track"});
      if (auto st = store_->add_dead_letter("patrol/" + id, why, p.dump(), config_.refusals_kept); !st)
        spdlog::error("dead letter not stored: {}", st.error().message);
    }
    auto previous = store_->last_fix(id);
    if (!previous) return answer_error(res, previous.error(), 400);
    const auto filtered = geo::drop_glitches(*previous, std::move(fixes), config_.patrol.glitch);
    std::vector<Store::PatrolCell> cells;
    if (const auto lattice = patrol_->lattice(*grid))
      cells = patrol_->cells(*lattice, *previous, filtered.kept);
    auto added = store_->add_track(id, *grid, *shift, filtered.kept, cells);
    if (!added) return answer_error(res, added.error(), 400);
    nlohmann::json glitches = nlohmann::json::array();
    for (const auto& g : filtered.glitches) glitches.push_back(format_rfc3339(g.at));
    if (!glitches.empty())
      spdlog::info("track of {}: {} position(s) dropped as GPS jumps", id, glitches.size());
    res.set_content(nlohmann::json({{"worker", id},
                                    {"grid", *grid},
                                    {"stored", *added},
                                    {"repeats", filtered.repeats + filtered.kept.size() - static_cast<size_t>(*added)},
                                    {"glitches", glitches},
                                    {"refused", refused},
                                    {"cells_passed", cells.size()}})
                        .dump(),
                    "application/json");
  });

  // Coverage of a day: the share of each grid's cells passed, per grid and per worker.
  server.get("/api/v1/stats/coverage", [this](const http::Request& req, http::Response& res) {
    const auto who = caller(req, res);
    if (!who) return;
    if (!who->may_read_stats() && who->role != Role::kWorker) return deny(res, *who, "read the coverage");
    const std::string day = day_param(req, *patrol_);
    if (!patrol_->day_bounds(day)) return json_error(res, 400, "date is YYYY-MM-DD", "date");
    std::string only = req.has_param("grid") ? req.get_param_value("grid") : "";
    if (who->role == Role::kWorker) {
      if (!only.empty() && only != who->grid) return deny(res, *who, fmt::format("read the coverage of grid {}", only));
      only = who->grid;  // a worker sees their own grid's
    }
    auto counts = store_->coverage_counts(day);
    if (!counts) return answer_error(res, counts.error(), 400);
    // Every grid that has a worker, and every grid someone walked in.
    std::map<std::string, nlohmann::json> grids;
    for (const ApiToken& t : config_.tokens)
      if (t.role == Role::kWorker && !t.grid.empty()) grids[t.grid]["workers"][t.name] = 0;
    for (const auto& g : counts->at("grids")) grids[g.at("grid")]["visited"] = g.at("visited");
    for (const auto& w : counts->at("workers")) grids[w.at("grid")]["workers"][w.at("worker").get<std::string>()] = w.at("visited");
    nlohmann::json out = nlohmann::json::array();
    for (auto& [code, g] : grids) {
      if (!only.empty() && code != only) continue;
      const auto lattice = patrol_->lattice(code);
      const size_t cells = lattice ? lattice->cells() : 0;
      const auto share = [&](int64_t n) {
        return cells ? nlohmann::json(std::round(1e4 * static_cast<double>(n) / static_cast<double>(cells)) / 1e4) : nlohmann::json(nullptr);
      };
      const int64_t visited = g.value("visited", int64_t{0});
      nlohmann::json workers = nlohmann::json::array();
      const nlohmann::json of_grid = g.value("workers", nlohmann::json::object());
      for (const auto& [w, n] : of_grid.items())
        workers.push_back({{"worker", w}, {"visited", n}, {"share", share(n.get<int64_t>())}});
      out.push_back({{"grid", code}, {"cells", cells}, {"visited", visited}, {"share", share(visited)},
                     {"workers", workers}});
    }
    res.set_content(nlohmann::json({{"date", day},
                                    {"time_zone", config_.patrol.time_zone},
                                    {"cell_m", config_.patrol.cell_m},
                                    {"pass_m", config_.patrol.pass_m},
                                    {"grids", out}})
                        .dump(),
                    "application/json");
  });

  // Today's (or a day's) tracks as lines; a worker sees their own.
  server.get("/api/v1/patrol/tracks", [this](const http::Request& req, http::Response& res) {
    const auto who = caller(req, res, true);
    if (!who) return;
    const auto worker = patrol_view(*who, req.has_param("worker") ? req.get_param_value("worker") : "", who->name,
                                    res, "patrol tracks");
    if (!worker) return;
    const auto bounds = patrol_->day_bounds(day_param(req, *patrol_));
    if (!bounds) return json_error(res, 400, "date is YYYY-MM-DD", "date");
    auto body = store_->tracks_geojson(bounds->first, bounds->second, *worker);
    if (!body) return answer_error(res, body.error(), 400);
    res.set_content(*body, "application/geo+json");
  });

  // The lattice cells of a grid, visited or not on a day (?visited=false: the ones still to walk).
  server.get("/api/v1/patrol/cells", [this](const http::Request& req, http::Response& res) {
    const auto who = caller(req, res, true);
    if (!who) return;
    const auto asked = patrol_view(*who, req.has_param("grid") ? req.get_param_value("grid") : "", who->grid, res,
                                   "patrol cells");
    if (!asked) return;
    const std::string& grid = *asked;
    if (grid.empty()) return json_error(res, 400, "grid is required", "grid");
    const std::string day = day_param(req, *patrol_);
    if (!patrol_->day_bounds(day)) return json_error(res, 400, "date is YYYY-MM-DD", "date");
    const std::string want = req.has_param("visited") ? req.get_param_value("visited") : "";
    if (!want.empty() && want != "true" && want != "false")
      return json_error(res, 400, "visited is true or false (absent: every cell)", "visited");
    const auto lattice = patrol_->lattice(grid);
    if (!lattice) return json_error(res, 404, fmt::format("no grid \"{}\"", printable(grid, 64)), "grid");
    auto visited = store_->visited_cells(day, grid);
    if (!visited) return answer_error(res, visited.error(), 400);
    const int all = lattice->columns() * lattice->rows();
    std::vector<uint8_t> seen(static_cast<size_t>(all), 0);
    for (int c : *visited)
      if (c >= 0 && c < all) seen[static_cast<size_t>(c)] = 1;
    nlohmann::json features = nlohmann::json::array();
    for (int c = 0; c < all; ++c) {
      const bool was = seen[static_cast<size_t>(c)] == 1;
      if (!lattice->in_grid(c) || (want == "true" && !was) || (want == "false" && was)) continue;
      nlohmann::json ring = nlohmann::json::array();
      for (const LonLat& p : lattice->cell_ring(c))
        ring.push_back({std::round(p.lon * 1e7) / 1e7, std::round(p.lat * 1e7) / 1e7});
      features.push_back({{"type", "Feature"},
                          {"id", c},
                          {"geometry", {{"type", "Polygon"}, {"coordinates", {ring}}}},
                          {"properties", {{"grid", grid}, {"cell", c}, {"visited", was}}}});
    }
    res.set_content(nlohmann::json({{"type", "FeatureCollection"}, {"features", features}}).dump(),
                    "application/geo+json");
  });
}

}  // namespace gridwatch::center
