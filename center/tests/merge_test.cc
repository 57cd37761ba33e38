// What the store is told for a merge decision (merge.h), without a database: the lock cells of a
// search box and the merge plan of a report.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "gridwatch/center/merge.h"

namespace gridwatch::center {
namespace {

TEST(MergeLocks, EveryCellTheBoxTouchesOnceInAscendingOrder) {
  // A box inside one 0.05° cell: one key; the same cell for any box inside it.
  const auto one = merge_lock_keys({116.401, 39.901, 116.402, 39.902});
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(merge_lock_keys({116.41, 39.91, 116.44, 39.94}), one);
  // Across a cell border in longitude and latitude: four cells, sorted, all different.
  const auto four = merge_lock_keys({116.449, 39.949, 116.451, 39.951});
  ASSERT_EQ(four.size(), 4u);
  EXPECT_TRUE(std::is_sorted(four.begin(), four.end()));
  EXPECT_EQ(std::set<int64_t>(four.begin(), four.end()).size(), 4u);
  // Two reports at one place whose boxes overlap share the cell they both touch: the lock that
  // serialises them.
  const auto a = merge_lock_keys({116.448, 39.948, 116.4499, 39.9499});
  const auto b = merge_lock_keys({116.4495, 39.9495, 116.452, 39.952});
  std::vector<int64_t> common;
  std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(common));
  EXPECT_FALSE(common.empty());
  // West and south of the origin (negative cells) are keys of their own, not the same as east.
  EXPECT_NE(merge_lock_keys({-0.01, -0.01, -0.001, -0.001}), merge_lock_keys({0.001, 0.001, 0.01, 0.01}));
}

TEST(MergePlan, CompatibleCategoriesWithTheNarrowerRadiusAndWindow) {
  const Catalog& catalog = Catalog::builtin();
  const Category* bin = catalog.find("sanitation.bin_overflow");
  ASSERT_NE(bin, nullptr);
  nlohmann::json source = {{"category", bin->code}};
  add_merge_plan(source, catalog, *bin, LonLat{.lon = 116.40, .lat = 39.90});
  ASSERT_FALSE(source["merge"].empty());
  bool self = false;
  for (const auto& m : source["merge"]) {
    const Category* other = catalog.find(m["category"].get<std::string>());
    ASSERT_NE(other, nullptr);
    EXPECT_TRUE(Catalog::compatible(*bin, *other)) << other->code;
    EXPECT_DOUBLE_EQ(m["radius_m"].get<double>(), std::min(bin->merge_radius_m, other->merge_radius_m));
    self = self || other->code == bin->code;
  }
  EXPECT_TRUE(self) << "a category merges with itself";
  // The box covers the widest radius (50 m for a bin: about 0.00045° of latitude) and its locks
  // are those of the box.
  const auto box = source["box"].get<std::array<double, 4>>();
  EXPECT_LT(box[1], 39.90 - 0.00044);
  EXPECT_GT(box[3], 39.90 + 0.00044);
  EXPECT_EQ(source["locks"].get<std::vector<int64_t>>(), merge_lock_keys(box));
  // Without a place: nothing to merge with, no locks.
  nlohmann::json nowhere = {{"category", bin->code}};
  add_merge_plan(nowhere, catalog, *bin, std::nullopt);
  EXPECT_TRUE(nowhere["merge"].empty());
  EXPECT_TRUE(nowhere["locks"].empty());
  EXPECT_FALSE(nowhere.contains("box"));
}

}  // namespace
}  // namespace gridwatch::center
