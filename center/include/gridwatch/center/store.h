// The center's PostGIS store (libpq). Every statement is parameterized.
//
// open() connects a small pool; migrate() brings the schema to the newest version (versioned
// migrations in schema_migrations, applied under an advisory lock so several centers may start
// at once). apply() is idempotent: an event already stored (same order id, event and
// observed_at) changes nothing and returns kDuplicate. Thread-safe: each call borrows a
// connection from the pool.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "gridwatch/center/analytics/cells.h"
#include "gridwatch/center/history.h"
#include "gridwatch/center/lifecycle.h"
#include "gridwatch/center/queries.h"
#include "gridwatch/center/scope.h"
#include "gridwatch/domain/catalog.h"
#include "gridwatch/domain/error.h"
#include "gridwatch/domain/order.h"
#include "gridwatch/geo/areas.h"
#include "gridwatch/geo/patrol.h"

struct pg_conn;

namespace gridwatch::center {

// What storing a report did to its case.
enum class Stored {
  kNew,        // opened a case
  kMerged,     // joined an open case
  kUpdated,    // a known edge order changed (update, clear)
  kDuplicate,  // stored before: nothing changed (an order sent again, a ticket id taken)
};
// "new", "merged", "updated", "duplicate": the type of the live event (/api/v1/events).
std::string_view to_string(Stored s);
// The result the store's functions (gw_ingest_edge, gw_add_source) give; nullopt for another.
std::optional<Stored> parse_stored(std::string_view result);

struct Transition {
  CaseState from;
  CaseState to;
  std::string at;    // RFC 3339
  std::string unit;  // dispatch: the unit it went to
  std::string worker;  // dispatch: the grid worker it went to ("" when none is on duty nearby)
  bool replayed = false;  // the step of an earlier request with the same request_id (nothing changed)
  std::string verifier;   // resolve to verifying: the worker asked to verify ("" : the dispatcher)
};

enum class TaskAction { kAcknowledge, kFinish };

// A step of a summoned unit's sub-task; when the last one finishes the case resolves.
struct TaskStep {
  std::string state;       // the sub-task's state after the step
  std::string at;          // RFC 3339
  std::string case_state;  // the case's state after the step ("resolved" when this was the last)
  bool resolved_case = false;
};

struct TransitionOptions {
  std::string dispatch_level = "street";  // dispatch: the area level whose code is the unit (直派)
  std::string unit;                       // dispatch: this unit instead
  std::string satisfaction;               // "satisfied" | "unsatisfied": the resident's evaluation
  // dispatch: also to the nearest on-duty grid worker of the case's area of this level whose
  // position is at most `worker_fresh` old
  std::string worker_level = "grid";
  Duration worker_fresh = std::chrono::minutes{15};
  Scope scope;  // the caller may act only on cases in its scope (kDenied otherwise)
  // The client's id of this step: a step sent again with the same id (a phone that lost the
  // answer) returns the first one's result instead of acting twice.
  std::string request_id;
  std::string photo_url;  // a photo of the work (e.g. /media/{id}.jpg), kept in the history
  // dispatch: the dispatcher's category for the case (a suggestion accepted, or another): the
  // case takes it (its SLA and department follow) and it is kept as a training label.
  std::string category;
};

// A photo uploaded by a worker's phone or a resident (POST /api/v1/media, /open311/v2/media).
struct Media {
  std::string content_type;  // image/jpeg | image/png
  std::string bytes;
};

// What storing a report did, and its case.
struct Outcome {
  Stored stored = Stored::kNew;
  std::string case_id;
  std::string id;     // the source's id (a new ticket's number)
  std::string token;  // a new Open311 ticket's token
  nlohmann::json decision;  // the merge decision of a new source, as kept in its case's history
};

class Store {
 public:
  // `catalog` (merge radius, window and compatible categories) must outlive the store.
  // `application_name` names its sessions to PostgreSQL (pg_stat_activity, and the "by" of the
  // change notifications that several centers on one database exchange).
  [[nodiscard]] static Result<std::unique_ptr<Store>> open(const std::string& conninfo, int pool_size,
                                                           const Catalog& catalog = Catalog::builtin(),
                                                           const std::string& application_name = "gridwatch-center");
  ~Store();

