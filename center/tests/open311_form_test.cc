// The Open311 POST form parser, without a server or a database: what it takes and each refusal.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include "gridwatch/center/open311.h"

namespace gridwatch::center {
namespace {

const std::vector<ApiKey> kKeys = {{"hotline", "hotline-key-0123456789"}};
constexpr std::string_view kForm = "application/x-www-form-urlencoded";

auto parse(const std::string& body, std::string_view type = kForm) {
  return open311::parse_request_form(body, type, Catalog::builtin(), kKeys, now_utc());
}

std::string with_key(const std::string& rest) { return "api_key=hotline-key-0123456789&" + rest; }

// The form's refusal: its status and a message containing `text`.
void refused(const std::string& body, int status, const std::string& text, std::string_view type = kForm) {
  auto f = parse(body, type);
  ASSERT_FALSE(f.has_value()) << body;
  EXPECT_EQ(f.error().http_status, status) << f.error().message;
  EXPECT_NE(f.error().message.find(text), std::string::npos) << "message: " << f.error().message;
}

TEST(Open311Form, AWholeTicketBecomesAHotlineSource) {
  auto f = parse(with_key("service_code=sanitation.bin_overflow&lat=39.9042&long=116.4074"
                          "&description=%E5%9E%83%E5%9C%BE%E6%BA%A2%E5%87%BA+by+the+gate&address_string=1+Main+St"
                          "&attribute%5Bseverity%5D=high&first_name=Li&media_url=https%3A%2F%2Fexample.org%2Fa.jpg"));
  ASSERT_TRUE(f.has_value()) << f.error().message;
  EXPECT_EQ(f->api_key, "hotline");
  ASSERT_TRUE(f->where.has_value());
  EXPECT_DOUBLE_EQ(f->where->lat, 39.9042);
  EXPECT_DOUBLE_EQ(f->where->lon, 116.4074);
  EXPECT_EQ(f->source["category"], "sanitation.bin_overflow");
  EXPECT_EQ(f->source["description"], "垃圾溢出 by the gate");
  EXPECT_EQ(f->source["address"], "1 Main St");
  EXPECT_EQ(f->source["media_url"], "https://example.org/a.jpg");
  EXPECT_EQ(f->source["kind"], "hotline");
  // An address alone is a location too.
  EXPECT_TRUE(parse(with_key("service_code=sanitation.bin_overflow&address_string=2+Main+St")).has_value());
}

TEST(Open311Form, TheKeyIsCheckedFirst) {
  refused("service_code=sanitation.bin_overflow&lat=39.9&long=116.4", 403, "api_key is required");
  refused("api_key=nope&service_code=sanitation.bin_overflow&lat=39.9&long=116.4", 403, "unknown api_key");
}

TEST(Open311Form, EachRefusalNamesWhatIsWrong) {
  refused(with_key("service_code=sanitation.bin_overflow&lat=39.9&long=116.4"), 400, "not \"application/json\"",
          "application/json");
  refused(with_key("service_code=sanitation.bin_overflow&lat=39.9&long=116.4&description=%zz"), 400, "bad %-escape");
  refused(with_key("service_code=sanitation.bin_overflow&lat=39.9&long=116.4&description=%FF%FE"), 400,
          "not valid UTF-8");
  refused(with_key("service_code=sanitation.bin_overflow&lat=39.9&long=116.4&lat=40"), 400, "lat is given twice");
  refused(with_key("service_code=sanitation.bin_overflow&lat=39.9&long=116.4&colour=red"), 400,
          "unknown field \"colour\"");
  refused(with_key("lat=39.9&long=116.4"), 400, "service_code is required");
  refused(with_key("service_code=no.such&lat=39.9&long=116.4"), 400, "service_code \"no.such\" is not a service");
  refused(with_key("service_code=sanitation.bin_overflow&lat=39.9"), 400, "long is required with lat");
  refused(with_key("service_code=sanitation.bin_overflow&lat=91&long=116.4"), 400, "lat must be a number from -90 to 90");
  refused(with_key("service_code=sanitation.bin_overflow&lat=39.9&long=east"), 400, "long must be a number");
  refused(with_key("service_code=sanitation.bin_overflow"), 400, "a location is required");
  refused(with_key("service_code=sanitation.bin_overflow&lat=39.9&long=116.4&media_url=ftp%3A%2F%2Fx"), 400,
          "media_url must be an http(s) URL");
  refused(with_key("service_code=sanitation.bin_overflow&lat=39.9&long=116.4&attribute%5Bseverity%5D=extreme"), 400,
          "attribute[severity] must be low, normal or high");
  // 4,000 characters (Chinese: 12,000 bytes) pass; one more does not.
  std::string text;
  for (size_t i = 0; i < open311::kMaxDescription; ++i) text += "%E6%B0%B4";  // 水
  EXPECT_TRUE(parse(with_key("service_code=sanitation.bin_overflow&lat=39.9&long=116.4&description=" + text)));
  refused(with_key("service_code=sanitation.bin_overflow&lat=39.9&long=116.4&description=" + text + "x"), 400,
          "description is longer than 4000 characters");
}

TEST(Open311Form, AKeptFormLosesItsKeyHoweverItIsWritten) {
  EXPECT_EQ(open311::without_api_key("api_key=secret&service_code=x"), "service_code=x");
  EXPECT_EQ(open311::without_api_key("service_code=x&api%5Fkey=secret&lat=1"), "service_code=x&lat=1");
  EXPECT_EQ(open311::without_api_key("service_code=x"), "service_code=x");
}

}  // namespace
}  // namespace gridwatch::center
