// The walking skeleton, end to end on real services: a sensor reading over MQTT becomes a
// geolocated work order in PostGIS that the center serves as GeoJSON; what the center takes and
// refuses.
#include "slice_fixture.h"

namespace gridwatch::testing {
namespace {

TEST_F(Slice, ReadingAboveThresholdBecomesAnOrderInPostgisAndTheApi) {
  Listener status(svc_, fmt::format("{}/agents/{}/status", prefix_, agent_id_));
  start_agent();
  ASSERT_TRUE(reports(status, "online")) << "agent never reported online";

  publish_reading("bin-7", 1, 50);
  publish_reading("bin-7", 2, 95);

  json feature;
  ASSERT_TRUE(eventually([&] {
    auto r = http_get(http_port_, fmt::format("/api/v1/orders?status=open&category=sanitation.bin_overflow"));
    if (r.status != 200) return false;
    const json doc = json::parse(r.body);
    for (const auto& f : doc["features"])
      if (f["properties"]["source"]["agent_id"] == agent_id_) feature = f;
    return !feature.is_null();
  }));
  const std::string id = feature["id"];
  EXPECT_EQ(id, fmt::format("{}.bin_full.bin-7.{}", agent_id_, id_time(2)));
  EXPECT_EQ(feature["geometry"]["type"], "Point");
  EXPECT_NEAR(feature["geometry"]["coordinates"][0].get<double>(), bin7().lon, 1e-9);
  EXPECT_NEAR(feature["geometry"]["coordinates"][1].get<double>(), bin7().lat, 1e-9);
  EXPECT_EQ(feature["properties"]["status"], "open");
  EXPECT_EQ(feature["properties"]["source"]["device_id"], "bin-7");
  EXPECT_EQ(feature["properties"]["evidence"]["readings"][0]["value"], 95.0);

  // The row in PostGIS: a WGS-84 point at the sensor's place.
  auto rows = sql(svc_.pg_conninfo,
                  "SELECT status, ST_X(geom), ST_Y(geom), ST_SRID(geom), category, accuracy_m "
                  "FROM orders WHERE id = $1",
                  {id});
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0][0], "open");
  EXPECT_NEAR(std::stod(rows[0][1]), bin7().lon, 1e-9);
  EXPECT_NEAR(std::stod(rows[0][2]), bin7().lat, 1e-9);
  EXPECT_EQ(rows[0][3], "4326");
  EXPECT_EQ(rows[0][4], "sanitation.bin_overflow");
  EXPECT_EQ(rows[0][5], "5");

  // Filters: bbox around the bin finds it, one elsewhere does not; another category does not.
  auto near = json::parse(http_get(http_port_, fmt::format("/api/v1/orders?bbox={},{},{},{}", bin7().lon - 0.01,
                                                           bin7().lat - 0.01, bin7().lon + 0.01, bin7().lat + 0.01))
                              .body);
  auto far = json::parse(http_get(http_port_, "/api/v1/orders?bbox=0,0,1,1").body);
  auto other = json::parse(http_get(http_port_, "/api/v1/orders?category=water.waterlogging").body);
  auto has = [&](const json& fc) {
    for (auto& f : fc["features"])
      if (f["id"] == id) return true;
    return false;
  };
  EXPECT_TRUE(has(near));
  EXPECT_FALSE(has(far));
  EXPECT_FALSE(has(other));

  // The bin is emptied: the order clears.
  publish_reading("bin-7", 3, 10);
  ASSERT_TRUE(eventually([&] {
    auto r = http_get(http_port_, "/api/v1/orders/" + id);
    return r.status == 200 && json::parse(r.body)["properties"]["status"] == "cleared";
  }));
  EXPECT_EQ(count("SELECT count(*) FROM orders WHERE agent_id = $1", agent_id_), 1);
}

TEST_F(Slice, TheSameEventTwiceIsOneRow) {
  std::string id = fmt::format("{}.dup.1", agent_id_);
  publish(orders_topic(), order_json(id));
  publish(orders_topic(), order_json(id));
  publish(orders_topic(), order_json(id + ".marker"));  // processed after both copies
  ASSERT_TRUE(eventually([&] { return http_get(http_port_, "/api/v1/orders/" + id + ".marker").status == 200; }));
  EXPECT_EQ(count("SELECT count(*) FROM orders WHERE id = $1", id), 1);
  EXPECT_EQ(count("SELECT count(*) FROM order_events WHERE order_id = $1", id), 1);
  auto metrics = http_get(http_port_, "/metrics").body;
  EXPECT_NE(metrics.find("gw_center_orders_duplicate_total 1\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("gw_center_orders_stored_total 2\n"), std::string::npos) << metrics;
}

TEST_F(Slice, MalformedPayloadBetweenTwoValidOnesIsKeptAndTheRestStored) {
  std::string a = fmt::format("{}.valid.a", agent_id_), b = fmt::format("{}.valid.b", agent_id_);
  const std::string bad = R"({"schema":"gw.order/1","event":"open","id":)";
  json out_of_range = json::parse(order_json(fmt::format("{}.range", agent_id_)));
  out_of_range["location"]["lat"] = 91.0;
  publish(orders_topic(), order_json(a));
  publish(orders_topic(), bad);
  publish(orders_topic(), out_of_range.dump());
  publish(orders_topic(), order_json(b));
  ASSERT_TRUE(eventually([&] { return http_get(http_port_, "/api/v1/orders/" + b).status == 200; }));
  EXPECT_EQ(http_get(http_port_, "/api/v1/orders/" + a).status, 200);
  auto rows = sql(svc_.pg_conninfo,
                  "SELECT reason, convert_from(payload, 'UTF8') FROM dead_letters WHERE source = $1 "
                  "ORDER BY id",
                  {orders_topic()});
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0][0], "payload is not valid JSON");
  EXPECT_EQ(rows[0][1], bad);
  EXPECT_EQ(rows[1][0], "field 'location.lat': 91 is out of range [-90, 90]");
  EXPECT_EQ(http_get(http_port_, "/healthz").status, 200);
  auto metrics = http_get(http_port_, "/metrics").body;
  EXPECT_NE(metrics.find("gw_center_messages_rejected_total{reason=\"parse_error\",field=\"\"} 1"),
            std::string::npos) << metrics;
  EXPECT_NE(metrics.find(
                "gw_center_messages_rejected_total{reason=\"invalid_argument\",field=\"location.lat\"} 1"),
            std::string::npos) << metrics;
  ASSERT_TRUE(center_->process().running()) << "center died";
}

