// 智能派单 in the center (docs/classify.md): Open311 tickets without a service code, suggestions
// kept with their sources, safety words, the dispatcher's choice and the exported labels. The
// center runs a model trained on the generated sample tickets (classify/src/sample.cc).
#include <gmock/gmock.h>

#include "gridwatch/classify/dataset.h"
#include "gridwatch/classify/model.h"
#include "gridwatch/classify/sample.h"
#include "gridwatch/domain/catalog.h"
#include "open311_fixture.h"

namespace gridwatch::testing {
namespace {

using ::testing::HasSubstr;

class Suggest : public Open311 {
 protected:
  static void SetUpTestSuite() {
    model_path_ = new std::filesystem::path(temp_dir("suggest-model") / "model.bin");
    normalizer_ = new std::shared_ptr<const classify::Normalizer>(*classify::Normalizer::create());
    auto m = classify::Model::train(classify::sample_tickets(30, 1), classify::catalog_keywords(Catalog::builtin()),
                                    classify::TrainOptions{.name = "sample"}, *normalizer_);
    ASSERT_TRUE(m.has_value()) << m.error().message;
    ASSERT_TRUE(m->save(*model_path_).has_value());
    model_ = new classify::Model(std::move(*m));
  }
  static void TearDownTestSuite() {
    std::filesystem::remove_all(model_path_->parent_path());
    delete model_path_;
    delete model_;
    delete normalizer_;
  }
  std::string extra_sections() override {
    return fmt::format("classify:\n  model: {}\n  auto_threshold: {}\n", model_path_->string(), kThreshold);
  }
  // POSTs a ticket without service_code; returns the case id of its receipt's ticket.
  std::string post_text(const std::string& description, int expect_status = 200) {
    auto r = post({{"api_key", kKey},
                   {"lat", fmt::format("{:.8f}", spot().lat)},
                   {"long", fmt::format("{:.8f}", spot().lon)},
                   {"description", description}});
    EXPECT_EQ(r.status, expect_status) << r.body;
    if (r.status != 200) return r.body;
    const auto id = json::parse(r.body)[0].at("service_request_id").get<std::string>();
    const auto rows = sql(svc_.pg_conninfo, "SELECT case_id FROM sources WHERE id = $1", {id});
    return rows.empty() ? "" : rows[0][0];
  }
  static json suggestion_of(const json& the_case) {
    for (const auto& s : the_case["properties"]["sources"])
      if (s.contains("suggestion") && !s["suggestion"].is_null()) return s["suggestion"];
    return json();
  }
  static constexpr double kThreshold = 0.6;
  static std::filesystem::path* model_path_;
  static classify::Model* model_;
  static std::shared_ptr<const classify::Normalizer>* normalizer_;
};
std::filesystem::path* Suggest::model_path_ = nullptr;
classify::Model* Suggest::model_ = nullptr;
std::shared_ptr<const classify::Normalizer>* Suggest::normalizer_ = nullptr;

TEST_F(Suggest, AConfidentSuggestionFillsTheMissingCategory) {
  const std::string text = "小区门口的垃圾桶满溢了，好几天没人清理";
  const auto expected = model_->predict(text).ranked.front();
  ASSERT_EQ(expected.label, "sanitation.bin_overflow");
  ASSERT_GE(expected.p, kThreshold);
  const std::string id = post_text(text);
  const json c = case_of(id);
  EXPECT_EQ(c["properties"]["category"], "sanitation.bin_overflow");
  const json s = suggestion_of(c);
  EXPECT_EQ(s["category"], "sanitation.bin_overflow");
  EXPECT_EQ(s["filled"], true);
  EXPECT_NEAR(s["p"].get<double>(), expected.p, 1e-9);
  EXPECT_EQ(s["department"]["code"], "sanitation");
  EXPECT_EQ(s["model"], model_->id());
  ASSERT_EQ(s["top3"].size(), 3u);
  bool noted = false;
  for (const auto& h : c["properties"]["history"])
    if (h["action"] == "suggested") {
      noted = true;
      EXPECT_THAT(h["detail"]["note"].get<std::string>(), HasSubstr("category suggested, p = "));
      EXPECT_THAT(h["detail"]["note"].get<std::string>(), HasSubstr(model_->id()));
    }
  EXPECT_TRUE(noted);
  // a filled category brings its own priority when it is more urgent (manhole covers: high)
  const std::string hole = "路中间的井盖不见了";
  ASSERT_EQ(model_->predict(hole).ranked.front().label, "utilities.manhole_cover");
  ASSERT_GE(model_->predict(hole).ranked.front().p, kThreshold);
  const json h = case_of(post_text(hole));
  EXPECT_EQ(h["properties"]["category"], "utilities.manhole_cover");
  EXPECT_EQ(h["properties"]["priority"], "high");
}

TEST_F(Suggest, AnUnsureSuggestionWaitsForTheDispatcherWithTheTopThree) {
  // a text the generated model cannot place with confidence
  std::string text;
  for (const char* t : {"请问这个怎么办", "你好", "有个问题想反映一下", "hello"})
    if (model_->predict(t).ranked.front().p < kThreshold) {
      text = t;
      break;
    }
  ASSERT_FALSE(text.empty()) << "no unsure text for this model";
  const std::string id = post_text(text);
  const json c = case_of(id);
  EXPECT_EQ(c["properties"]["category"], "general.other");
  const json s = suggestion_of(c);
  EXPECT_EQ(s["filled"], false);
  EXPECT_EQ(s["top3"].size(), 3u);
  EXPECT_THAT(s["note"].get<std::string>(), HasSubstr("the dispatcher decides"));

  // One click: the dispatcher dispatches with the second choice; the case takes it and the choice
  // is a training label.
  const std::string chosen = s["top3"][1]["category"];
  const json step = {{"action", "dispatch"}, {"reason", "suggestion accepted"}, {"unit", "street-9"},
                     {"category", chosen}};
  auto r = http_request(port_, "POST", fmt::format("/api/v1/orders/{}/actions", id), step.dump(), kDispatcherToken);
  ASSERT_EQ(r.status, 200) << r.body;
  const json after = case_of(id);
  EXPECT_EQ(after["properties"]["category"], chosen);
  auto labels = http_request(port_, "GET", "/api/v1/labels", "", kDispatcherToken);
  ASSERT_EQ(labels.status, 200) << labels.body;
  EXPECT_THAT(labels.body, HasSubstr(fmt::format("{},{},{},{},dispatcher-7,", id, text, s["category"].get<std::string>(),
                                                 chosen)));
  // the export trains: it is a CSV with the columns config/tickets/labels.yaml names
  EXPECT_TRUE(labels.body.starts_with("case_id,text,suggested,category,chosen_by,chosen_at\n"));
  // The choice holds: deriving the case from its sources again (as every later report or merge
  // does) keeps the dispatcher's category.
  sql(svc_.pg_conninfo, "SELECT gw_refresh_case($1)", {id});
  EXPECT_EQ(case_of(id)["properties"]["category"], chosen);
  // one label per case (a later choice would replace it: insert_label.sql)
  EXPECT_EQ(count("SELECT count(*) FROM classify_labels WHERE case_id = $1", id), 1);
}

TEST_F(Suggest, ASafetyWordIsUrgentAndAlwaysAPerson) {
  const std::string id = post_text("楼道垃圾桶旁边闻到很重的燃气泄漏味道");
  const json c = case_of(id);
  EXPECT_EQ(c["properties"]["category"], "general.other");
  EXPECT_EQ(c["properties"]["priority"], "urgent");
  const json s = suggestion_of(c);
  EXPECT_EQ(s["safety"], "燃气泄漏");
  EXPECT_EQ(s["filled"], false);
}

TEST_F(Suggest, TheCallersCategoryIsKept) {
  const auto receipt = ticket("environment.noise", spot(), "垃圾桶满溢");
  const auto rows = sql(svc_.pg_conninfo, "SELECT case_id, suggestion->>'category', suggestion->>'filled' FROM sources WHERE id = $1",
                        {receipt.value("service_request_id", std::string())});
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(case_of(rows[0][0])["properties"]["category"], "environment.noise");
  EXPECT_EQ(rows[0][1], "sanitation.bin_overflow");
  EXPECT_EQ(rows[0][2], "false");
}

TEST_F(Suggest, NoCodeAndNoDescriptionIsRefused) {
  auto r = post({{"api_key", kKey}, {"lat", "39.9"}, {"long", "116.4"}});
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("service_code is required, or a description to suggest it from"));
  // a dispatch with a category that is not one is refused before anything changes
  const std::string id = post_text("井盖不见了");
  const json step = {{"action", "dispatch"}, {"reason", "x"}, {"unit", "street-9"}, {"category", "no.such"}};
  auto d = http_request(port_, "POST", fmt::format("/api/v1/orders/{}/actions", id), step.dump(), kDispatcherToken);
  EXPECT_EQ(d.status, 400);
  EXPECT_THAT(d.body, HasSubstr("category \\\"no.such\\\" is not a category of the catalog"));
  // and a category with another action too
  const json accept = {{"action", "accept"}, {"reason", "x"}, {"category", "environment.noise"}};
  auto a = http_request(port_, "POST", fmt::format("/api/v1/orders/{}/actions", id), accept.dump(), kDispatcherToken);
  EXPECT_EQ(a.status, 400);
  EXPECT_THAT(a.body, HasSubstr("category goes with the dispatch action"));
}

}  // namespace
}  // namespace gridwatch::testing
