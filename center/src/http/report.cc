// Route: a report's figures (docs/reports.md); the wall screen reads its KPIs, trends, categories
// and ranking from it, and `gridwatch report` writes the same figures into a file. Who may read
// the rates may read it.
#include <nlohmann/json.hpp>

#include "answers.h"
#include "gridwatch/center/center.h"
#include "gridwatch/center/report.h"

namespace gridwatch::center {

void Center::add_report_routes(http::Server& server) {
  // ?kind=daily|weekly|monthly|span&from=&to=&tz=&area=&level=&spatial=false
  server.get("/api/v1/report", [this](const http::Request& req, http::Response& res) {
    const auto who = caller(req, res);
    if (!who) return;
    if (!who->may_read_stats()) return deny(res, *who, "read the reports");
    auto q = parse_report_query(req.params, *areas_, config_.analytics, now_utc());
    if (!q) return json_error(res, 400, q.error().message, q.error().field);
    auto out = build_report(*store_, *areas_, catalog_, *q);
    if (!out) return answer_error(res, out.error(), 400);
    res.set_content(out->dump(), "application/json");
  });
}

}  // namespace gridwatch::center
