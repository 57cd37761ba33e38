// gridwatch tickets import: a real hotline export (NYC 311, 2011) into the center's PostGIS, with
// the mapping shipped in config/tickets, placed in NYC's community districts.
#include <gtest/gtest.h>

#include <regex>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "support.h"

namespace gridwatch::testing {
namespace {

const std::string kShared = std::string(GRIDWATCH_SHARED_DIR) + "/data";
const std::string kTickets = kShared + "/tickets/nyc-311-sample-2011.csv";
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
    tag_ = fmt::format("nyc{}", getpid());
    write_file(dir_ / "center.yaml",
               fmt::format("center:\n  id: import-{}\nbroker:\n  url: {}\ndatabase:\n  conninfo: \"{}\"\n"
                           "areas:\n  - file: {}\n    level: community_district\n    id_property: BoroCD\n",
                           tag_, broker_url_and_account(svc_), svc_.pg_conninfo, kShared + "/boundaries/nyc-community-districts.geojson"));
    // The shipped mapping with ids of this run's own (the database is shared with other runs).
    std::string mapping = read_file(kMapping);
    mapping.replace(mapping.find("source: nyc311"), 14, "source: " + tag_);
    write_file(dir_ / "mapping.yaml", mapping);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

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

TEST_F(TicketsImport, NycSampleCountsAddUpAndReimportChangesNothing) {
  auto r = import(kTickets);
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

  auto again = import(kTickets);
  ASSERT_EQ(again.code, 0) << again.err;
  auto s2 = parse_summary(again.out);
  ASSERT_TRUE(s2) << again.out;
  EXPECT_EQ(s2->already, 999u) << again.out;
  EXPECT_EQ(s2->imported + s2->merged + s2->no_location, 0u);
  EXPECT_EQ(count("SELECT count(*) FROM sources WHERE id LIKE $1", like), 999);
}

TEST_F(TicketsImport, BadRowsAreReportedByLineAndKeptWhileGoodOnesImport) {
  // The header and three good rows of the sample, with broken rows between them.
  const std::string text = read_file(kTickets);
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
  auto refused = import(kTickets);
  EXPECT_EQ(refused.code, 2);
  EXPECT_NE(refused.err.find("the header has no column \"Lng\""), std::string::npos) << refused.err;
}

}  // namespace
}  // namespace gridwatch::testing
