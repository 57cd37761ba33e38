// gridwatch tickets import: a hotline export in NYC 311's layout into the center's PostGIS, with
// the mapping shipped in config/tickets, placed in community districts. A file the test writes
// (every kind of row, counts known) and the real export (NYC 311, 2011) when it is there.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>
#include <regex>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "gridwatch/classify/dataset.h"
#include "gridwatch/classify/model.h"
#include "gridwatch/classify/sample.h"
#include "gridwatch/domain/catalog.h"
#include "gridwatch/domain/order.h"
#include "support.h"
#include "test_data.h"

namespace gridwatch::testing {
namespace {

const std::string kMapping = std::string(GRIDWATCH_SOURCE_DIR) + "/config/tickets/nyc311.yaml";

struct Summary {
  size_t rows = 0, imported = 0, merged = 0, no_location = 0, rejected = 0, already = 0;
};

std::optional<Summary> parse_summary(const std::string& out) {
  static const std::regex re(
      R"((\d+) rows: (\d+) imported, (\d+) merged into open cases, (\d+) without location \(dispatcher queue\), (\d+) rejected, (\d+) already imported)");
  std::smatch m;
  if (!std::regex_search(out, m, re)) return std::nullopt;
  auto n = [&](size_t i) { return static_cast<size_t>(std::stoul(m[i])); };
  return Summary{n(1), n(2), n(3), n(4), n(5), n(6)};
}

class TicketsImport : public ::testing::Test {
 protected:
  void SetUp() override {
    svc_ = services();
    ASSERT_FALSE(svc_.pg_conninfo.empty());
    dir_ = temp_dir("import");
    static int n = 0;
    tag_ = fmt::format("nyc{}x{}", getpid(), n++);
    // The shipped mapping with ids of this run's own.
    std::string mapping = read_file(kMapping);
    mapping.replace(mapping.find("source: nyc311"), 14, "source: " + tag_);
    write_file(dir_ / "mapping.yaml", mapping);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // The center's configuration, its areas the community districts in `districts` (BoroCD codes).
  void use_districts(const std::string& districts) {
    write_file(dir_ / "center.yaml",
               fmt::format("center:\n  id: import-{}\nbroker:\n  url: {}\ndatabase:\n  conninfo: \"{}\"\n"
                           "areas:\n  - file: {}\n    level: community_district\n    id_property: BoroCD\n",
                           tag_, broker_url_and_account(svc_), svc_.pg_conninfo, districts));
  }

  RunResult import(const std::string& csv) {
    return run_gridwatch_with_input({"tickets", "import", csv, "--mapping", (dir_ / "mapping.yaml").string(), "--config",
                                     (dir_ / "center.yaml").string()},
                                    "");
  }
  int count(const std::string& query, const std::string& param) {
    auto rows = sql(svc_.pg_conninfo, query, {param});
    return rows.empty() ? -1 : std::stoi(rows[0][0]);
  }

  platform::ServiceEndpoints svc_;
  std::filesystem::path dir_;
  std::string tag_;
};

// NYC 311's 41 columns (the Open Data export), in its order.
constexpr const char* kNycHeader =
    "Unique Key,Created Date,Closed Date,Agency,Agency Name,Complaint Type,Descriptor,Location Type,Incident Zip,"
    "Incident Address,Street Name,Cross Street 1,Cross Street 2,Intersection Street 1,Intersection Street 2,"
    "Address Type,City,Landmark,Facility Type,Status,Due Date,Resolution Description,"
    "Resolution Action Updated Date,Community Board,BBL,Borough,X Coordinate (State Plane),"
    "Y Coordinate (State Plane),Open Data Channel Type,Park Facility Name,Park Borough,Vehicle Type,"
    "Taxi Company Borough,Taxi Pick Up Location,Bridge Highway Name,Bridge Highway Direction,Road Ramp,"
    "Bridge Highway Segment,Latitude,Longitude,Location";

// One row in that layout: the given columns set, the others empty; "" position: none.
std::string nyc_row(const std::string& key, const std::string& created, const std::string& type,
                    const std::string& descriptor, const std::string& address, std::optional<LonLat> where) {
  std::map<std::string, std::string> v = {{"Unique Key", key},       {"Created Date", created},
                                          {"Agency", "NYPD"},         {"Complaint Type", type},
                                          {"Descriptor", descriptor}, {"Incident Address", address},
                                          {"Status", "Closed"},       {"Open Data Channel Type", "PHONE"}};
  if (where) {
    v["Latitude"] = fmt::format("{:.12f}", where->lat);
    v["Longitude"] = fmt::format("{:.12f}", where->lon);
    v["Location"] = fmt::format("\"({:.12f}, {:.12f})\"", where->lat, where->lon);
  }
  std::string row;
  std::istringstream columns(kNycHeader);  // no column name holds a comma
  for (std::string c; std::getline(columns, c, ',');) row += (row.empty() && c == "Unique Key" ? "" : ",") + v[c];
  return row;
}

// A file the test writes in NYC 311's layout, with every kind of row, in two community districts
// of its own (a random place per run, so no earlier run's open case is near): counts known exactly.
TEST_F(TicketsImport, GeneratedExportCountsAddUpBadRowsAreKeptAndReimportChangesNothing) {
  std::mt19937_64 rng(std::random_device{}());
  std::uniform_real_distribution<double> u(0, 0.5);
  const double x0 = -75.0 + u(rng), y0 = 39.0 + u(rng);
  auto square = [](const char* code, double x, double y) {
    return fmt::format(R"({{"type": "Feature", "properties": {{"BoroCD": {code}}}, "geometry": {{"type": "Polygon",
      "coordinates": [[[{x0:.12f}, {y0:.12f}], [{x1:.12f}, {y0:.12f}], [{x1:.12f}, {y1:.12f}], [{x0:.12f}, {y1:.12f}], [{x0:.12f}, {y0:.12f}]]]}}}})",
                       fmt::arg("code", code), fmt::arg("x0", x), fmt::arg("y0", y), fmt::arg("x1", x + 0.02), fmt::arg("y1", y + 0.02));
  };
  write_file(dir_ / "districts.geojson", fmt::format(R"({{"type": "FeatureCollection", "features": [{}, {}]}})",
                                                     square("101", x0, y0), square("102", x0 + 0.02, y0)));
  use_districts((dir_ / "districts.geojson").string());
  const double east_40m = 40 / (111'319.49 * std::cos(y0 * M_PI / 180)), north_20m = 20 / 111'195.0;
  const LonLat in101{.lon = x0 + 0.005, .lat = y0 + 0.005}, in102{.lon = x0 + 0.03, .lat = y0 + 0.01};
  const LonLat near101{.lon = in101.lon + east_40m, .lat = in101.lat};
  const LonLat near102{.lon = in102.lon, .lat = in102.lat + north_20m};
  const LonLat outside{.lon = x0 - 0.05, .lat = y0};
  const std::vector<std::string> lines = {
      kNycHeader,
      // line 2: imported in 101; 11:30 PM EDT is 03:30 UTC the next day
      nyc_row("20000001", "07/04/2011 11:30:00 PM", "Noise - Residential", "Loud Music/Party", "12 TEST STREET", in101),
      "1,2,3",  // line 3: too few fields
      // line 4: 40 m away an hour later, a compatible noise: joins the case of line 2
      nyc_row("20000002", "07/05/2011 12:30:00 AM", "Noise - Commercial", "Loud Talking", "14 TEST STREET", near101),
      nyc_row("20000091", "13/45/2011 10:00:00 AM", "Noise - Residential", "", "", in101),  // line 5: bad date
      // line 6: the same place four days later: past the 24 h window, a case of its own
      nyc_row("20000003", "07/08/2011 11:30:00 PM", "Noise - Street/Sidewalk", "Loud Music/Party", "14 TEST STREET",
              near101),
      // line 7: latitude 400.5
      nyc_row("20000092", "07/05/2011 10:00:00 AM", "Odor", "", "", LonLat{.lon = in101.lon, .lat = 400.5}),
      // line 8: imported in 102
      nyc_row("20000010", "03/01/2011 02:27:57 PM", "Illegal Parking", "Blocked Hydrant", "3 TEST AVENUE", in102),
      nyc_row("bad key!", "07/05/2011 10:00:00 AM", "Odor", "", "", in101),  // line 9: bad id
      // line 10: 20 m away half an hour later, parking again: joins the case of line 8
      nyc_row("20000011", "03/01/2011 03:00:00 PM", "Blocked Driveway", "No Access", "5 TEST AVENUE", near102),
      nyc_row("20000093", "07/05/2011 10:00:00 AM", "Odor", "\xC3\x28", "", in101),  // line 11: not UTF-8
      nyc_row("20000020", "07/06/2011 09:00:00 AM", "Dirty Conditions", "Trash", "", outside),  // line 12: no district
      nyc_row("20000021", "07/06/2011 09:05:00 AM", "Street Light Condition", "Out", "", in101),  // line 13: unmapped
      nyc_row("20000030", "07/06/2011 09:10:00 AM", "HEATING", "Entire Building", "", std::nullopt),  // line 14
      nyc_row("20000031", "07/06/2011 09:15:00 AM", "Noise - Park", "Loud Music", "", std::nullopt),  // line 15
      nyc_row("20000032", "07/06/2011 09:20:00 AM", "Sewer", "Catch Basin", "", LonLat{}),  // line 16: 0,0
  };
  write_file(dir_ / "export.csv", fmt::format("{}\n", fmt::join(lines, "\n")));
  const std::string f = (dir_ / "export.csv").string();
  auto r = import(f);
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  auto s = parse_summary(r.out);
  ASSERT_TRUE(s) << r.out;
  EXPECT_EQ(s->rows, 15u);
  EXPECT_EQ(s->imported, 5u) << r.out;  // lines 2, 6, 8, 12, 13
  EXPECT_EQ(s->merged, 2u) << r.out;    // lines 4, 10
  EXPECT_EQ(s->no_location, 3u);        // lines 14, 15, 16
  EXPECT_EQ(s->rejected, 5u) << r.err;  // lines 3, 5, 7, 9, 11
  EXPECT_EQ(s->already, 0u);
  EXPECT_NE(r.out.find("1 rows of 1 unmapped Complaint Type values went to general.other"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find(f + ":3: 3 fields, the header has 41"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(f + ":5: Created Date \"13/45/2011"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(f + ":7: Latitude/Longitude \"400."), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(f + ":9: Unique Key \"bad key!\" is not a usable id"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(f + ":11: not valid UTF-8"), std::string::npos) << r.err;
  EXPECT_EQ(count("SELECT count(*) FROM dead_letters WHERE source LIKE 'import:' || $1 || ':%'", tag_), 5);

  // Stored: ten sources in eight cases, placed in the districts the file draws.
  const std::string like = tag_ + "-%";
  auto key = [&](const char* k) { return tag_ + "-" + k; };
  EXPECT_EQ(count("SELECT count(*) FROM sources WHERE id LIKE $1 AND kind = 'hotline'", like), 10);
  EXPECT_EQ(count("SELECT count(DISTINCT case_id) FROM sources WHERE id LIKE $1", like), 8);
  auto case_of = [&](const std::string& id) { return sql(svc_.pg_conninfo, "SELECT case_id FROM sources WHERE id = $1", {id}); };
  EXPECT_EQ(case_of(key("20000002")), case_of(key("20000001")));
  EXPECT_EQ(case_of(key("20000011")), case_of(key("20000010")));
  EXPECT_NE(case_of(key("20000003")), case_of(key("20000001")));
  auto areas = sql(svc_.pg_conninfo,
                   "SELECT coalesce(area_code, '-') || (CASE WHEN geom IS NULL THEN ' nowhere' ELSE '' END), count(*) "
                   "FROM sources WHERE id LIKE $1 GROUP BY 1 ORDER BY 1",
                   {like});
  std::map<std::string, std::string> by_area;
  for (const auto& row : areas) by_area[row[0]] = row[1];
  EXPECT_EQ(by_area, (std::map<std::string, std::string>{{"101", "4"}, {"102", "2"}, {"-", "1"}, {"- nowhere", "3"}}));
  // Times read in New York's zone (daylight saving time in July, standard time in March); the
  // description joins the mapped columns.
  auto row1 = sql(svc_.pg_conninfo, "SELECT gw_rfc3339(reported_at), description, category FROM sources WHERE id = $1",
                  {key("20000001")});
  ASSERT_EQ(row1.size(), 1u);
  EXPECT_EQ(row1[0][0], "2011-07-05T03:30:00.000Z");
  EXPECT_EQ(row1[0][1], "Noise - Residential / Loud Music/Party / 12 TEST STREET");
  EXPECT_EQ(row1[0][2], "environment.noise");
  EXPECT_EQ(sql(svc_.pg_conninfo, "SELECT gw_rfc3339(reported_at) FROM sources WHERE id = $1", {key("20000010")})[0][0],
            "2011-03-01T19:27:57.000Z");
  EXPECT_EQ(sql(svc_.pg_conninfo, "SELECT category FROM sources WHERE id = $1", {key("20000021")})[0][0], "general.other");
  // Cases without a place wait in the dispatcher's queue.
  EXPECT_EQ(count("SELECT count(*) FROM orders o WHERE o.id LIKE $1 AND o.geom IS NULL AND o.area_code IS NULL", like), 3);

  // Again: every good row already there, nothing stored twice, no case touched.
  const auto before = sql(svc_.pg_conninfo,
                          "SELECT (SELECT count(*) FROM orders WHERE id LIKE $1), (SELECT count(*) FROM order_events "
                          "WHERE order_id LIKE $1), (SELECT count(*) FROM sources WHERE id LIKE $1)",
                          {like});
  auto again = import(f);
  ASSERT_EQ(again.code, 0) << again.err;
  auto s2 = parse_summary(again.out);
  ASSERT_TRUE(s2) << again.out;
  EXPECT_EQ(s2->rows, 15u);
  EXPECT_EQ(s2->already, 10u) << again.out;
  EXPECT_EQ(s2->rejected, 5u);
  EXPECT_EQ(s2->imported + s2->merged + s2->no_location, 0u);
  EXPECT_EQ(sql(svc_.pg_conninfo,
                "SELECT (SELECT count(*) FROM orders WHERE id LIKE $1), (SELECT count(*) FROM order_events "
                "WHERE order_id LIKE $1), (SELECT count(*) FROM sources WHERE id LIKE $1)",
                {like}),
            before);
  EXPECT_EQ(before[0][2], "10");

  // A mapping that names a column the file does not have: refused as a whole, nothing stored.
  std::string mapping = read_file(dir_ / "mapping.yaml");
  mapping.replace(mapping.find("long: Longitude"), 15, "long: Lng");
  write_file(dir_ / "mapping.yaml", mapping);
  auto refused = import(f);
  EXPECT_EQ(refused.code, 2);
  EXPECT_NE(refused.err.find("the header has no column \"Lng\""), std::string::npos) << refused.err;
  EXPECT_EQ(count("SELECT count(*) FROM sources WHERE id LIKE $1", like), 10);
}

using TicketsImportRealData = TicketsImport;

// With classify.model in the center's configuration, every row with a description gets a
// suggestion, and a row whose complaint type the mapping does not know takes the suggested
// category when it is sure enough; a mapped row keeps its own (docs/classify.md).
TEST_F(TicketsImport, UnmappedRowsTakeAConfidentSuggestion) {
  auto normalizer = classify::Normalizer::create();
  ASSERT_TRUE(normalizer.has_value());
  auto model = classify::Model::train(classify::sample_tickets(30, 1), classify::catalog_keywords(Catalog::builtin()),
                                      classify::TrainOptions{.name = "import"}, *normalizer);
  ASSERT_TRUE(model.has_value());
  ASSERT_TRUE(model->save(dir_ / "model.bin").has_value());
  write_file(dir_ / "center.yaml",
             fmt::format("center:\n  id: import-{}\nbroker:\n  url: {}\ndatabase:\n  conninfo: \"{}\"\n"
                         "classify:\n  model: model.bin\n  auto_threshold: 0.5\n",
                         tag_, broker_url_and_account(svc_), svc_.pg_conninfo));
  const LonLat where{.lon = -73.95, .lat = 40.70};
  const std::string sure = "垃圾桶满了没人清理，垃圾箱溢出来了", unsure = "你好";
  const std::string csv = std::string(kNycHeader) + "\n" +
                          nyc_row("1", "03/01/2011 02:27:57 PM", "Street Condition", sure, "", where) + "\n" +
                          nyc_row("2", "03/01/2011 02:28:57 PM", "Noise - Residential", sure, "", std::nullopt) + "\n" +
                          nyc_row("3", "03/01/2011 02:29:57 PM", "Street Condition", unsure, "", std::nullopt) + "\n";
  const auto p_sure = model->predict("Street Condition / " + sure).ranked.front();
  const auto p_unsure = model->predict("Street Condition / " + unsure).ranked.front();
  ASSERT_EQ(p_sure.label, "sanitation.bin_overflow");
  ASSERT_GE(p_sure.p, 0.5);
  ASSERT_LT(p_unsure.p, 0.5) << p_unsure.label;
  write_file(dir_ / "export.csv", csv);
  const RunResult r = import((dir_ / "export.csv").string());
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find(fmt::format("1 rows of unmapped categories took the suggested one (model {}, p >= 0.500)",
                                   model->id())),
            std::string::npos)
      << r.out;
  auto row = [&](const char* key) {
    auto rows = sql(svc_.pg_conninfo,
                    "SELECT category, suggestion->>'category', suggestion->>'filled' FROM sources WHERE id = $1",
                    {fmt::format("{}-{}", tag_, key)});
    return rows.empty() ? std::vector<std::string>{} : rows[0];
  };
  EXPECT_EQ(row("1"), (std::vector<std::string>{"sanitation.bin_overflow", "sanitation.bin_overflow", "true"}));
  EXPECT_EQ(row("2"), (std::vector<std::string>{"environment.noise", "sanitation.bin_overflow", "false"}));
  EXPECT_EQ(row("3"), (std::vector<std::string>{"general.other", p_unsure.label, "false"}));
}

TEST_F(TicketsImportRealData, NycSampleCountsAddUpAndReimportChangesNothing) {
  GW_NEED_DATA(districts, "boundaries/nyc-community-districts.geojson");
  GW_NEED_DATA(tickets, "tickets/nyc-311-sample-2011.csv");
  use_districts(districts);
  auto r = import(tickets);
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  auto s = parse_summary(r.out);
  ASSERT_TRUE(s) << r.out;
  EXPECT_EQ(s->rows, 999u);
  EXPECT_EQ(s->imported + s->merged + s->no_location + s->rejected + s->already, s->rows) << r.out;
  EXPECT_EQ(s->rejected, 0u) << r.err;
  EXPECT_EQ(s->already, 0u);
  // 705 rows have coordinates; the other 294 are kept without a place.
  EXPECT_EQ(s->imported + s->merged, 705u) << r.out;
  EXPECT_EQ(s->no_location, 294u);
  EXPECT_GT(s->merged, 0u) << "repeated complaints at one address join one case";
  EXPECT_NE(r.out.find("went to general.other"), std::string::npos) << r.out;

  const std::string like = tag_ + "-%";
  EXPECT_EQ(count("SELECT count(*) FROM sources WHERE id LIKE $1 AND kind = 'hotline'", like), 999);
  EXPECT_EQ(count("SELECT count(DISTINCT case_id) FROM sources WHERE id LIKE $1", like),
            static_cast<int>(999 - s->merged));
  // Placed in community districts (696 of the 705 land in the board the ticket names; a few
  // positions are on no district at all).
  EXPECT_GE(count("SELECT count(*) FROM sources WHERE id LIKE $1 AND area_code IS NOT NULL", like), 690);
  // Times are read in New York's zone: Unique Key 19937896 was created 03/01/2011 02:27:57 PM EST.
  EXPECT_EQ(sql(svc_.pg_conninfo, "SELECT gw_rfc3339(reported_at) FROM sources WHERE id = $1", {tag_ + "-19937896"})[0][0],
            "2011-03-01T19:27:57.000Z");
  // Cases without a place wait in the dispatcher's queue.
  EXPECT_EQ(count("SELECT count(*) FROM orders o WHERE o.id LIKE $1 AND o.geom IS NULL AND o.area_code IS NULL", like),
            294);

  auto again = import(tickets);
  ASSERT_EQ(again.code, 0) << again.err;
  auto s2 = parse_summary(again.out);
  ASSERT_TRUE(s2) << again.out;
  EXPECT_EQ(s2->already, 999u) << again.out;
  EXPECT_EQ(s2->imported + s2->merged + s2->no_location, 0u);
  EXPECT_EQ(count("SELECT count(*) FROM sources WHERE id LIKE $1", like), 999);
}

TEST_F(TicketsImportRealData, BadRowsAreReportedByLineAndKeptWhileGoodOnesImport) {
  GW_NEED_DATA(districts, "boundaries/nyc-community-districts.geojson");
  GW_NEED_DATA(tickets, "tickets/nyc-311-sample-2011.csv");
  use_districts(districts);
  // The header and three good rows of the sample, with broken rows between them.
  const std::string text = read_file(tickets);
  std::vector<std::string> lines;
  for (size_t pos = 0; pos < text.size();) {
    size_t nl = text.find('\n', pos);
    lines.push_back(text.substr(pos, nl - pos));
    pos = nl == std::string::npos ? text.size() : nl + 1;
  }
  auto with = [&](std::string line, const std::string& from, const std::string& to) {
    line.replace(line.find(from), from.size(), to);
    return line;
  };
  // A row with a position, to break in several ways.
  std::string good;
  for (size_t i = 1; i < lines.size() && good.empty(); ++i)
    if (std::regex_search(lines[i], std::regex(R"(,40\.\d+,-7\d\.\d+,)"))) good = lines[i];
  ASSERT_FALSE(good.empty());
  const std::string key = good.substr(0, good.find(','));
  std::vector<std::string> out = {lines[0],
                                  lines[1],
                                  "1,2,3",                                                     // line 3: too few fields
                                  with(good, key + ",", "99000001,").replace(9, 10, "13/45/2011"),  // line 4: bad date
                                  with(with(good, key + ",", "99000002,"), ",40.", ",400."),   // line 5: bad latitude
                                  with(good, key + ",", "bad key!,"),                          // line 6: bad id
                                  with(good, key + ",", "99000003,") + "\xC3\x28",             // line 7: not UTF-8
                                  std::regex_replace(with(good, key + ",", "99000004,"),         // line 8: 0,0
                                                     std::regex(R"(,40\.\d+,-7\d\.\d+,)"), ",0,0,"),
                                  lines[2]};
  write_file(dir_ / "bad.csv", fmt::format("{}\n", fmt::join(out, "\n")));
  auto r = import((dir_ / "bad.csv").string());
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  auto s = parse_summary(r.out);
  ASSERT_TRUE(s) << r.out;
  EXPECT_EQ(s->rows, 8u);
  EXPECT_EQ(s->rejected, 5u) << r.err;
  EXPECT_EQ(s->imported + s->merged + s->no_location, 3u);
  EXPECT_EQ(count("SELECT count(*) FROM sources WHERE id = $1 AND geom IS NULL", tag_ + "-99000004"), 1)
      << "0,0 is no position";
  const std::string f = (dir_ / "bad.csv").string();
  EXPECT_NE(r.err.find(f + ":3: 3 fields, the header has 41"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(f + ":4: Created Date \"13/45/2011"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(f + ":5: Latitude/Longitude \"400."), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(f + ":6: Unique Key \"bad key!\" is not a usable id"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(f + ":7: not valid UTF-8"), std::string::npos) << r.err;
  EXPECT_EQ(count("SELECT count(*) FROM dead_letters WHERE source LIKE 'import:' || $1 || ':%'", tag_), 5);

  // A mapping that names a column the file does not have: refused as a whole, nothing stored.
  std::string mapping = read_file(dir_ / "mapping.yaml");
  mapping.replace(mapping.find("long: Longitude"), 15, "long: Lng");
  write_file(dir_ / "mapping.yaml", mapping);
  auto refused = import(tickets);
  EXPECT_EQ(refused.code, 2);
  EXPECT_NE(refused.err.find("the header has no column \"Lng\""), std::string::npos) << refused.err;
}

}  // namespace
}  // namespace gridwatch::testing
