#include "gridwatch/center/center.h"

#include <fmt/format.h>

namespace gridwatch::center {

void Metrics::rejected(const Error& e) {
  std::lock_guard lock(mu_);
  ++rejected_[{std::string(to_string(e.code)), e.field}];
}

uint64_t Metrics::rejected_total() const {
  std::lock_guard lock(mu_);
  uint64_t n = 0;
  for (const auto& [k, v] : rejected_) n += v;
  return n;
}

std::string Metrics::render(size_t queue_depth, bool mqtt_connected, bool mqtt_subscribed, bool db_ok) const {
  std::string out;
  auto counter = [&](const char* name, const char* help, uint64_t v) {
    out += fmt::format("# HELP {0} {1}\n# TYPE {0} counter\n{0} {2}\n", name, help, v);
  };
  auto gauge = [&](const char* name, const char* help, uint64_t v) {
    out += fmt::format("# HELP {0} {1}\n# TYPE {0} gauge\n{0} {2}\n", name, help, v);
  };
  counter("gw_center_messages_received_total", "Order messages received over MQTT.", received);
  counter("gw_center_orders_stored_total", "Order events stored.", stored);
  counter("gw_center_orders_duplicate_total", "Order events received again and ignored.",
          duplicates);
  counter("gw_center_reports_merged_total",
          "Reports (edge orders and tickets) that joined an existing case.", merged);
  counter("gw_center_tickets_stored_total", "Hotline tickets stored (Open311 and imports).",
          tickets);
  counter("gw_center_store_retries_total", "Store attempts retried after a database error.",
          store_retries);
  out += "# HELP gw_center_messages_rejected_total Messages rejected, by reason and field.\n"
         "# TYPE gw_center_messages_rejected_total counter\n";
  {
    std::lock_guard lock(mu_);
    if (rejected_.empty()) out += "gw_center_messages_rejected_total{reason=\"none\",field=\"\"} 0\n";
    for (const auto& [k, v] : rejected_)
      out += fmt::format("gw_center_messages_rejected_total{{reason=\"{}\",field=\"{}\"}} {}\n",
                         k.first, k.second, v);
  }
  gauge("gw_center_ingest_queue_depth", "Messages waiting to be stored.", queue_depth);
  counter("gw_center_publish_failures_total",
          "Messages the center could not hand to the broker (lifecycle updates, clip requests).",
          publish_failures);
  counter("gw_center_changes_from_others_total",
          "Cases changed through other centers on the database, streamed to this one's /api/v1/events.",
          changes_from_others);
  out += "# HELP gw_center_http_limited_total Writes from outside (Open311 posts, photos) answered 429, by what was "
         "limited: a key or token, or a client address (limits.per_key, limits.per_address).\n"
         "# TYPE gw_center_http_limited_total counter\n";
  out += fmt::format("gw_center_http_limited_total{{by=\"key\"}} {}\ngw_center_http_limited_total{{by=\"address\"}} {}\n",
                     limited_by_key.load(), limited_by_address.load());
  gauge("gw_center_mqtt_connected", "1 when connected to the broker.", mqtt_connected);
  gauge("gw_center_mqtt_subscribed",
        "1 when the broker granted every subscription (orders, clip answers); 0 when it refused one or has not answered.",
        mqtt_subscribed);
  gauge("gw_center_database_up", "1 when the database answers.", db_ok);
  return out;
}

std::string Metrics::render_http(const HttpFigures& h) {
  std::string out;
  auto line = [&](const char* name, const char* type, const char* help, uint64_t v) {
    out += fmt::format("# HELP {0} {1}\n# TYPE {0} {2}\n{0} {3}\n", name, help, type, v);
  };
  line("gw_center_http_connections", "gauge", "HTTP connections open (event streams included).", h.connections);
  line("gw_center_http_event_streams", "gauge", "/api/v1/events streams open.", h.streams);
  line("gw_center_http_requests_total", "counter", "HTTP requests answered.", h.requests);
  line("gw_center_http_busy_total", "counter",
       "HTTP requests answered 503 because http.queue requests were already waiting for a worker.", h.busy);
  line("gw_center_http_queued", "gauge", "HTTP requests waiting for a worker.", h.queued);
  return out;
}

}  // namespace gridwatch::center