TEST_F(Slice, OrderFromAnotherAgentsTopicIsRejected) {
  std::string id = fmt::format("{}.spoof", agent_id_);
  publish(fmt::format("{}/orders/someone-else", prefix_), order_json(id));
  publish(orders_topic(), order_json(id + ".marker"));
  ASSERT_TRUE(eventually([&] { return http_get(http_port_, "/api/v1/orders/" + id + ".marker").status == 200; }));
  EXPECT_EQ(http_get(http_port_, "/api/v1/orders/" + id).status, 404);
  EXPECT_EQ(count("SELECT count(*) FROM dead_letters WHERE source = $1",
                  fmt::format("{}/orders/someone-else", prefix_)),
            1);
}

TEST_F(Slice, ApiRefusesBadParametersWithTheirName) {
  struct Case {
    std::string query, parameter, error;
  };
  for (const Case& c : std::vector<Case>{
           {"bbox=1,2,3", "bbox", "bbox must be"},
           {"status=lost", "status", "unknown status \"lost\""},
           {"category=x.y", "category", "unknown category \"x.y\""},
           {"colour=red", "colour", "unknown parameter \"colour\""},
           {"near=116.4,39.9", "radius_m", "near and radius_m go together"},
           {"near=216.4,39.9&radius_m=10", "near", "near must be lon,lat"},
           {"near=116.4,39.9&radius_m=90000", "radius_m", "at most 50000"},
       }) {
    auto r = http_get(http_port_, "/api/v1/orders?" + c.query);
    EXPECT_EQ(r.status, 400) << c.query;
    json body = json::parse(r.body);
    EXPECT_EQ(body["parameter"], c.parameter) << c.query;
    EXPECT_NE(body["error"].get<std::string>().find(c.error), std::string::npos) << c.query << ": " << r.body;
  }
  auto r = http_get(http_port_, "/api/v1/orders/no-such-order");
  EXPECT_EQ(r.status, 404);
  r = http_get(http_port_, "/api/v1/nothing");
  EXPECT_EQ(r.status, 404);
}

// Radius search: the API returns exactly the orders within radius_m (PostGIS geography on the
// ellipsoid), nearest first, with their distance; none of the points lies within 1 % of the radius,
// where the ellipsoid and the sphere of geo::distance_m may disagree.
TEST_F(Slice, RadiusSearchReturnsTheOrdersWithinMetresNearestFirst) {
  std::mt19937_64 rng(std::hash<std::string>{}(tag_));
  // A centre picked at random for this test.
  const LonLat centre{.lon = 116.0 + static_cast<double>(rng() % 400) * 0.05 / 20,
                      .lat = 40.3 + static_cast<double>(rng() % 100) * 0.001};
  std::uniform_real_distribution<double> offset(-0.02, 0.02);
  const double radius = 1000;
  std::map<std::string, double> expected;  // id -> haversine distance
  for (int i = 0; i < 40; ++i) {
    LonLat p;
    double d = 0;
    do {
      p = {.lon = centre.lon + offset(rng), .lat = centre.lat + offset(rng)};
      d = geo::distance_m(centre, p);
      // The first five inside the circle, so that there is always something to find.
    } while (std::abs(d - radius) < 0.01 * radius || (i < 5 && d > 0.9 * radius));
    std::string id = fmt::format("near-{}-{}", tag_, i);
    json order = json::parse(order_json(id));
    order["location"] = {{"lon", p.lon}, {"lat", p.lat}};
    publish(orders_topic(), order.dump());
    if (d < radius) expected[id] = d;
  }
  ASSERT_GE(expected.size(), 3u);
  ASSERT_TRUE(eventually([&] {
    return count("SELECT count(*) FROM orders WHERE id LIKE $1", fmt::format("near-{}-%", tag_)) == 40;
  }));
  auto r = http_get(http_port_, fmt::format("/api/v1/orders?near={:.7f},{:.7f}&radius_m={}", centre.lon,
                                            centre.lat, radius));
  ASSERT_EQ(r.status, 200) << r.body;
  json fc = json::parse(r.body);
  std::set<std::string> got;
  double last = -1;
  for (const json& f : fc["features"]) {
    std::string id = f["id"];
    got.insert(id);
    double d = f["properties"]["distance_m"];
    EXPECT_GE(d, last) << "not nearest first";
    last = d;
    ASSERT_TRUE(expected.contains(id)) << id << " at " << d << " m is outside the radius";
    EXPECT_NEAR(d, expected[id], 0.006 * expected[id] + 0.2) << id;
  }
  EXPECT_EQ(got.size(), expected.size());
  // Combined with another filter.
  r = http_get(http_port_, fmt::format("/api/v1/orders?near={:.7f},{:.7f}&radius_m={}&category=fire.blocked_lane",
                                       centre.lon, centre.lat, radius));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(json::parse(r.body)["features"].empty());
}

}  // namespace
}  // namespace gridwatch::testing
