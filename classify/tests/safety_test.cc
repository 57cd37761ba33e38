#include "gridwatch/classify/safety.h"

#include <gtest/gtest.h>

namespace gridwatch::classify {
namespace {

class Safety : public ::testing::Test {
 protected:
  SafetyCheck check{SafetyRules::defaults(), *Normalizer::create()};
};

TEST_F(Safety, ChineseWordsMatchInTraditionalToo) {
  EXPECT_EQ(check.match("楼道里闻到很重的燃气泄漏的味道"), std::optional<std::string>("燃气泄漏"));
  EXPECT_EQ(check.match("樓道裡燃氣洩漏"), std::optional<std::string>("燃气泄漏"));
  EXPECT_EQ(check.match("有人被困在电梯里"), std::optional<std::string>("被困"));
  EXPECT_EQ(check.match("对面楼着火了"), std::optional<std::string>("着火"));
}

TEST_F(Safety, AHazardIsNotAFire) {
  EXPECT_EQ(check.match("消防通道被占用，存在火灾隐患"), std::nullopt);
  // ...but a fire next to a hazard still is
  EXPECT_EQ(check.match("存在火灾隐患，现在已经起火"), std::optional<std::string>("起火"));
}

TEST_F(Safety, EnglishWordsStandOnTheirOwn) {
  EXPECT_EQ(check.match("Strong GAS LEAK smell in the hallway"), std::optional<std::string>("gas leak"));
  EXPECT_EQ(check.match("man trapped in elevator"), std::optional<std::string>("trapped"));
  EXPECT_EQ(check.match("untrapped cat"), std::nullopt);
  EXPECT_EQ(check.match("fire hydrant leaking"), std::nullopt);
  EXPECT_EQ(check.match("blocked fire lane, a fire hazard"), std::nullopt);
}

TEST_F(Safety, ConfiguredListsReplaceTheDefaults) {
  const SafetyCheck custom({.words = {"化学品"}, .except = {}}, *Normalizer::create());
  EXPECT_EQ(custom.match("仓库化学品外泄"), std::optional<std::string>("化学品"));
  EXPECT_EQ(custom.match("燃气泄漏"), std::nullopt);
  // an exception that is only spaces is removed (as spaces) and the search goes on past it
  const SafetyCheck spaces({.words = {"火"}, .except = {" "}}, *Normalizer::create());
  EXPECT_EQ(spaces.match("着 火 了"), std::optional<std::string>("火"));
}

}  // namespace
}  // namespace gridwatch::classify
