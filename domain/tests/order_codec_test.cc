#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "gridwatch/domain/order.h"
#include "matchers.h"

namespace gridwatch {
namespace {

using nlohmann::json;
using testing::FailsWith;

json valid_order() {
  return json::parse(R"({"schema":"gw.order/1","event":"open","id":"box-01.bin.bin-001.1",
    "category":"sanitation.bin_overflow","priority":"high",
    "source":{"kind":"sensor","agent_id":"box-01","device_id":"bin-001","rule":"bin_full"},
    "location":{"lon":116.39,"lat":39.90,"accuracy_m":3.5},
    "observed_at":"2026-11-23T08:00:00Z","first_seen_at":"2026-11-23T07:59:00Z",
    "confidence":0.93,"evidence":{"readings":[{"value":95}]},"description":"bin full"})");
}

Result<OrderEvent> decode(const json& j) { return decode_order(j.dump(), Catalog::builtin()); }

TEST(OrderCodec, DecodesAValidOrderAndRoundTrips) {
  auto e = decode(valid_order());
  ASSERT_TRUE(e.has_value()) << e.error().message;
  EXPECT_EQ(e->event, OrderEventKind::kOpen);
  EXPECT_EQ(e->id, "box-01.bin.bin-001.1");
  EXPECT_EQ(e->priority, Priority::kHigh);
  EXPECT_EQ(e->source.kind, SourceKind::kSensor);
  EXPECT_EQ(e->source.device_id, "bin-001");
  ASSERT_TRUE(e->location.has_value());
  EXPECT_DOUBLE_EQ(e->location->position.lat, 39.90);
  EXPECT_EQ(*e->location->accuracy_m, 3.5);
  EXPECT_EQ(format_rfc3339(e->observed_at), "2026-11-23T08:00:00Z");
  auto again = decode_order(encode_order(*e), Catalog::builtin());
  ASSERT_TRUE(again.has_value()) << again.error().message;
  EXPECT_EQ(encode_order(*again), encode_order(*e));
}

TEST(OrderCodec, PriorityDefaultsToTheCategory) {
  json j = valid_order();
  j.erase("priority");
  j["category"] = "fire.blocked_lane";
  EXPECT_EQ(decode(j)->priority, Priority::kUrgent);
}

TEST(OrderCodec, NotJsonAndNotAnObject) {
  EXPECT_THAT(decode_order("{\"schema\":", Catalog::builtin()),
              FailsWith(ErrorCode::kParse, "", "not valid JSON"));
  EXPECT_THAT(decode_order("[1,2]", Catalog::builtin()),
              FailsWith(ErrorCode::kInvalidArgument, "", "must be a JSON object, got array"));
}

TEST(OrderCodec, OversizedPayload) {
  json j = valid_order();
  j["description"] = std::string(300 * 1024, 'x');
  EXPECT_THAT(decode(j), FailsWith(ErrorCode::kTooLarge, "", "exceeds the limit of 262144 bytes"));
}

TEST(OrderCodec, MissingFields) {
  for (const char* field : {"schema", "event", "id", "category", "source", "observed_at"}) {
    json j = valid_order();
    j.erase(field);
    EXPECT_THAT(decode(j), FailsWith(ErrorCode::kInvalidArgument, field, "missing")) << field;
  }
  json j = valid_order();
  j["source"].erase("agent_id");
  EXPECT_THAT(decode(j), FailsWith(ErrorCode::kInvalidArgument, "source.agent_id", "missing"));
  j = valid_order();
  j.erase("location");
  EXPECT_THAT(decode(j), FailsWith(ErrorCode::kInvalidArgument, "location", "required for open"));
  j["event"] = "clear";  // a clear may omit the location
  EXPECT_TRUE(decode(j).has_value());
}

TEST(OrderCodec, WrongTypes) {
  json j = valid_order();
  j["location"]["lat"] = "39.9";
  EXPECT_THAT(decode(j), FailsWith(ErrorCode::kInvalidArgument, "location.lat",
                                   "expected a number, got string"));
  j = valid_order();
  j["id"] = 42;
  EXPECT_THAT(decode(j), FailsWith(ErrorCode::kInvalidArgument, "id", "expected a string, got number"));
  j = valid_order();
  j["source"] = "box-01";
  EXPECT_THAT(decode(j), FailsWith(ErrorCode::kInvalidArgument, "source", "expected an object"));
  j = valid_order();
  j["observed_at"] = "yesterday";
  EXPECT_THAT(decode(j), FailsWith(ErrorCode::kInvalidArgument, "observed_at", "RFC 3339"));
}

TEST(OrderCodec, OutOfRangeCoordinates) {
  json j = valid_order();
  j["location"]["lon"] = 180.5;
  EXPECT_THAT(decode(j), FailsWith(ErrorCode::kInvalidArgument, "location.lon",
                                   "out of range [-180, 180]"));
  j = valid_order();
  j["location"]["lat"] = -91;
  EXPECT_THAT(decode(j), FailsWith(ErrorCode::kInvalidArgument, "location.lat",
                                   "out of range [-90, 90]"));
  // JSON has no NaN or infinity; a literal that overflows a double is refused by the parser.
  std::string text = valid_order().dump();
  text.replace(text.find("39.9"), 4, "1e999");
  EXPECT_THAT(decode_order(text, Catalog::builtin()),
              FailsWith(ErrorCode::kParse, "", "not valid JSON"));
}

TEST(OrderCodec, NaNIsRefusedBeforeEncoding) {
  auto e = decode(valid_order());
  ASSERT_TRUE(e.has_value());
  e->location->position.lon = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THAT(validate_order(*e, Catalog::builtin()),
              FailsWith(ErrorCode::kInvalidArgument, "location.lon", "not a finite number"));
}

TEST(OrderCodec, UnknownValues) {
  json j = valid_order();
  j["category"] = "sanitation.unicorns";
  EXPECT_THAT(decode(j), FailsWith(ErrorCode::kInvalidArgument, "category",
                                   "unknown category \"sanitation.unicorns\""));
  j = valid_order();
  j["schema"] = "gw.order/2";
  EXPECT_THAT(decode(j), FailsWith(ErrorCode::kInvalidArgument, "schema", "expected \"gw.order/1\""));
  j = valid_order();
  j["event"] = "close";
  EXPECT_THAT(decode(j), FailsWith(ErrorCode::kInvalidArgument, "event", "not one of open"));
  j = valid_order();
  j["priority"] = "asap";
  EXPECT_THAT(decode(j), FailsWith(ErrorCode::kInvalidArgument, "priority", "not one of urgent"));
  j = valid_order();
  j["source"]["kind"] = "hotline";
  EXPECT_THAT(decode(j), FailsWith(ErrorCode::kInvalidArgument, "source.kind", "not one of camera"));
  j = valid_order();
  j["id"] = "has space";
  EXPECT_THAT(decode(j), FailsWith(ErrorCode::kInvalidArgument, "id", "must be 1-128"));
  j = valid_order();
  j["confidence"] = 1.5;
  EXPECT_THAT(decode(j), FailsWith(ErrorCode::kInvalidArgument, "confidence", "[0, 1]"));
}

TEST(OrderCodec, DescriptionLimitCountsCharactersNotBytes) {
  json j = valid_order();
  std::string zh;
  for (int i = 0; i < 4000; ++i) zh += "满";  // 4,000 characters, 12,000 bytes
  j["description"] = zh;
  EXPECT_TRUE(decode(j).has_value());
  j["description"] = zh + "溢";
  EXPECT_THAT(decode(j), FailsWith(ErrorCode::kInvalidArgument, "description",
                                   "longer than 4000 characters"));
}

TEST(OrderCodec, NulIsRefusedButAnEscapedBackslashBeforeU0000IsText) {
  json j = valid_order();
  j["description"] = std::string("a\0b", 3);  // written by the encoder as \u0000
  EXPECT_THAT(decode(j), FailsWith(ErrorCode::kInvalidArgument, "payload", "\\u0000 (NUL)"));
  j["description"] = "C:\\u0000";  // a backslash, then the letters u0000
  EXPECT_TRUE(decode(j).has_value());
}

TEST(ReadingCodec, DecodesAndRoundTrips) {
  auto r = decode_reading("bin-001", R"({"ts":"2026-11-23T08:00:00Z","type":"bin_fill","value":87.5,"unit":"%"})");
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->device_id, "bin-001");
  EXPECT_EQ(r->type, "bin_fill");
  EXPECT_DOUBLE_EQ(r->value, 87.5);
  EXPECT_EQ(r->unit, "%");
  auto again = decode_reading("bin-001", encode_reading(*r));
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->ts, r->ts);
}

TEST(ReadingCodec, Errors) {
  EXPECT_THAT(decode_reading("bin 1", R"({"ts":"2026-11-23T08:00:00Z","type":"x","value":1})"),
              FailsWith(ErrorCode::kInvalidArgument, "device_id", "must be 1-128"));
  EXPECT_THAT(decode_reading("b", R"({"ts":"2026-11-23T08:00:00Z","type":"x","value":"1"})"),
              FailsWith(ErrorCode::kInvalidArgument, "value", "expected a number, got string"));
  EXPECT_THAT(decode_reading("b", R"({"type":"x","value":1})"),
              FailsWith(ErrorCode::kInvalidArgument, "ts", "missing"));
  EXPECT_THAT(decode_reading("b", R"({"ts":"2026-11-23T08:00:00Z","type":"Bin Fill","value":1})"),
              FailsWith(ErrorCode::kInvalidArgument, "type", "a-z 0-9 _"));
  EXPECT_THAT(decode_reading("b", "not json"), FailsWith(ErrorCode::kParse, "", "not valid JSON"));
}

}  // namespace
}  // namespace gridwatch