  [[nodiscard]] Status migrate();
  [[nodiscard]] Result<int> schema_version();
  // Where an order is: the code of each level that contains it ({"district": "110101", "grid":
  // "110101-g00040007"}) and the finest one.
  struct Placement {
    nlohmann::json levels = nlohmann::json::object();
    std::string finest;
    // The areas of `areas` that contain `where` (empty without either, or outside every area).
    static Placement of(const geo::AreaIndex* areas, std::optional<LonLat> where);
  };
  // Stores an edge order event: a new order id becomes a source that opens or joins a case (see
  // docs/api.md, "Cases and merging"); a known one updates its source and case.
  [[nodiscard]] Result<Outcome> apply(const OrderEvent& event, std::string_view raw_payload,
                                      const Placement* placement = nullptr);
  // Stores many edge order events in one transaction (sent as a libpq pipeline). The outer error
  // is for the whole batch (database unavailable: nothing stored, retry it); an inner error is one
  // event the database refused (kept nowhere; the caller dead-letters it), the others are stored.
  struct EdgeEvent {
    const OrderEvent* event;
    std::string_view raw;
    const Placement* placement;
  };
  [[nodiscard]] Result<std::vector<Result<Outcome>>> apply_batch(const std::vector<EdgeEvent>& events);
  // Adds a hotline ticket (or any source given as the JSON gw_add_source takes: id, kind,
  // channel, reporter, category, priority, reported_at, ...) and decides its case. A source id
  // stored before gives applied = kDuplicate and changes nothing.
  [[nodiscard]] Result<Outcome> add_source(nlohmann::json source, std::optional<LonLat> where,
                                           const Placement* placement = nullptr);
  // A dispatcher joins case `case_id` into `into` (the same problem reported twice, further apart
  // than the merge radius): every source moves, `case_id` becomes a duplicate pointing at `into`.
  // Returns the number of sources moved.
  [[nodiscard]] Result<int> merge_case(std::string_view case_id, std::string_view into, std::string_view reason,
                                       std::string_view actor);
  // Moves `source_ids` out of `case_id` into a new case; returns its id. kNotFound for an unknown
  // case, kInvalidArgument when a source is not in the case or none would be left.
  [[nodiscard]] Result<std::string> split_case(std::string_view case_id,
                                               const std::vector<std::string>& source_ids,
                                               std::string_view reason, std::string_view actor);
  // Sources as rows for open311::request_json: service_request_id, status, service_code,
  // description, requested_datetime, updated_datetime, address, address_id, lat, long,
  // media_url, case_id, source_count.
  [[nodiscard]] Result<nlohmann::json> requests(const RequestQuery& q);
  // True when `token` is the Open311 token of a ticket in case `case_id`.
  [[nodiscard]] Result<bool> token_reports(std::string_view token, std::string_view case_id);
  // The service_request_id of an Open311 token, nullopt when unknown.
  [[nodiscard]] Result<std::optional<std::string>> request_of_token(std::string_view token);
  // Moves a case through its lifecycle (center/lifecycle.h) and keeps the step in its history
  // (who, when, why). Dispatch sends it to the unit owning its place (the code of its
  // `dispatch_level` area, or `unit`) and the department of its category, and starts the SLA
  // clock. kNotFound for an unknown case; kInvalidArgument when the action is not allowed from
  // the case's state (the message names it) or a case in no area is dispatched without a unit.
  [[nodiscard]] Result<Transition> transition(std::string_view case_id, CaseAction action, std::string_view reason,
                                              std::string_view actor, const TransitionOptions& options = {});
  // 吹哨报到: summons `units` to a case being worked on (accepted or in progress); each gets a
  // sub-task to acknowledge and finish. A unit summoned before is summoned again. kInvalidArgument
  // when the case is in another state; kDenied outside the caller's scope.
  [[nodiscard]] Result<std::string> summon(std::string_view case_id, const std::vector<std::string>& units,
                                           std::string_view reason, std::string_view actor, const Scope& scope = {});
  // A summoned unit acknowledges (summoned -> acknowledged) or finishes (acknowledged -> done) its
  // sub-task; the last one done resolves the case. kNotFound when the unit was not summoned.
  [[nodiscard]] Result<TaskStep> task_step(std::string_view case_id, std::string_view unit, TaskAction action,
                                           std::string_view note, std::string_view actor,
                                           const TransitionOptions& options);
  // A grid worker's position (or none) and whether on duty, from the phone.
  [[nodiscard]] Status report_worker(std::string_view id, std::string_view grid, std::optional<LonLat> where,
                                     bool on_duty);
  // GeoJSON FeatureCollection of the workers: id, grid, on_duty, reported_at, open assigned cases.
  [[nodiscard]] Result<std::string> workers_geojson();

