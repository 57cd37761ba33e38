#include <gtest/gtest.h>

#include "gridwatch/center/config.h"

namespace gridwatch::center {
namespace {

TEST(CenterConfig, DefaultsAndOverrides) {
  auto c = parse_center_config("http:\n  port: 18080\ndatabase:\n  pool_size: 2\n", "center.yaml");
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->http_port, 18080);
  EXPECT_EQ(c->pool_size, 2);
  EXPECT_EQ(c->topic_prefix, "gw/v1");
  EXPECT_EQ(c->share_group, "center");
}

TEST(CenterConfig, UnknownKeyAndWrongType) {
  auto c = parse_center_config("http:\n  port: 18080\n  prot: 1\n", "center.yaml");
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().code, ErrorCode::kConfig);
  EXPECT_EQ(c.error().field, "http.prot");
  EXPECT_NE(c.error().message.find("center.yaml:3: http.prot: unknown key"), std::string::npos)
      << c.error().message;
  c = parse_center_config("http:\n  port: eighty\n", "center.yaml");
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().field, "http.port");
  EXPECT_NE(c.error().message.find("center.yaml:2: http.port: expected a whole number"),
            std::string::npos)
      << c.error().message;
  c = parse_center_config("http:\n  port: 70000\n", "center.yaml");
  ASSERT_FALSE(c.has_value());
  EXPECT_NE(c.error().message.find("out of range [0, 65535]"), std::string::npos);
  c = parse_center_config("broker:\n  topic_prefix: gw/#\n", "center.yaml");
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().field, "broker.topic_prefix");
}

}  // namespace
}  // namespace gridwatch::center
