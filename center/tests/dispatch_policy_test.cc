// The dispatch policy without a database: where a dispatch goes and the SLA it starts.
#include "gridwatch/center/dispatch.h"

#include <gtest/gtest.h>

namespace gridwatch::center {
namespace {

using namespace std::chrono_literals;

TEST(DispatchPolicy, ToTheOwnerOfThePlaceUnlessAUnitIsNamed) {
  const nlohmann::json areas = {{"district", "110102"}, {"street", "110102-003"}, {"grid", "110102-g00010002"}};
  auto owner = route_dispatch({.from = CaseState::kNew, .areas = &areas, .dispatch_level = "street"});
  ASSERT_TRUE(owner.has_value());
  EXPECT_EQ(*owner, "110102-003");
  auto named = route_dispatch({.named_unit = "water_authority", .from = CaseState::kNew, .areas = &areas,
                               .dispatch_level = "street"});
  EXPECT_EQ(named.value_or(""), "water_authority");
  auto district = route_dispatch({.from = CaseState::kReopened, .areas = &areas, .dispatch_level = "district"});
  EXPECT_EQ(district.value_or(""), "110102");
}

TEST(DispatchPolicy, ARejectedCaseOrOneOutsideEveryAreaNeedsANamedUnit) {
  const nlohmann::json areas = {{"street", "110102-003"}};
  auto rejected = route_dispatch({.from = CaseState::kRejected, .areas = &areas, .dispatch_level = "street"});
  ASSERT_FALSE(rejected.has_value()) << "退单: not straight back to the unit that refused it";
  EXPECT_EQ(rejected.error(), RouteRefusal::kRejectedNameAUnit);
  auto overruled = route_dispatch({.named_unit = "110102-003", .from = CaseState::kRejected, .areas = &areas,
                                   .dispatch_level = "street"});
  EXPECT_EQ(overruled.value_or(""), "110102-003") << "naming the unit again overrules the rejection";
  const nlohmann::json nowhere = nlohmann::json::object();
  EXPECT_EQ(route_dispatch({.from = CaseState::kNew, .areas = &nowhere, .dispatch_level = "street"}).error(),
            RouteRefusal::kNoOwningArea);
  const nlohmann::json other_level = {{"district", "110102"}};
  EXPECT_EQ(route_dispatch({.from = CaseState::kNew, .areas = &other_level, .dispatch_level = "street"}).error(),
            RouteRefusal::kNoOwningArea);
  const nlohmann::json empty_code = {{"street", ""}};
  EXPECT_EQ(route_dispatch({.from = CaseState::kNew, .areas = &empty_code, .dispatch_level = "street"}).error(),
            RouteRefusal::kNoOwningArea);
  EXPECT_EQ(route_dispatch({.from = CaseState::kNew, .areas = nullptr, .dispatch_level = "street"}).error(),
            RouteRefusal::kNoOwningArea);
}

TEST(DispatchPolicy, UrgentCasesRunOnTheCatalogsShorterClock) {
  const Catalog& catalog = Catalog::builtin();
  const Category& noise = *catalog.find("environment.noise");
  const Sla normal = dispatch_sla(catalog, noise, Priority::kNormal);
  EXPECT_EQ(normal.respond, noise.respond_within);
  EXPECT_EQ(normal.resolve, noise.resolve_within);
  const Sla urgent = dispatch_sla(catalog, noise, Priority::kUrgent);
  EXPECT_EQ(urgent.respond, std::min<Duration>(noise.respond_within, 2h));
  EXPECT_EQ(urgent.resolve, std::min<Duration>(noise.resolve_within, 24h));
  // The caps come from the catalog file.
  auto strict = Catalog::load_text(R"(version: 1
urgent_sla: {respond: 15m, resolve: 3h}
categories:
  - code: environment.noise
    name: {zh: 噪声扰民, en: Noise}
    department: {code: environment, zh: 生态环境局, en: Environment bureau}
    sla: {respond: 4h, resolve: 72h}
    merge: {radius_m: 100, window: 12h}
    priority: normal
    taxonomy: {code: "040201", name: 噪声污染}
)",
                                   "strict.yaml");
  ASSERT_TRUE(strict.has_value()) << strict.error().message;
  const Sla capped = dispatch_sla(*strict, *strict->find("environment.noise"), Priority::kUrgent);
  EXPECT_EQ(capped.respond, 15min);
  EXPECT_EQ(capped.resolve, 3h);
  EXPECT_EQ(dispatch_sla(*strict, *strict->find("environment.noise"), Priority::kHigh).resolve, 72h);
}

}  // namespace
}  // namespace gridwatch::center