  // Patrol tracks (store_patrol.cc, docs/patrol.md). The last position stored of a worker.
  [[nodiscard]] Result<std::optional<geo::Fix>> last_fix(std::string_view worker);
  // A batch of a worker's positions on a shift (kept fixes only), the lattice cells of its grid
  // they passed, per day, and its live position (the last fix) in one transaction. A position
  // already stored (same worker and instant) is not stored twice. The number of new positions.
  struct PatrolCell {
    std::string day;  // YYYY-MM-DD in patrol.time_zone
    int cell = 0;
  };
  [[nodiscard]] Result<int> add_track(std::string_view worker, std::string_view grid, std::string_view shift,
                                      const std::vector<geo::Fix>& fixes, const std::vector<PatrolCell>& cells);
  // Cells visited on `day`: {"grids": [{grid, visited}], "workers": [{grid, worker, visited}]}.
  [[nodiscard]] Result<nlohmann::json> coverage_counts(std::string_view day);
  // The cells of `grid` visited on `day`, ascending.
  [[nodiscard]] Result<std::vector<int>> visited_cells(std::string_view day, std::string_view grid);
  // The tracks in [from, to) as GeoJSON lines, one per worker and shift; `worker` "" for all.
  [[nodiscard]] Result<std::string> tracks_geojson(Timestamp from, Timestamp to, std::string_view worker);
  // Deletes positions older than `keep_days` and coverage of days before `oldest_day`: how many
  // positions went.
  [[nodiscard]] Result<int64_t> trim_patrol(int keep_days, std::string_view oldest_day);
  // The three rates; see StatsQuery. {"groups": [{key, period, cases, ...}], "total": {...}}.
  [[nodiscard]] Result<nlohmann::json> stats(const StatsQuery& q);
  // True when `case_id` exists and is in `scope`; kNotFound / kDenied otherwise.
  [[nodiscard]] Status check_scope(std::string_view case_id, const Scope& scope);
  // Keeps an image; returns its new random id.
  [[nodiscard]] Result<std::string> put_media(const Media& media, std::string_view uploaded_by);
  // The image with that id; nullopt when there is none.
  [[nodiscard]] Result<std::optional<Media>> media(std::string_view id);
  // The open cases whose work is not over (not closed, cancelled or duplicate) in web-map tile
  // q.z/x/y (EPSG:3857) that pass q's filters, limited to q.scope, as a Mapbox Vector Tile with
  // one layer "cases" of points: each case with the map's properties (id, category, state,
  // priority, status, source, overdue, proactive, preempted, reports), or up to zoom 13 the cases
  // near each other as one cluster (point_count, point_count_abbreviated); empty when none.
  [[nodiscard]] Result<std::string> cases_tile(const TileQuery& q);
  // Flags the cases that became late by `now` (dispatched and not accepted by respond_due; not
  // resolved by resolve_due), each once per dispatch, with an "overdue" entry in their history.
  // Returns [{case_id, overdue: "respond"|"resolve", due, state, at}]. Centers sharing the
  // database check one at a time (an advisory lock): while another checks, this one returns [].
  [[nodiscard]] Result<nlohmann::json> mark_overdue(Timestamp now);
  // {"sources": [...], "history": [...]} of a case (empty lists when there is no such case).
  [[nodiscard]] Result<nlohmann::json> case_sources(std::string_view case_id);
  // 智能派单 (store_labels.cc): a hotline source's suggestion, kept with it and in its case's
  // history; the training labels dispatchers' choices made (oldest first, since `since` when
  // given, at most `limit`).
  [[nodiscard]] Status record_suggestion(std::string_view source_id, const nlohmann::json& suggestion);
  struct Label {
    std::string case_id, text, suggested, category, chosen_by, chosen_at;
  };
  [[nodiscard]] Result<std::vector<Label>> labels(std::optional<std::string> since, size_t limit);

