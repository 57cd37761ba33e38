// A report's page (center/report.h) from figures made here: every section, the numbers as
// people read them, text escaped, and the figures embedded for the chart script.
#include "gridwatch/center/report.h"

#include <gtest/gtest.h>

namespace gridwatch::center {
namespace {

using nlohmann::json;

json figures() {
  const json rates = {{"cases", 200}, {"proactive", 50}, {"dispatched", 180}, {"resolved", 171}, {"evaluated", 100},
                      {"satisfied", 90}, {"response_rate", 0.95}, {"resolution_rate", 0.95},
                      {"satisfaction_rate", 0.9}, {"proactive_share", 0.25}};
  json before = rates;
  before["cases"] = 160;
  before["response_rate"] = 0.9;
  return {{"kind", "weekly"}, {"label", "2026-11-16 – 2026-11-22"}, {"from", "2026-11-15T16:00:00Z"},
          {"to", "2026-11-22T16:00:00Z"}, {"previous_from", "2026-11-08T16:00:00Z"}, {"time_zone", "Asia/Shanghai"},
          {"generated_at", "2026-11-23T08:00:00Z"}, {"totals", rates}, {"previous", before},
          {"daily", json::array({{{"day", "2026-11-16"}, {"cases", 30}}})},
          {"categories", json::array({{{"category", "x"}, {"name_zh", "乱堆物堆料"}, {"name_en", "Dumped <waste> <!--<script>"},
                                       {"cases", 12}, {"previous", 8}}})},
          {"handling", {{"by_kind", {{"hotline", 150}, {"camera", 50}}}, {"respond_late", 3}, {"resolve_late", 4},
                        {"median_respond_hours", 1.25}, {"median_resolve_hours", nullptr}, {"open", 7}, {"overdue", 2}}},
          {"units", {{"level", "street"},
                     {"rows", json::array({{{"rank", 1}, {"code", "s1"}, {"name", "东四街道</script>"}, {"cases", 20},
                                            {"response_rate", 1.0}, {"resolution_rate", nullptr},
                                            {"satisfaction_rate", 0.5}, {"score", 0.5909}}})}}},
          {"weights", {{"response", 0.1}, {"resolution", 0.45}, {"satisfaction", 0.45}}}};
}

TEST(ReportHtml, HasEverySectionAndTheFiguresAsPeopleReadThem) {
  const std::string h = report_html(figures(), "/*charts*/");
  for (const char* heading : {"一、总体情况 Overview", "二、热点与趋势 Hot spots and trends", "三、办理与时效 Handling and SLA",
                              "四、单位排名 Ranking of units", "五、未诉先办 Proactive share", "接诉即办周报"})
    EXPECT_NE(h.find(heading), std::string::npos) << heading;
  EXPECT_NE(h.find("vs before: +40 (+25.0%)"), std::string::npos) << "cases against the week before";
  EXPECT_NE(h.find("+5.0 pp"), std::string::npos) << "the response rate in percentage points";
  EXPECT_NE(h.find("<td class=\"n\">1.2 h</td>"), std::string::npos) << "median hours to respond";
  EXPECT_NE(h.find("<td class=\"n\">—</td>"), std::string::npos) << "no resolved case: a dash, not 0";
  EXPECT_NE(h.find("+4 (+50.0%)"), std::string::npos) << "a category against before";
  EXPECT_NE(h.find("59.1%"), std::string::npos) << "the unit's score";
  EXPECT_NE(h.find("<script>/*charts*/</script>"), std::string::npos);
  EXPECT_EQ(h.find("Charts not drawn"), std::string::npos);
}

TEST(ReportHtml, EscapesTextAndKeepsTheEmbeddedFiguresInsideTheirScript) {
  const std::string h = report_html(figures(), "");
  EXPECT_NE(h.find("Dumped &lt;waste&gt; &lt;!--&lt;script&gt;"), std::string::npos);
  EXPECT_NE(h.find("东四街道&lt;/script&gt;"), std::string::npos);
  const size_t data = h.find(R"(<script type="application/json" id="gw-report">)");
  ASSERT_NE(data, std::string::npos);
  const size_t end = h.find("</script>", data);
  const std::string embedded = h.substr(data, end - data);
  const std::string json_text = embedded.substr(embedded.find('>') + 1);
  EXPECT_EQ(json_text.find_first_of("<>&"), std::string::npos) << "no < > & inside the script element: " << json_text;
  EXPECT_NE(json_text.find(R"(东四街道\u003c/script\u003e)"), std::string::npos);
  EXPECT_EQ(json::parse(json_text), figures()) << "the chart script reads the figures back unchanged";
  EXPECT_NE(h.find("Charts not drawn"), std::string::npos) << "no chart script: said so";
}

TEST(ReportScore, WeighsTheThreeRatesAndLeavesOutThoseWithNothingToCount) {
  EXPECT_DOUBLE_EQ(unit_score({{"response_rate", 1.0}, {"resolution_rate", 0.8}, {"satisfaction_rate", 0.6}}).get<double>(),
                   0.1 * 1.0 + 0.45 * 0.8 + 0.45 * 0.6);
  EXPECT_DOUBLE_EQ(unit_score({{"response_rate", 1.0}, {"resolution_rate", nullptr}, {"satisfaction_rate", 0.5}}).get<double>(),
                   (0.1 * 1.0 + 0.45 * 0.5) / 0.55);
  EXPECT_TRUE(unit_score({{"response_rate", nullptr}, {"resolution_rate", nullptr}, {"satisfaction_rate", nullptr}}).is_null());
}

}  // namespace
}  // namespace gridwatch::center
