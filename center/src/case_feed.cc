#include "gridwatch/center/center.h"

// The cases other centers change: several centers on one database each stream the cases that
// change to their maps and phones (/api/v1/events). What one center changes reaches the others
// through PostgreSQL (migration 10: a NOTIFY on gw_cases at each commit that changes a case),
// whichever broker the centers use and whatever made the change (an order from the edge, an
// Open311 ticket, a dispatcher's step). A center skips its own changes: it has streamed them
// already, with more detail.
#include <poll.h>

#include <algorithm>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "sql_queries.h"
#include "store_db.h"

namespace gridwatch::center {

std::string Center::application_name() const { return fmt::format("gridwatch-center/{}", config_.id); }

void Center::follow_other_centers() {
  const std::string self = application_name();
  pg_conn* c = nullptr;
  int attempt = 0;
  bool listening = false;  // feed_listening_ told
  auto wait = [&] {
    const auto delay = std::chrono::milliseconds(std::min(5000, 200 * (1 << std::min(attempt++, 5))));
    return !queue_.wait_closed_for(delay);
  };
  while (!live_.closed()) {
    if (!c) {
      c = db::connect_as(config_.conninfo, self + "/listen");
      auto subscribed = PQstatus(c) == CONNECTION_OK ? db::exec(c, sql::listen_cases) : fail(ErrorCode::kUnavailable, PQerrorMessage(c));
      if (!subscribed) {
        spdlog::warn("following other centers' changes: {}", subscribed.error().message);
        PQfinish(c);
        c = nullptr;
        if (!wait()) break;
        continue;
      }
      attempt = 0;
      if (!listening) {
        feed_listening_.set_value();
        listening = true;
      }
    }
    pollfd p{PQsocket(c), POLLIN, 0};
    if (::poll(&p, 1, 500) < 0 && errno != EINTR) continue;
    if (!PQconsumeInput(c)) {
      spdlog::warn("following other centers' changes: {}", PQerrorMessage(c));
      PQfinish(c);
      c = nullptr;
      continue;
    }
    while (PGnotify* n = PQnotifies(c)) {
      const auto j = nlohmann::json::parse(n->extra, nullptr, false);
      PQfreemem(n);
      if (!j.is_object() || !j.contains("case_id") || !j["case_id"].is_string()) continue;
      if (j.value("by", "") == self) continue;
      ++metrics_.changes_from_others;
      live_.publish(j["case_id"].get<std::string>(),
                    {{"type", "changed"}, {"case_id", j["case_id"]}, {"by", j.value("by", "")}});
    }
  }
  if (c) PQfinish(c);
}

}  // namespace gridwatch::center
