// Routes: the steps of a case's lifecycle, the resident's evaluation, merge and split, summons.
#include "gridwatch/center/center.h"

#include <fmt/ranges.h>

#include "gridwatch/domain/text.h"
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include "http/answers.h"
#include "http/server.h"

namespace gridwatch::center {
using http::text_field;

TransitionOptions Center::step_options(const Principal& who) const {
  return {.dispatch_level = config_.dispatch_level, .unit = "", .satisfaction = "", .worker_level = config_.worker_level,
          .worker_fresh = config_.worker_fresh, .scope = who.act_scope(config_.worker_level)};
}

void Center::answer_step(http::Response& res, const std::string& id, CaseAction action, const std::string& reason,
                         const std::string& actor, const TransitionOptions& options) {
  auto t = store_->transition(id, action, reason, actor, options);
  if (!t) return answer_error(res, t.error(), 409);
  nlohmann::json change = {{"case_id", id},
                           {"action", std::string(to_string(action))},
                           {"from", std::string(to_string(t->from))},
                           {"state", std::string(to_string(t->to))},
                           {"state_zh", std::string(name_zh(t->to))},
                           {"at", t->at},
                           {"actor", actor}};
  if (!t->unit.empty()) change["unit"] = t->unit;
  if (!t->worker.empty()) change["worker"] = t->worker;
  if (t->to == CaseState::kVerifying)
    change["verifier"] = t->verifier.empty() ? nlohmann::json(nullptr) : nlohmann::json(t->verifier);
  if (t->replayed) {
    // The same request again (a phone that lost the answer): the first result as the history
    // keeps it, nothing changed or published.
    change["replayed"] = true;
    spdlog::info("case {}: {} request {} sent again by {}: answered with the first result", id, to_string(action),
                 options.request_id, actor);
    return res.set_content(change.dump(), "application/json");
  }
  if (!options.satisfaction.empty()) change["satisfaction"] = options.satisfaction;
  if (!options.photo_url.empty()) change["photo_url"] = options.photo_url;
  publish_case(id, change);
  spdlog::info("case {}: {} ({} -> {}) by {}", id, to_string(action), to_string(t->from), to_string(t->to), actor);
  res.set_content(change.dump(), "application/json");
}

std::optional<Center::CaseRequest> Center::case_request(const http::Request& req, http::Response& res,
                                                        bool (Principal::*may)() const, std::string_view what,
                                                        std::initializer_list<std::string_view> known,
                                                        std::string_view usage) {
  auto who = caller(req, res);
  if (!who) return std::nullopt;
  if (!((*who).*may)()) return deny(res, *who, what), std::nullopt;
  std::string id = req.matches[1];
  if (!is_valid_id(id)) return json_error(res, 400, "malformed case id", "id"), std::nullopt;
  auto body = json_body(req, res, known, usage);
  if (!body) return std::nullopt;
  return CaseRequest{std::move(*who), std::move(id), std::move(*body)};
}

void Center::add_action_routes(http::Server& server) {
  // A step of the case's lifecycle: {"action": "accept", "reason": "...", "actor": "..."}.
  server.post(R"(/api/v1/orders/([^/]+)/actions)", [this](const http::Request& req, http::Response& res) {
    const auto who = caller(req, res);
    if (!who) return;
    const std::string id = req.matches[1];
    if (!is_valid_id(id)) return json_error(res, 400, "malformed case id", "id");
    const auto body = json_body(req, res, {"action", "reason", "unit", "request_id", "photo_url", "category"},
                                R"({"action": "...", "reason": "..."})");
    if (!body) return;
    const auto action_name = text_field(*body, "action"), reason = text_field(*body, "reason"),
               unit = text_field(*body, "unit"), request_id = text_field(*body, "request_id"),
               photo_url = text_field(*body, "photo_url"), category = text_field(*body, "category");
    if (!action_name || !reason || !unit || !request_id || !photo_url || !category)
      return json_error(res, 400,
                        "action, reason, unit, request_id, photo_url and category are strings of at most 1000 characters");
    if (!request_id->empty() && !is_valid_id(*request_id, 64))
      return json_error(res, 400, "request_id is a plain name of at most 64 characters", "request_id");
    if (!photo_url->empty() && !photo_url->starts_with("/media/") && !photo_url->starts_with("https://") &&
        !photo_url->starts_with("http://"))
      return json_error(res, 400, "photo_url is /media/{id} (POST /api/v1/media) or an http(s) URL", "photo_url");
    const auto action = parse_case_action(*action_name);
    if (!action) {
      std::string known;
      for (CaseAction a : kAllActions) known += (known.empty() ? "" : ", ") + std::string(to_string(a));
      return json_error(res, 400, fmt::format("unknown action \"{}\" (known: {})", printable(*action_name), known),
                        "action");
    }
    if (!who->may(*action)) return deny(res, *who, fmt::format("{} a case", to_string(*action)));
    // 核查: a refusal says what is not fixed; a worker's confirmation shows the place as it is now.
    if (*action == CaseAction::kRefuse && reason->empty())
      return json_error(res, 400, "refuse needs a reason: what is not fixed", "reason");
    if (*action == CaseAction::kVerify && who->role == Role::kWorker && photo_url->empty())
      return json_error(res, 400, "verify needs a photo_url: a photo of the place as it is now", "photo_url");
    if (!category->empty() && *action != CaseAction::kDispatch)
      return json_error(res, 400, "category goes with the dispatch action (the dispatcher's category)", "category");
    if (!category->empty() && !catalog_.find(*category))
      return json_error(res, 400, fmt::format("category \"{}\" is not a category of the catalog", printable(*category)),
                        "category");
    TransitionOptions options = step_options(*who);
    options.unit = *unit;
    options.category = *category;
    options.request_id = *request_id;
    options.photo_url = *photo_url;
    answer_step(res, id, *action, *reason, who->name, options);
  });

  // The resident's evaluation of a resolved case: satisfied closes it, not satisfied re-opens it
  // for another dispatch (再派件). {"satisfied": true, "comment": "..."}.
  server.post(R"(/api/v1/orders/([^/]+)/feedback)", [this](const http::Request& req, http::Response& res) {
    const std::string id = req.matches[1];
    if (!is_valid_id(id)) return json_error(res, 400, "malformed case id", "id");
    const auto parsed = json_body(req, res, {"satisfied", "comment", "token"},
                                  R"({"satisfied": true|false, "comment": "...", "token": "..."})");
    if (!parsed) return;
    const nlohmann::json& body = *parsed;
    if (!body.contains("satisfied") || !body.at("satisfied").is_boolean())
      return json_error(res, 400, "satisfied is required: true or false", "satisfied");
    // The resident answers with the token of the ticket (Open311) that is part of the case; the
    // hotline's call-back (回访) is entered by a dispatcher.
    std::string actor = "resident";
    if (body.contains("token")) {
      if (!body.at("token").is_string()) return json_error(res, 400, "token is the ticket's Open311 token", "token");
      auto mine = store_->token_reports(body.at("token").get_ref<const std::string&>(), id);
      if (!mine) return json_error(res, 503, mine.error().message);
      if (!*mine) return json_error(res, 403, fmt::format("the token is not that of a ticket of case \"{}\"", id), "token");
    } else {
      const auto who = caller(req, res);
      if (!who) return;
      if (!who->may_take_feedback()) return deny(res, *who, "enter a resident's evaluation");
      actor = who->name;
    }
    const auto comment = text_field(body, "comment");
    if (!comment) return json_error(res, 400, "comment is a string of at most 1000 characters", "comment");
    const bool satisfied = body.at("satisfied").get<bool>();
    TransitionOptions options = step_options(Principal{.name = actor, .role = Role::kDispatcher, .unit = "", .grid = ""});
    options.satisfaction = satisfied ? "satisfied" : "unsatisfied";
    answer_step(res, id, satisfied ? CaseAction::kClose : CaseAction::kReopen, *comment, actor, options);
  });

  // A dispatcher joins a case into another: {"into": "...", "reason": "..."}.
  server.post(R"(/api/v1/orders/([^/]+)/merge)", [this](const http::Request& req, http::Response& res) {
    const auto r = case_request(req, res, &Principal::may_split, "merge cases", {"into", "reason"},
                                R"({"into": "...", "reason": "..."})");
    if (!r) return;
    const auto& [who, id, body] = *r;
    const auto into = text_field(body, "into"), reason = text_field(body, "reason");
    if (!into || into->empty() || !is_valid_id(*into)) return json_error(res, 400, "into names the case to merge into", "into");
    if (!reason || reason->empty())
      return json_error(res, 400, "a reason is required (it is kept in both cases' history)", "reason");
    auto moved = store_->merge_case(id, *into, *reason, who.name);
    if (!moved) return answer_error(res, moved.error(), 400);
    spdlog::info("case {} merged into {} by {}: {} sources moved", id, *into, who.name, *moved);
    const nlohmann::json answer = {{"case_id", id}, {"into", *into}, {"sources_moved", *moved}, {"state", "duplicate"}};
    publish_case(id, {{"case_id", id}, {"action", "merge"}, {"into", *into}, {"state", "duplicate"}, {"actor", who.name}});
    publish_case(*into, {{"case_id", *into}, {"action", "merged"}, {"from_case", id}, {"actor", who.name}});
    res.set_content(answer.dump(), "application/json");
  });

  // A dispatcher undoes a wrong merge: {"sources": [ids], "reason": "..."} -> the new case.
  server.post(R"(/api/v1/orders/([^/]+)/split)", [this](const http::Request& req, http::Response& res) {
    const auto r = case_request(req, res, &Principal::may_split, "split a case", {"sources", "reason"},
                                R"({"sources": [...], "reason": "..."})");
    if (!r) return;
    const auto& [who, id, body] = *r;
    if (!body.contains("sources") || !body.at("sources").is_array() || body.at("sources").empty())
      return json_error(res, 400, "sources must be a list of the source ids to move", "sources");
    std::vector<std::string> ids;
    for (const auto& v : body.at("sources")) {
      if (!v.is_string() || !is_valid_id(v.get<std::string>()))
        return json_error(res, 400, "sources must be a list of source ids", "sources");
      ids.push_back(v.get<std::string>());
    }
    if (!body.contains("reason") || !body.at("reason").is_string() || body.at("reason").get<std::string>().empty())
      return json_error(res, 400, "a reason is required (it is kept in both cases' history)", "reason");
    auto out = store_->split_case(id, ids, body.at("reason").get<std::string>(), who.name);
    if (!out) return answer_error(res, out.error(), 400);
    spdlog::info("case {} split: {} moved to case {}", id, fmt::join(ids, ", "), *out);
    live_.publish(id, {{"type", "split"}, {"case_id", id}, {"new_case_id", *out}});
    live_.publish(*out, {{"type", "split"}, {"case_id", *out}, {"from_case_id", id}});
    res.set_content(nlohmann::json({{"case_id", id}, {"new_case_id", *out}}).dump(), "application/json");
  });

  // 吹哨报到: {"units": ["water", "housing"], "reason": "..."}.
  server.post(R"(/api/v1/orders/([^/]+)/summon)", [this](const http::Request& req, http::Response& res) {
    const auto r = case_request(req, res, &Principal::may_summon, "summon units", {"units", "reason"},
                                R"({"units": ["..."], "reason": "..."})");
    if (!r) return;
    const auto& [who, id, body] = *r;
    std::vector<std::string> units;
    if (body.contains("units") && body.at("units").is_array())
      for (const auto& u : body.at("units"))
        if (u.is_string() && is_valid_id(u.get_ref<const std::string&>(), 64) &&
            std::find(units.begin(), units.end(), u.get<std::string>()) == units.end())
          units.push_back(u.get<std::string>());
    if (units.empty() || units.size() != body.at("units").size() || units.size() > 20)
      return json_error(res, 400, "units must be a list of 1-20 different unit codes", "units");
    const auto reason = text_field(body, "reason");
    if (!reason || reason->empty())
      return json_error(res, 400, "a reason of at most 1000 characters is required", "reason");
    auto at = store_->summon(id, units, *reason, who.name, who.act_scope(config_.worker_level));
    if (!at) return answer_error(res, at.error(), 409);
    const nlohmann::json change = {{"case_id", id}, {"action", "summon"}, {"units", units}, {"at", *at},
                                   {"actor", who.name}};
    publish_case(id, change);
    spdlog::info("case {}: {} summoned {}", id, who.name, fmt::join(units, ", "));
    res.set_content(change.dump(), "application/json");
  });

  // A summoned unit's step: {"action": "acknowledge" | "finish", "note": "..."}.
  server.post(R"(/api/v1/orders/([^/]+)/tasks/([^/]+)/actions)", [this](const http::Request& req,
                                                                       http::Response& res) {
    const auto who = caller(req, res);
    if (!who) return;
    const std::string id = req.matches[1], unit = req.matches[2];
    if (!is_valid_id(id) || !is_valid_id(unit, 64)) return json_error(res, 400, "malformed case id or unit", "id");
    if (!who->may_answer_summons(unit)) return deny(res, *who, fmt::format("answer the summons of unit {}", unit));
    const auto body = json_body(req, res, {"action", "note"}, R"({"action": "acknowledge" | "finish", "note": "..."})");
    if (!body) return;
    const auto action = text_field(*body, "action"), note = text_field(*body, "note");
    if (!action || (*action != "acknowledge" && *action != "finish"))
      return json_error(res, 400, "action must be \"acknowledge\" or \"finish\"", "action");
    if (!note) return json_error(res, 400, "note is a string of at most 1000 characters", "note");
    auto step = store_->task_step(id, unit, *action == "acknowledge" ? TaskAction::kAcknowledge : TaskAction::kFinish,
                                  *note, who->name, step_options(*who));
    if (!step) return answer_error(res, step.error(), 409);
    nlohmann::json change = {{"case_id", id},       {"action", *action == "acknowledge" ? "task_acknowledged" : "task_done"},
                             {"unit", unit},        {"task_state", step->state},
                             {"state", step->case_state}, {"at", step->at},
                             {"actor", who->name}};
    if (step->resolved_case) change["resolved"] = true;
    publish_case(id, change);
    spdlog::info("case {}: unit {} {} by {}{}", id, unit, step->state, who->name,
                 step->resolved_case ? "; every summoned unit done, case resolved" : "");
    res.set_content(change.dump(), "application/json");
  });
}

}  // namespace gridwatch::center