  // Analytics (store_analytics.cc): the cases of a window counted per cell and step, with the
  // cells' neighbours (kInvalidArgument: a hexagon grid over kMaxCells; an unknown level).
  [[nodiscard]] Result<analytics::CellGrid> analytics_cells(const analytics::CellQuery& q);
  // Writes generated history (history.h) straight in, each case's unit its area of
  // `dispatch_level`; cases already there are skipped. How many were written.
  [[nodiscard]] Result<size_t> insert_history(std::span<const HistoryCase> cases, const std::string& dispatch_level);
  // The figures of each category group over [from, to) (monthly problems).
  struct MonthGroup {
    std::string group;
    double cases = 0, evaluated = 0, satisfied = 0, departments = 0, dispatched = 0, resolved = 0;
    nlohmann::json samples;  // the three latest cases with a description: id, category, description, opened_at
  };
  [[nodiscard]] Result<std::vector<MonthGroup>> analytics_month_groups(Timestamp from, Timestamp to,
                                                                       const std::string& area_level,
                                                                       const std::string& area_code);
  // Keeps a picked monthly problem (`month` as YYYY-MM); its time (RFC 3339).
  [[nodiscard]] Result<std::string> pick_monthly_problem(const std::string& month, const std::string& group,
                                                         const std::string& by, const std::string& note, double score);
  // The problems picked up to `month` (YYYY-MM), each with its cases per month since (local months).
  [[nodiscard]] Result<nlohmann::json> monthly_problem_tracking(const std::string& month, const std::string& tz);
  // Cases per category group, area of `level` and local day (day 0 is the one `from` falls in).
  [[nodiscard]] Result<std::vector<analytics::DailyCount>> analytics_daily(Timestamp from, Timestamp to, const std::string& tz,
                                                                const std::string& level,
                                                                const analytics::CellQuery& scope);
  // Reports (store_report.cc): cases per category opened in [from, to) ("cases") and in
  // [previous_from, from) ("previous"), busiest first; and how the cases opened in [from, to) were
  // handled: by_kind, respond_late, resolve_late, median_respond_hours, median_resolve_hours (from
  // the first dispatch), with the work open at `now` (open, overdue). An area when its code is set.
  [[nodiscard]] Result<nlohmann::json> report_categories(Timestamp from, Timestamp to, Timestamp previous_from,
                                                         const std::string& area_level, const std::string& area_code);
  [[nodiscard]] Result<nlohmann::json> report_handling(Timestamp from, Timestamp to, Timestamp now,
                                                       const std::string& area_level, const std::string& area_code);
  // Keeps a refused input. With `keep` > 0, the source's letters beyond its newest `keep` are
  // deleted (a source from outside that anyone may flood).
  [[nodiscard]] Status add_dead_letter(std::string_view source, std::string_view reason,
                                       std::string_view payload, size_t keep = 0);
  // A GeoJSON FeatureCollection of the orders matching `q`, newest first.
  [[nodiscard]] Result<std::string> orders_geojson(const OrderQuery& q);
  // A GeoJSON Feature, or nullopt when there is no such order.
  [[nodiscard]] Result<std::optional<std::string>> order_geojson(std::string_view id);
  // Inserts or updates areas (COPY into a temporary table, then one upsert); areas that did not
  // change are not touched. Returns how many rows were inserted or changed.
  [[nodiscard]] Result<size_t> upsert_areas(const std::vector<const geo::Area*>& areas);
  // A GeoJSON FeatureCollection of the stored areas, of one level or all.
  [[nodiscard]] Result<std::string> areas_geojson(std::optional<int> level);
  [[nodiscard]] Status ping();

  // Reads that may be a second stale (the map's list, tiles, the rates, workers' positions) go
  // to `replica` (a store on a streaming replica: database.read_conninfo) from now on; the
  // primary answers them while the replica cannot be reached. Call before sharing the store.
  void set_read_replica(std::unique_ptr<Store> replica) { replica_ = std::move(replica); }

  // Borrowed connection; returned to the pool when destroyed.
  class Lease;

 private:
  Store() = default;
  Result<Lease> lease();
  // A connection for a read that may be stale: the replica's when there is one and it answers.
  Result<Lease> lease_read();
  void give_back(pg_conn* c);
  // Case `id` locked for a change (store_db.h): kNotFound when there is none.
  struct LockedCase;
  Result<LockedCase> lock_case(const std::string& id, const char* columns);

  std::string conninfo_;
  const Catalog* catalog_ = nullptr;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<pg_conn*> idle_;
  int size_ = 0;
  std::unique_ptr<Store> replica_;
};

}  // namespace gridwatch::center
