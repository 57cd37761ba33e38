#include <gtest/gtest.h>

#include "gridwatch/center/buildings.h"

namespace gridwatch::center {
namespace {

TEST(Buildings, ARegistryWithExtraColumnsAndAByteOrderMark) {
  auto b = parse_buildings("\xEF\xBB\xBFname,code,lat,lon,address,floors\n"
                           "西直门内大街2号楼,XC-0001,39.9402,116.3712,\"北京市西城区西直门内大街2号, 1单元\",6\n"
                           "\n"
                           "金融街7号楼,XC-0002,39.916,116.359,北京市西城区金融街7号,20\r\n",
                           "buildings.csv");
  ASSERT_TRUE(b.has_value()) << b.error().message;
  ASSERT_EQ(b->size(), 2u);
  EXPECT_EQ((*b)[0].code, "XC-0001");
  EXPECT_EQ((*b)[0].address, "北京市西城区西直门内大街2号, 1单元");
  EXPECT_DOUBLE_EQ((*b)[0].where.lon, 116.3712);
  EXPECT_DOUBLE_EQ((*b)[1].where.lat, 39.916);
  ASSERT_NE(find_building(*b, "XC-0002"), nullptr);
  EXPECT_EQ(find_building(*b, "XC-0002")->name, "金融街7号楼");
  EXPECT_EQ(find_building(*b, "XC-9999"), nullptr);
}

TEST(Buildings, ABadRowRefusesTheFileNamingItsLine) {
  const std::string head = "code,name,address,lon,lat\n";
  auto expect_error = [](const std::string& csv, const std::string& message) {
    auto b = parse_buildings(csv, "b.csv");
    ASSERT_FALSE(b.has_value()) << csv;
    EXPECT_EQ(b.error().code, ErrorCode::kParse);
    EXPECT_NE(b.error().message.find(message), std::string::npos) << b.error().message;
  };
  expect_error(head + "A-1,One,Road 1,116.4,39.9\nA-2,Two,Road 2,116.4,91\n",
               "b.csv:3: building A-2: lon,lat must be WGS-84 degrees (got \"116.4\", \"91\")");
  expect_error(head + "A-1,One,Road 1,116.4,39.9\nA-1,Again,Road 2,116.4,39.9\n", "b.csv:3: building code A-1 appears twice");
  expect_error(head + "A 1,One,Road 1,116.4,39.9\n", "b.csv:2: building code \"A 1\" is not a plain name");
  expect_error(head + "A-1,,Road 1,116.4,39.9\n", "b.csv:2: building A-1 has no name");
  expect_error("code,name,lon,lat\nA-1,One,116.4,39.9\n", "b.csv:1: the header has no column \"address\"");
  expect_error("", "b.csv: empty");
}

}  // namespace
}  // namespace gridwatch::center
