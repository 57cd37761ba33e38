// A report as one HTML page (center/report.h): sections, tables and text written here; the charts
// are drawn in the page by the pages' chart script from the figures embedded as JSON.
#include <cmath>
#include <string>

#include <fmt/format.h>

#include "gridwatch/center/report.h"
#include "gridwatch/domain/text.h"

namespace gridwatch::center {

namespace {

using nlohmann::json;

std::string esc(const json& v) { return xml_escape(v.is_string() ? v.get<std::string>() : v.dump()); }

std::string percent(const json& v) {
  if (v.is_null()) return "—";
  return fmt::format("{:.1f}%", 100.0 * v.get<double>());
}

std::string hours(const json& v) {
  if (v.is_null()) return "—";
  return fmt::format("{:.1f} h", v.get<double>());
}

double count(const json& j, const char* key) { return j.contains(key) && j.at(key).is_number() ? j.at(key).get<double>() : 0; }

// "+12 (+8.5%)" against the span before; "—" when there was nothing before.
std::string change(double now, double before) {
  const double d = now - before;
  if (before <= 0) return fmt::format("{:+.0f}", d);
  return fmt::format("{:+.0f} ({:+.1f}%)", d, 100.0 * d / before);
}

// A rate against the span before, in percentage points.
std::string points(const json& now, const json& before) {
  if (now.is_null() || before.is_null()) return "—";
  return fmt::format("{:+.1f} pp", 100.0 * (now.get<double>() - before.get<double>()));
}

// JSON inside <script>: no < > & at all ("</script>" would end the element, "<!--" would change
// how the parser reads it); inside a JSON string they are written as \u escapes.
std::string script_json(const json& j) {
  const std::string s = j.dump();
  std::string out;
  out.reserve(s.size());
  for (const char c : s) {
    if (c == '<') out += "\\u003c";
    else if (c == '>') out += "\\u003e";
    else if (c == '&') out += "\\u0026";
    else out += c;
  }
  return out;
}

std::string title_of(const json& r) {
  const std::string kind = r.at("kind").get<std::string>();
  const char* zh = kind == "daily" ? "日报" : kind == "weekly" ? "周报" : kind == "monthly" ? "月报" : "报告";
  const char* en = kind == "daily" ? "Daily report" : kind == "weekly" ? "Weekly report"
                   : kind == "monthly" ? "Monthly report" : "Report";
  std::string area = r.contains("area") ? esc(r.at("area").at("name")) + " " : "";
  return fmt::format("{}接诉即办{} · {}{} {}", area, zh, area, en, esc(r.at("label")));
}

constexpr const char* kStyle = R"(
body{font-family:"Noto Sans CJK SC","WenQuanYi Micro Hei",sans-serif;margin:24px auto;max-width:700px;color:#1d2733;font-size:14px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;border-bottom:2px solid #c0392b;padding-bottom:4px;margin-top:28px}
h3{font-size:15px;margin:16px 0 6px}.meta{color:#5b6673;font-size:12px}
table{border-collapse:collapse;width:100%;margin:6px 0}th,td{border:1px solid #d5dbe1;padding:4px 6px;text-align:left}
th{background:#f1f4f7}td.n{text-align:right;font-variant-numeric:tabular-nums}
.kpis{display:grid;grid-template-columns:repeat(4,minmax(0,1fr));gap:8px}.kpi{border:1px solid #d5dbe1;padding:8px}
.kpi b{display:block;font-size:20px}.kpi span{color:#5b6673;font-size:12px}
.chart{width:680px;height:260px;margin:8px 0}.nochart{color:#a33;font-size:12px}
section{break-inside:avoid-page}@page{size:A4;margin:14mm}@media print{body{margin:0;max-width:none}}
)";

void kpi(std::string& h, const std::string& value, const std::string& label, const std::string& note) {
  h += fmt::format(R"(<div class="kpi"><b>{}</b>{}<br><span>{}</span></div>)", value, label, note);
}

void overview(std::string& h, const json& r) {
  const json& t = r.at("totals");
  const json& p = r.at("previous");
  const json& hd = r.at("handling");
  h += R"(<section><h2 id="overview">一、总体情况 Overview</h2><div class="kpis">)";
  kpi(h, fmt::format("{:.0f}", count(t, "cases")), "受理 Cases", "vs before: " + change(count(t, "cases"), count(p, "cases")));
  kpi(h, percent(t.at("proactive_share")), "主动发现 Proactive share", points(t.at("proactive_share"), p.at("proactive_share")));
  kpi(h, fmt::format("{:.0f}", count(hd, "open")), "在办 Open now", fmt::format("超期 overdue {:.0f}", count(hd, "overdue")));
  kpi(h, percent(t.at("response_rate")), "响应率 Response", points(t.at("response_rate"), p.at("response_rate")));
  kpi(h, percent(t.at("resolution_rate")), "解决率 Resolution", points(t.at("resolution_rate"), p.at("resolution_rate")));
  kpi(h, percent(t.at("satisfaction_rate")), "满意率 Satisfaction", points(t.at("satisfaction_rate"), p.at("satisfaction_rate")));
  kpi(h, fmt::format("{:.0f}", count(t, "evaluated")), "评价 Evaluated", fmt::format("满意 satisfied {:.0f}", count(t, "satisfied")));
  kpi(h, fmt::format("{:.0f}", count(t, "dispatched")), "派单 Dispatched", fmt::format("解决 resolved {:.0f}", count(t, "resolved")));
  h += R"(</div><h3>每日受理 Cases per day</h3><div class="chart" data-chart="trend"></div></section>)";
}

void hotspots(std::string& h, const json& r) {
  h += R"(<section><h2 id="hotspots">二、热点与趋势 Hot spots and trends</h2>)";
  h += R"(<h3>主要问题 Top categories</h3><table><tr><th>类别 Category</th><th>受理 Cases</th><th>之前 Before</th><th>变化 Change</th></tr>)";
  for (const json& c : r.at("categories"))
    h += fmt::format(R"(<tr><td>{} {}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td></tr>)",
                     esc(c.at("name_zh")), esc(c.at("name_en")), c.at("cases").dump(), c.at("previous").dump(),
                     change(count(c, "cases"), count(c, "previous")));
  h += R"(</table><div class="chart" data-chart="categories"></div>)";
  if (r.contains("hotspots")) {
    const json& s = r.at("hotspots");
    if (s.contains("error")) {
      h += fmt::format("<p>热点未计算 No hot spots: {}</p>", esc(s.at("error")));
    } else {
      h += fmt::format("<h3>热点 Hot spots</h3><p>{} of {} hexagons ({} m) are hot spots at FDR q = {} over {} – {} ({} cold).</p>",
                       s.at("hot").dump(), s.at("cells").dump(), s.at("size_m").dump(), s.at("q").dump(),
                       esc(s.at("from")), esc(s.at("to")), s.at("cold").dump());
      h += R"(<table><tr><th>位置 Where</th><th>受理 Cases</th><th>z</th></tr>)";
      for (const json& c : s.at("top"))
        h += fmt::format(R"(<tr><td>{} ({:.5f}, {:.5f})</td><td class="n">{}</td><td class="n">{:.2f}</td></tr>)",
                         esc(c.at("where")), c.at("lon").get<double>(), c.at("lat").get<double>(), c.at("count").dump(),
                         c.at("z").is_number() ? c.at("z").get<double>() : 0.0);
      h += "</table>";
    }
  }
  if (r.contains("emerging")) {
    const json& e = r.at("emerging");
    if (e.contains("error")) {
      h += fmt::format("<p>趋势未计算 No trends: {}</p>", esc(e.at("error")));
    } else {
      h += fmt::format("<h3>新增与加剧的热点 Growing problems</h3><p>{} cells are hot and not fading over the 12 weeks to the end of the span.</p>",
                       e.at("growing_cells").dump());
      h += R"(<table><tr><th>位置 Where</th><th>类型 Class</th><th>最近一周 Last week</th></tr>)";
      for (const json& c : e.at("growing"))
        h += fmt::format(R"(<tr><td>{}</td><td>{} {}</td><td class="n">{}</td></tr>)", esc(c.at("where")),
                         esc(c.at("name_zh")), esc(c.at("name_en")), c.at("last").dump());
      h += "</table>";
    }
  }
  if (r.contains("anomalies")) {
    const json& a = r.at("anomalies");
    h += fmt::format("<h3>异常增多 Unusual counts</h3><p>{} of {} series (category group × {}) above their 28 days.</p>",
                     a.at("alarms").size(), a.at("series").dump(), esc(a.at("level")));
    if (!a.at("alarms").empty()) {
      h += R"(<table><tr><th>单位 Unit</th><th>问题 Group</th><th>当日 Day</th><th>预期 Expected</th></tr>)";
      for (const json& it : a.at("alarms"))
        h += fmt::format(R"(<tr><td>{}</td><td>{}</td><td class="n">{}</td><td class="n">{:.1f}</td></tr>)",
                         esc(it.at("area_name")), esc(it.at("group")), it.at("today").dump(), it.at("expected").get<double>());
      h += "</table>";
    }
  }
  h += "</section>";
}

void handling(std::string& h, const json& r) {
  const json& hd = r.at("handling");
  h += R"(<section><h2 id="handling">三、办理与时效 Handling and SLA</h2><table>)";
  h += fmt::format(R"(<tr><th>响应超时 Responded late</th><td class="n">{:.0f}</td><th>办结超时 Resolved late</th><td class="n">{:.0f}</td></tr>)",
                   count(hd, "respond_late"), count(hd, "resolve_late"));
  h += fmt::format(R"(<tr><th>响应时长中位数 Median to respond</th><td class="n">{}</td><th>办结时长中位数 Median to resolve</th><td class="n">{}</td></tr>)",
                   hours(hd.at("median_respond_hours")), hours(hd.at("median_resolve_hours")));
  h += fmt::format(R"(<tr><th>在办 Open now</th><td class="n">{:.0f}</td><th>超期 Overdue now</th><td class="n">{:.0f}</td></tr></table>)",
                   count(hd, "open"), count(hd, "overdue"));
  h += R"(<h3>每日三率 The three rates per day</h3><div class="chart" data-chart="rates"></div></section>)";
}

void ranking(std::string& h, const json& r) {
  const json& u = r.at("units");
  h += R"(<section><h2 id="ranking">四、单位排名 Ranking of units</h2>)";
  if (u.at("rows").empty()) {
    h += "<p>No units (no areas of a ranking level loaded, or no cases).</p></section>";
    return;
  }
  const json& w = r.at("weights");
  h += fmt::format("<p>{} units of level {}, by score = {}×响应率 + {}×解决率 + {}×满意率 (a rate with nothing to count is left out).</p>",
                   u.at("rows").size(), esc(u.at("level")), w.at("response").dump(), w.at("resolution").dump(),
                   w.at("satisfaction").dump());
  h += R"(<table><tr><th>#</th><th>单位 Unit</th><th>受理 Cases</th><th>响应率</th><th>解决率</th><th>满意率</th><th>得分 Score</th></tr>)";
  for (const json& row : u.at("rows"))
    h += fmt::format(R"(<tr><td class="n">{}</td><td>{}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td></tr>)",
                     row.at("rank").dump(), esc(row.at("name")), row.at("cases").dump(), percent(row.at("response_rate")),
                     percent(row.at("resolution_rate")), percent(row.at("satisfaction_rate")), percent(row.at("score")));
  h += R"(</table><div class="chart" data-chart="units"></div></section>)";
}

void proactive(std::string& h, const json& r) {
  const json& t = r.at("totals");
  h += R"(<section><h2 id="proactive">五、未诉先办 Proactive share</h2>)";
  h += fmt::format("<p>{:.0f} of {:.0f} cases ({}) were opened by a camera, a sensor or a grid worker before anyone called; {} the span before.</p>",
                   count(t, "proactive"), count(t, "cases"), percent(t.at("proactive_share")),
                   percent(r.at("previous").at("proactive_share")));
  h += R"(<table><tr><th>来源 Source</th><th>受理 Cases</th></tr>)";
  for (const auto& [kind, n] : r.at("handling").at("by_kind").items())
    h += fmt::format(R"(<tr><td>{}</td><td class="n">{}</td></tr>)", xml_escape(kind), n.dump());
  h += R"(</table><div class="chart" data-chart="proactive"></div></section>)";
}

}  // namespace

std::string report_html(const json& report, std::string_view chart_script) {
  std::string h = R"(<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>)" + title_of(report) +
                  "</title><style>" + kStyle + "</style></head><body>";
  h += "<h1>" + title_of(report) + "</h1>";
  h += fmt::format(R"(<p class="meta">{} – {} ({}) · 对比 against {} · generated {}</p>)", esc(report.at("from")),
                   esc(report.at("to")), esc(report.at("time_zone")), esc(report.at("previous_from")),
                   esc(report.at("generated_at")));
  overview(h, report);
  hotspots(h, report);
  handling(h, report);
  ranking(h, report);
  proactive(h, report);
  h += R"(<section><h2 id="notes">说明 Notes</h2><p class="meta">Cases are counted by the time they were opened; cancelled cases and duplicates are not counted. )"
       R"(Rates as the rates API computes them (docs/api.md); hot spots: Getis-Ord Gi* with the false discovery rate held at q (docs/analytics.md). )"
       R"(“Before” is the span of the same length just before. Open and overdue: when the report was made.</p></section>)";
  h += R"(<script type="application/json" id="gw-report">)" + script_json(report) + "</script>";
  if (chart_script.empty()) {
    h += R"(<p class="nochart">Charts not drawn: the chart script (web/dist/bulletin/bulletin.js) was not found when this report was made.</p>)";
  } else {
    h += "<script>";
    h += chart_script;
    h += "</script>";
  }
  h += "</body></html>\n";
  return h;
}

}  // namespace gridwatch::center
