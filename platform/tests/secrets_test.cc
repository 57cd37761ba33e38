#include "gridwatch/platform/secrets.h"

#include <gtest/gtest.h>

#include <set>

namespace gridwatch::platform {
namespace {

TEST(Secrets, Sha256OfKnownTexts) {
  // FIPS 180-2 test vectors.
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_TRUE(is_sha256_hex(sha256_hex("abc")));
  EXPECT_FALSE(is_sha256_hex("abc"));
  EXPECT_FALSE(is_sha256_hex(std::string(63, 'a') + "g"));
}

TEST(Secrets, NewTokensAreUrlSafeLongAndDifferent) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    const std::string t = new_token();
    EXPECT_EQ(t.size(), 43u) << t;
    EXPECT_EQ(t.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"), std::string::npos)
        << t;
    seen.insert(t);
  }
  EXPECT_EQ(seen.size(), 100u);
}

TEST(Secrets, ConstantTimeEqualityIsEquality) {
  EXPECT_TRUE(equal_in_constant_time("same-token", "same-token"));
  EXPECT_FALSE(equal_in_constant_time("same-token", "same-tokeN"));
  EXPECT_FALSE(equal_in_constant_time("same-token", "same-token-longer"));
  EXPECT_TRUE(equal_in_constant_time("", ""));
}

}  // namespace
}  // namespace gridwatch::platform
