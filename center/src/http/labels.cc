// Dispatchers' categories as training labels for the text classifier (docs/classify.md), and the
// keeping of suggestions.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "answers.h"
#include "gridwatch/center/center.h"
#include "gridwatch/domain/text.h"

namespace gridwatch::center {
namespace {

std::string csv_field(const std::string& v) {
  if (v.find_first_of(",\"\n\r") == std::string::npos) return v;
  std::string out = "\"";
  for (char c : v) {
    if (c == '"') out += '"';
    out += (c == '\n' || c == '\r') ? ' ' : c;
  }
  return out + "\"";
}

}  // namespace

void Center::record_suggestion(const std::string& source_id, const Suggestion& s) {
  spdlog::info("ticket {}: {}", source_id, s.note);
  if (auto st = store_->record_suggestion(source_id, s.json); !st)
    spdlog::error("suggestion of ticket {} not kept: {}", source_id, st.error().message);
}

void Center::add_label_routes(http::Server& server) {
  // CSV: case_id,text,suggested,category,chosen_by,chosen_at; train with
  // config/tickets/labels.yaml. ?since=RFC 3339, ?limit (default and at most 100000).
  server.get(R"(/api/v1/labels)", [this](const http::Request& req, http::Response& res) {
    const auto who = caller(req, res);
    if (!who) return;
    if (!who->may_export_labels()) return deny(res, *who, "export training labels");
    std::optional<std::string> since;
    if (req.has_param("since")) {
      const std::string v = req.get_param_value("since");
      if (!parse_rfc3339(v)) return json_error(res, 400, "since is an RFC 3339 time", "since");
      since = v;
    }
    size_t limit = 100000;
    if (req.has_param("limit")) {
      const auto n = parse_int_in(req.get_param_value("limit"), 1, 100000);
      if (!n) return json_error(res, 400, "limit is a whole number from 1 to 100000", "limit");
      limit = size_t(*n);
    }
    auto rows = store_->labels(since, limit);
    if (!rows) return json_error(res, 503, rows.error().message);
    std::string out = "case_id,text,suggested,category,chosen_by,chosen_at\n";
    for (const auto& l : *rows)
      out += fmt::format("{},{},{},{},{},{}\n", csv_field(l.case_id), csv_field(l.text), csv_field(l.suggested),
                         csv_field(l.category), csv_field(l.chosen_by), csv_field(l.chosen_at));
    res.set_header("Content-Disposition", "attachment; filename=\"labels.csv\"");
    res.set_content(out, "text/csv; charset=utf-8");
  });
}

}  // namespace gridwatch::center
