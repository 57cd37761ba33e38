#include "gridwatch/classify/normalize.h"

#include <gtest/gtest.h>

namespace gridwatch::classify {
namespace {

std::string norm(std::string_view s) {
  static const auto n = *Normalizer::create();
  return Normalizer::to_utf8(n->normalize(s));
}

TEST(Normalize, FullWidthAndCaseFoldToAscii) {
  EXPECT_EQ(norm("ＡＢＣ小区Ｄ座"), "abc小区d座");
  EXPECT_EQ(norm("Noise FROM Bar"), "noise from bar");
}

TEST(Normalize, TraditionalBecomesSimplified) {
  EXPECT_EQ(norm("噪聲擾民，垃圾桶滿溢"), "噪声扰民,垃圾桶满溢");  // NFKC: the full-width comma too
  EXPECT_EQ(norm("燃氣洩漏"), "燃气泄漏");
}

TEST(Normalize, PhoneNumbersBecomeOnePlaceholder) {
  EXPECT_EQ(norm("联系电话13812345678谢谢"), "联系电话<tel>谢谢");
  EXPECT_EQ(norm("电话010-62345678"), "电话<tel>");
  EXPECT_EQ(norm("call 138 1234 5678 now"), "call <tel> now");
  // full-width digits are digits after NFKC
  EXPECT_EQ(norm("电话１３８１２３４５６７８"), "电话<tel>");
  // a phone number's groups never run past its length into the next number
  EXPECT_EQ(norm("13812345678 3号楼"), "<tel> <addr>号楼");
  EXPECT_EQ(norm("0755-12345678 3楼"), "<tel> <addr>楼");
}

TEST(Normalize, HouseAndRoomNumbersAreAddresses) {
  EXPECT_EQ(norm("5号楼2单元501室"), "<addr>号楼<addr>单元<addr>室");
  EXPECT_EQ(norm("near 12 main st"), "near <addr> main st");
  EXPECT_EQ(norm("12 west 4th street"), "<addr> west <num>th street");
}

TEST(Normalize, OtherNumbersAreNumbers) {
  EXPECT_EQ(norm("已经3天了，温度15度"), "已经<num>天了,温度<num>度");
  EXPECT_EQ(norm("a3区"), "a<num>区");
  EXPECT_EQ(norm("1234 broadway"), "<num> broadway");
}

TEST(Normalize, InvalidUtf8IsDroppedNotFatal) {
  EXPECT_EQ(norm("井盖\xff\xfe缺失"), "井盖缺失");
  EXPECT_EQ(Normalizer::to_utf8(Normalizer::decode("a\xc3")), "a");
}

}  // namespace
}  // namespace gridwatch::classify
