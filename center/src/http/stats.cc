// Routes: the service's health and metrics, and the three rates.
#include "gridwatch/center/center.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include "bus.h"
#include "http/answers.h"
#include "http/server.h"

namespace gridwatch::center {

void Center::add_service_routes(http::Server& server) {
  server.get("/healthz", [this](const http::Request&, http::Response& res) {
    bool db = store_ && store_->ping().has_value();
    bool mq = bus_ && bus_->connected();
    const Status subs = bus_ ? bus_->subscription_status() : Status{};
    const bool ok = db && mq && subs.has_value();
    nlohmann::json j = {{"status", ok ? "ok" : "degraded"},
                        {"database", db ? "ok" : "down"},
                        {"mqtt", mq ? "connected" : "disconnected"},
                        {"subscriptions", subs ? "ok" : subs.error().message},
                        {"queue_depth", queue_depth()}};
    res.status = ok ? 200 : 503;
    res.set_content(j.dump(), "application/json");
  });

  server.get("/metrics", [this](const http::Request&, http::Response& res) {
    bool db = store_ && store_->ping().has_value();
    const http::ServerStats h = http_->stats();
    res.set_content(metrics_.render(queue_depth(), bus_ && bus_->connected(),
                                    bus_ && bus_->subscription_status().has_value(), db) +
                        Metrics::render_http({.connections = h.connections, .streams = h.streams,
                                              .requests = h.requests, .busy = h.busy, .queued = h.queued}),
                    "text/plain; version=0.0.4");
  });

  // The three rates and the proactive share: ?by=street&period=month&from=...&to=...&tz=Asia/Shanghai.
  server.get("/api/v1/stats", [this](const http::Request& req, http::Response& res) {
    const auto who = caller(req, res);
    if (!who) return;
    if (!who->may_read_stats()) return deny(res, *who, "read the rates");
    std::vector<std::string> groupings = {"unit", "department"};
    for (const AreaLayerConfig& layer : config_.areas) groupings.push_back(layer.options.level_name);
    auto q = parse_stats_query(req.params, groupings, *areas_, now_utc());
    if (!q) return json_error(res, 400, q.error().message, q.error().field);
    auto out = store_->stats(*q);
    if (!out) return json_error(res, 503, out.error().message);
    (*out)["by"] = q->by;
    (*out)["period"] = q->period;
    (*out)["from"] = format_rfc3339(q->from);
    (*out)["to"] = format_rfc3339(q->to);
    (*out)["time_zone"] = q->time_zone;
    if (!q->area_code.empty()) (*out)["area"] = {{"level", q->area_level}, {"code", q->area_code}};
    res.set_content(out->dump(), "application/json");
  });
}

}  // namespace gridwatch::center
