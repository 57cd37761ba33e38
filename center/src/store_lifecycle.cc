#include "gridwatch/center/store.h"

// A case's work: lifecycle steps (with dispatch policy from dispatch.h), summons and their
// tasks, overdue flags.

#include <libpq-fe.h>

#include <algorithm>

#include <array>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "gridwatch/center/dispatch.h"
#include "gridwatch/center/merge.h"
#include "gridwatch/geo/distance.h"
#include "gridwatch/platform/services.h"
#include "sql_queries.h"
#include "store_db.h"

namespace gridwatch::center {

using namespace db;  // the store's plumbing (store_db.h)

namespace {

// Where a resolve leads (catalog `verify`) and, for a case to verify on site, who is asked: the
// nearest fresh on-duty worker of its grid other than the resolver (none: the dispatcher).
struct ResolvePlan {
  CaseState to = CaseState::kResolved;
  Param verify_by, verifier, verify_due;
  nlohmann::json detail = nlohmann::json::object();  // joins the step's history detail
};

Result<ResolvePlan> plan_resolve(pg_conn* c, const Catalog& catalog, const std::string& id, const char* category,
                                 bool sensor_saw_it_gone, const std::string& resolver, const TransitionOptions& o) {
  const Category* cat = catalog.find(category);
  if (!cat) return fail(ErrorCode::kInternal, "case of an unknown category", "category");
  ResolvePlan plan;
  plan.to = after_resolve(cat->verify_by, sensor_saw_it_gone);
  plan.verify_by = std::string(to_string(cat->verify_by));
  plan.verify_due = fmt::format("{} milliseconds", cat->verify_within.count());
  plan.detail["verify_by"] = *plan.verify_by;
  if (plan.to == CaseState::kClosed && cat->verify_by == VerifyBy::kSensor)
    plan.detail["verified"] = "a sensor of the case saw the problem gone since it was dispatched";
  if (plan.to != CaseState::kVerifying) return plan;
  plan.detail["verify_due_s"] = std::chrono::duration_cast<std::chrono::seconds>(cat->verify_within).count();
  auto w = exec(c, sql::nearest_worker,
                {id, o.worker_level, fmt::format("{} milliseconds", o.worker_fresh.count()), resolver});
  if (!w) return std::unexpected(w.error());
  if (PQntuples(w->get()) == 1) {
    plan.verifier = PQgetvalue(w->get(), 0, 0);
    plan.detail["verifier"] = *plan.verifier;
    plan.detail["verifier_distance_m"] = std::stod(PQgetvalue(w->get(), 0, 1));
  } else {
    plan.detail["verifier"] = nullptr;
    plan.detail["verifier_why"] = "no other worker of the grid is on duty nearby: the dispatcher verifies";
  }
  return plan;
}

}  // namespace

Result<Store::LockedCase> Store::lock_case(const std::string& id, const char* columns) {
  auto l = lease();
  if (!l) return std::unexpected(l.error());
  auto txn = std::make_unique<Transaction>(l->get());
  if (auto st = txn->begin(); !st) return std::unexpected(st.error());
  auto row = exec(l->get(), fmt::format(fmt::runtime(sql::lock_case), fmt::arg("columns", columns)).c_str(), {id});
  if (!row) return std::unexpected(row.error());
  if (PQntuples(row->get()) == 0) return fail(ErrorCode::kNotFound, fmt::format("no case \"{}\"", id), "id");
  return LockedCase{std::move(*l), std::move(txn), std::move(*row)};
}

Result<Transition> Store::transition(std::string_view case_id, CaseAction action, std::string_view reason,
                                     std::string_view actor, const TransitionOptions& o) {
  const std::string id(case_id);
  auto locked = lock_case(id,
                          "state, category, priority, coalesce(areas, '{}')::text, coalesce(unit_code, ''), "
                          "coalesce(resolved_by, ''), "
                          "coalesce(verified_at >= coalesce(dispatched_at, '-infinity'), false)::text, "
                          "coalesce(assignee, '')");
  if (!locked) return std::unexpected(locked.error());
  pg_conn* c = locked->conn();
  Transaction& txn = *locked->txn;
  const PgResult* cur = &locked->row;
  if (!o.scope.empty())
    if (auto in = case_in_scope(c, id, o.scope); !in) return std::unexpected(in.error());
  if (!o.request_id.empty()) {
    // A phone that sent the step, lost the answer and sends it again gets the first result.
    auto prev = exec(c,
                     sql::step_replayed,
                     {id, o.request_id});
    if (!prev) return std::unexpected(prev.error());
    if (PQntuples(prev->get()) == 1) {
      const std::string was = PQgetvalue(prev->get(), 0, 0);
      if (was != to_string(action))
        return std::unexpected(Error{ErrorCode::kInvalidArgument,
                                     fmt::format("request_id \"{}\" was already used for {} on case \"{}\"",
                                                 o.request_id, was, id),
                                     "request_id"});
      const auto f = parse_case_state(PQgetvalue(prev->get(), 0, 1));
      const auto t = parse_case_state(PQgetvalue(prev->get(), 0, 2));
      if (!f || !t) return std::unexpected(Error{ErrorCode::kInternal, "unknown state in the history", "state"});
      return Transition{*f, *t, PQgetvalue(prev->get(), 0, 3), PQgetvalue(prev->get(), 0, 4),
                        PQgetvalue(prev->get(), 0, 5), true};
    }
  }
  const auto from = parse_case_state(PQgetvalue(cur->get(), 0, 0));
  if (!from) return std::unexpected(Error{ErrorCode::kInternal, "unknown state in the database", "state"});
  // The resident's evaluation of a case already closed (verified on site before the call-back)
  // is kept; the case stays closed.
  const bool evaluation_only = action == CaseAction::kClose && *from == CaseState::kClosed && !o.satisfaction.empty();
  auto to = evaluation_only ? Result<CaseState>(CaseState::kClosed) : next_state(*from, action);
  if (!to) return std::unexpected(to.error());
  // Separation of duties: whoever resolved the case, or is the worker it was dispatched to, did
  // the work and does not verify it.
  const std::string resolver = PQgetvalue(cur->get(), 0, 5), assignee = PQgetvalue(cur->get(), 0, 7);
  if ((action == CaseAction::kVerify || action == CaseAction::kRefuse) && (resolver == actor || assignee == actor))
    return fail(ErrorCode::kDenied,
                fmt::format("{} {} case \"{}\" and may not verify their own work: another worker of the grid "
                            "or the dispatcher does",
                            actor, resolver == actor ? "resolved" : "was dispatched", id),
                "action");
  if (action == CaseAction::kResolve) {
    // 吹哨报到: the case is done when every summoned unit is.
    auto open = exec(c,
                     sql::open_summons,
                     {id});
    if (!open) return std::unexpected(open.error());
    if (!PQgetisnull(open->get(), 0, 0))
      return std::unexpected(Error{ErrorCode::kInvalidArgument,
                            fmt::format("cannot resolve case \"{}\": summoned units have not finished: {}", id,
                                        PQgetvalue(open->get(), 0, 0)),
                            "action"});
  }
  nlohmann::json detail = {{"from", std::string(to_string(*from))},
                           {"to", std::string(to_string(*to))},
                           {"reason", std::string(reason)}};
  if (!o.request_id.empty()) detail["request_id"] = o.request_id;
  if (!o.photo_url.empty()) detail["photo_url"] = o.photo_url;
  Param unit, department, respond_s, resolve_s, satisfaction, worker;
  ResolvePlan verification;
  if (action == CaseAction::kResolve) {
    auto plan = plan_resolve(c, *catalog_, id, PQgetvalue(cur->get(), 0, 1),
                             std::string_view(PQgetvalue(cur->get(), 0, 6)) == "true", std::string(actor), o);
    if (!plan) return std::unexpected(plan.error());
    verification = std::move(*plan);
    to = verification.to;
    detail["to"] = std::string(to_string(*to));
    detail.update(verification.detail);
  }
  if (action == CaseAction::kDispatch) {
    // Straight to the unit that owns the place (直派), unless the dispatcher names one; after a
    // 退单 only a named unit (dispatch.h).
    const auto areas = nlohmann::json::parse(PQgetvalue(cur->get(), 0, 3), nullptr, false);
    auto routed = route_dispatch({.named_unit = o.unit, .from = *from, .areas = &areas, .dispatch_level = o.dispatch_level});
    if (!routed && routed.error() == RouteRefusal::kRejectedNameAUnit) {
      auto by = exec(c, sql::last_rejecter,
                     {id});
      if (!by) return std::unexpected(by.error());
      return std::unexpected(Error{ErrorCode::kInvalidArgument,
                            fmt::format("case \"{}\" was rejected by {} (unit {}): name the unit to dispatch to", id,
                                        PQntuples(by->get()) ? PQgetvalue(by->get(), 0, 0) : "?",
                                        PQgetvalue(cur->get(), 0, 4)),
                            "unit"});
    }
    if (!routed)
      return std::unexpected(Error{ErrorCode::kInvalidArgument,
                            fmt::format("case \"{}\" is in no {} area (dispatcher queue): name the unit to dispatch to",
                                        id, o.dispatch_level),
                            "unit"});
    const std::string& u = *routed;
    const Category* cat = catalog_->find(o.category.empty() ? std::string(PQgetvalue(cur->get(), 0, 1)) : o.category);
    if (!cat && !o.category.empty())
      return std::unexpected(Error{ErrorCode::kInvalidArgument,
                                   fmt::format("category \"{}\" is not a category of the catalog", o.category),
                                   "category"});
    if (!cat) return std::unexpected(Error{ErrorCode::kInternal, "case of an unknown category", "category"});
    if (!o.category.empty()) {
      // The dispatcher's category (智能派单: a suggestion accepted, or another): the case takes it,
      // and it is kept as a training label.
      detail["category"] = {{"from", PQgetvalue(cur->get(), 0, 1)}, {"to", cat->code}};
      if (auto t = exec(c, sql::set_case_category, {id, cat->code, std::string(to_string(cat->default_priority))}); !t)
        return std::unexpected(t.error());
      if (auto t = exec(c, sql::refresh_case, {id}); !t) return std::unexpected(t.error());
      if (auto t = exec(c, sql::insert_label, {id, cat->code, std::string(actor)}); !t) return std::unexpected(t.error());
    }
    Priority priority = parse_priority(PQgetvalue(cur->get(), 0, 2)).value_or(cat->default_priority);
    // the dispatcher's category: the more urgent of the case's priority and the category's
    if (!o.category.empty()) priority = std::min(priority, cat->default_priority);
    const Sla sla = dispatch_sla(*catalog_, *cat, priority);
    const Duration respond = sla.respond, resolve = sla.resolve;
    unit = u;
    department = cat->department_code;
    respond_s = fmt::format("{} milliseconds", respond.count());
    resolve_s = fmt::format("{} milliseconds", resolve.count());
    detail["unit"] = u;
    detail["department"] = cat->department_code;
    // And to the nearest grid worker on duty in the case's area, when one reported lately.
    auto w = exec(c, sql::nearest_worker,
                  {id, o.worker_level, fmt::format("{} milliseconds", o.worker_fresh.count()), ""});
    if (!w) return std::unexpected(w.error());
    if (PQntuples(w->get()) == 1) {
      worker = PQgetvalue(w->get(), 0, 0);
      detail["worker"] = *worker;
      detail["worker_distance_m"] = std::stod(PQgetvalue(w->get(), 0, 1));
    }
  }
  if (!o.satisfaction.empty()) {
    satisfaction = o.satisfaction;
    detail["satisfaction"] = o.satisfaction;
  }
  auto up = exec(c, sql::take_step,
                 {id, std::string(to_string(*to)), std::string(to_string(action)), std::string(actor), detail.dump(),
                  unit, department, respond_s, resolve_s, satisfaction, worker, verification.verify_by,
                  verification.verifier, verification.verify_due});
  if (!up) return std::unexpected(up.error());
  const std::string at = PQgetvalue(up->get(), 0, 0);
  // Summons end with the round of work that made them: a case sent back, cancelled, marked a
  // duplicate or dispatched again no longer waits for them (nor can they resolve it).
  if (action == CaseAction::kReject || action == CaseAction::kCancel || action == CaseAction::kMarkDuplicate ||
      action == CaseAction::kDispatch)
    if (auto t = exec(c,
                      sql::cancel_summons,
                      {id});
        !t)
      return std::unexpected(t.error());
  // The resident says it is not fixed: an earlier sensor verification no longer holds.
  if (action == CaseAction::kReopen)
    if (auto v = exec(c, sql::unverify_case, {id}); !v)
      return std::unexpected(v.error());
  if (auto st = txn.commit(); !st) return std::unexpected(st.error());
  Transition out{*from, *to, at, unit.value_or(""), worker.value_or("")};
  out.verifier = verification.verifier.value_or("");
  return out;
}

Status Store::check_scope(std::string_view case_id, const Scope& scope) {
  auto l = lease();
  if (!l) return std::unexpected(l.error());
  return case_in_scope(l->get(), std::string(case_id), scope);
}

Result<std::string> Store::summon(std::string_view case_id, const std::vector<std::string>& units,
                                  std::string_view reason, std::string_view actor, const Scope& scope) {
  const std::string id(case_id);
  auto locked = lock_case(id, "state");
  if (!locked) return std::unexpected(locked.error());
  pg_conn* c = locked->conn();
  Transaction& txn = *locked->txn;
  const PgResult* cur = &locked->row;
  if (auto in = case_in_scope(c, id, scope); !in) return std::unexpected(in.error());
  const std::string state = PQgetvalue(cur->get(), 0, 0);
  // The unit that holds the case blows the whistle while it works on it.
  if (state != "accepted" && state != "in_progress")
    return std::unexpected(Error{ErrorCode::kInvalidArgument,
                          fmt::format("cannot summon units to a case that is {} (summon needs: accepted, in_progress)",
                                      state),
                          "action"});
  const nlohmann::json detail = {{"units", units}, {"reason", std::string(reason)}, {"state", state}};
  auto up = exec(c, sql::summon_units,
                 {id, text_array(units), std::string(actor), std::string(reason), detail.dump()});
  if (!up) return std::unexpected(up.error());
  if (PQntuples(up->get()) != 1) return std::unexpected(Error{ErrorCode::kInvalidArgument, "no unit to summon", "units"});
  const std::string at = PQgetvalue(up->get(), 0, 0);
  if (auto u = exec(c, sql::touch_case, {id}); !u) return std::unexpected(u.error());
  if (auto st = txn.commit(); !st) return std::unexpected(st.error());
  return at;
}

Result<TaskStep> Store::task_step(std::string_view case_id, std::string_view unit, TaskAction action,
                                  std::string_view note, std::string_view actor,
                                  const TransitionOptions& options) {
  const std::string id(case_id), u(unit);
  // The case first, then its sub-task: read after the lock, so two answers of one unit, or an
  // answer and a new summons, are taken one after the other.
  auto locked = lock_case(id, "state, category, "
                              "coalesce(verified_at >= coalesce(dispatched_at, '-infinity'), false)::text");
  if (!locked) return std::unexpected(locked.error());
  pg_conn* c = locked->conn();
  Transaction& txn = *locked->txn;
  const PgResult* cur = &locked->row;
  auto task = exec(c, sql::lock_task, {id, u});
  if (!task) return std::unexpected(task.error());
  if (PQntuples(task->get()) == 0)
    return std::unexpected(Error{ErrorCode::kNotFound, fmt::format("unit {} was not summoned to case \"{}\"", u, id), "unit"});
  const std::string case_state = PQgetvalue(cur->get(), 0, 0), task_state = PQgetvalue(task->get(), 0, 0);
  const bool ack = action == TaskAction::kAcknowledge;
  const char* needs = ack ? "summoned" : "acknowledged";
  if (task_state != needs)
    return std::unexpected(Error{ErrorCode::kInvalidArgument,
                          fmt::format("cannot {} a sub-task that is {} ({} needs: {})", ack ? "acknowledge" : "finish",
                                      task_state, ack ? "acknowledge" : "finish", needs),
                          "action"});
  TaskStep out;
  out.state = ack ? "acknowledged" : "done";
  auto up = exec(c, sql::task_step,
                 {id, u, out.state, std::string(note), ack ? "task_acknowledged" : "task_done", std::string(actor)});
  if (!up) return std::unexpected(up.error());
  out.at = PQgetvalue(up->get(), 0, 0);
  out.case_state = case_state;
  if (!ack) {
    // The last unit done resolves a case that is being worked on.
    auto rest = exec(c, sql::open_summons_count,
                     {id});
    if (!rest) return std::unexpected(rest.error());
    const auto cs = parse_case_state(case_state);
    if (std::string_view(PQgetvalue(rest->get(), 0, 0)) == "0" && cs && next_state(*cs, CaseAction::kResolve)) {
      auto plan = plan_resolve(c, *catalog_, id, PQgetvalue(cur->get(), 0, 1),
                               std::string_view(PQgetvalue(cur->get(), 0, 2)) == "true", std::string(actor),
                               options);
      if (!plan) return std::unexpected(plan.error());
      nlohmann::json detail = {{"from", case_state}, {"to", std::string(to_string(plan->to))},
                               {"reason", "every summoned unit has finished"}};
      detail.update(plan->detail);
      auto res = exec(c, sql::resolve_by_summons,
                      {id, std::string(actor), detail.dump(), std::string(to_string(plan->to)), plan->verify_by,
                       plan->verifier, plan->verify_due});
      if (!res) return std::unexpected(res.error());
      out.case_state = std::string(to_string(plan->to));
      out.resolved_case = true;
    }
  }
  if (auto st = txn.commit(); !st) return std::unexpected(st.error());
  return out;
}

Result<nlohmann::json> Store::mark_overdue(Timestamp now) {
  auto l = lease();
  if (!l) return std::unexpected(l.error());
  pg_conn* c = l->get();
  Transaction txn(c);
  if (auto st = txn.begin(); !st) return std::unexpected(st.error());
  const std::string t = format_rfc3339(now);
  nlohmann::json out = nlohmann::json::array();
  // Several centers on one database: one checks at a time; the others find nothing to do (what
  // the first flags is flagged once).
  auto lock = exec(c, sql::sla_lock, {});
  if (!lock) return std::unexpected(lock.error());
  if (std::string_view(PQgetvalue(lock->get(), 0, 0)) != "t") {
    spdlog::debug("SLA check: another center is checking now");
    return out;
  }
  // Not accepted in time, then not resolved in time: each flagged once per dispatch; not verified
  // in time, once per resolve.
  const char* const kChecks[][2] = {
      {"respond", sql::overdue_respond},
      {"resolve", sql::overdue_resolve},
      {"verify", sql::overdue_verify}};
  for (const auto& check : kChecks) {
    auto r = exec(c, check[1], {t});
    if (!r) return std::unexpected(r.error());
    for (int i = 0; i < PQntuples(r->get()); ++i) {
      nlohmann::json late = {{"case_id", PQgetvalue(r->get(), i, 0)},
                             {"overdue", check[0]},
                             {"due", PQgetvalue(r->get(), i, 1)},
                             {"state", PQgetvalue(r->get(), i, 2)},
                             {"at", t}};
      auto h = exec(c, sql::overdue_history,
                    {late["case_id"].get<std::string>(), late.dump()});
      if (!h) return std::unexpected(h.error());
      out.push_back(std::move(late));
    }
  }
  if (auto st = txn.commit(); !st) return std::unexpected(st.error());
  return out;
}

}  // namespace gridwatch::center
