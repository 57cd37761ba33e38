#include <fstream>

#include "gridwatch/rules/state_file.h"
#include "harness.h"

namespace gridwatch::rules::testing {
namespace {

class StateFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           fmt::format("gw-rules-{}-{}", getpid(), ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  static Reading level(double t, double v) {
    return Reading{.device_id = "d1", .ts = at(t), .type = "level", .value = v};
  }

  std::filesystem::path dir_;
  // A level above 90 for 10 minutes, with `lateness`.
  static std::string rules_yaml(const std::string& lateness) {
    return "lateness: " + lateness + R"(
rules:
  - id: r
    category: water.waterlogging
    priority: normal
    input: {type: level}
    when: {threshold: {above: 90}, for: 10m}
)";
  }
  const std::string yaml_ = rules_yaml("0s");
};

// A process that checkpoints, takes more readings (journalled) and dies: the next one recovers
// both and fires the duration at its original time.
TEST_F(StateFileTest, SnapshotPlusJournalRecoversAndFiresOnTime) {
  {
    Engine e(rules_from(yaml_), {{.id = "d1"}}, Catalog::builtin());
    StateFile files(dir_);
    auto rec = files.recover(e, at(0));
    ASSERT_TRUE(rec.has_value()) << rec.error().message;
    EXPECT_FALSE(rec->had_snapshot);
    ASSERT_EQ(e.offer(level(10, 50), at(10)), Offer::kAccepted);
    ASSERT_TRUE(files.record(level(10, 50), at(10)).has_value());
    EXPECT_TRUE(e.advance(at(10)).empty());
    ASSERT_TRUE(files.checkpoint(e).has_value());
    EXPECT_EQ(std::filesystem::file_size(files.journal_path()), 0u);
    // After the checkpoint: the duration starts at 60 s, journalled only.
    ASSERT_EQ(e.offer(level(60, 95), at(60)), Offer::kAccepted);
    ASSERT_TRUE(files.record(level(60, 95), at(60)).has_value());
    EXPECT_TRUE(e.advance(at(60)).empty());
  }  // "crash": no checkpoint
  Engine e(rules_from(yaml_), {{.id = "d1"}}, Catalog::builtin());
  StateFile files(dir_);
  auto rec = files.recover(e, at(300));
  ASSERT_TRUE(rec.has_value()) << rec.error().message;
  EXPECT_TRUE(rec->had_snapshot);
  EXPECT_EQ(rec->journal_inputs, 1u);
  EXPECT_TRUE(rec->intents.empty());
  EXPECT_TRUE(rec->warnings.empty());
  Log log;
  for (double now : {300.0, 659.0, 660.0, 700.0})
    for (const Intent& i : e.advance(at(now))) log.push_back(brief(i));
  EXPECT_EQ(log, (Log{"open@660 normal"}));
}

// A process killed before its first snapshot: its journal alone is replayed, from where it
// begins. The dead process had taken a reading that was on time for its window (last moved at
// 99 s: 94 s with 5 s of lateness) though older than 100 s - 5 s; the replay takes it too, and the
// duration runs from it.
TEST_F(StateFileTest, AJournalWithoutASnapshotIsReplayedFromItsOwnStart) {
  const std::string yaml = rules_yaml("5s");
  {
    Engine e(rules_from(yaml), {{.id = "d1"}}, Catalog::builtin());
    StateFile files(dir_);
    ASSERT_TRUE(files.recover(e, at(0)).has_value());
    EXPECT_TRUE(e.advance(at(99)).empty());
    ASSERT_EQ(e.offer(level(94.5, 95), at(100)), Offer::kAccepted);
    ASSERT_TRUE(files.record(level(94.5, 95), at(100)).has_value());
  }  // killed: no snapshot
  Engine e(rules_from(yaml), {{.id = "d1"}}, Catalog::builtin());
  StateFile files(dir_);
  auto rec = files.recover(e, at(300));  // the next process, minutes later
  ASSERT_TRUE(rec.has_value()) << rec.error().message;
  EXPECT_FALSE(rec->had_snapshot);
  EXPECT_EQ(rec->journal_inputs, 1u);
  EXPECT_TRUE(rec->warnings.empty()) << rec->warnings.front();
  Log log;
  for (double now : {300.0, 699.0, 699.5})
    for (const Intent& i : e.advance(at(now))) log.push_back(brief(i));
  EXPECT_EQ(log, (Log{"open@694.5 normal"})) << "the duration runs from the journalled reading at 94.5 s";
}

TEST_F(StateFileTest, TornJournalLineAndBrokenSnapshotAreSurvived) {
  std::filesystem::create_directories(dir_);
  std::ofstream(dir_ / "rules-state.json") << "{\"version\": 1, \"watermark\": ";
  std::ofstream(dir_ / "rules-journal.jsonl")
      << R"({"now":1000,"reading":{"device_id":"d1","ts":1000,"type":"level","value":95}})" << "\n"
      << R"({"now":2000,"reading":{"device_id":"d1","ts")";
  Engine e(rules_from(yaml_), {{.id = "d1"}}, Catalog::builtin());
  StateFile files(dir_);
  auto rec = files.recover(e, at(3));
  ASSERT_TRUE(rec.has_value()) << rec.error().message;
  EXPECT_FALSE(rec->had_snapshot);
  EXPECT_EQ(rec->journal_inputs, 1u);
  ASSERT_EQ(rec->warnings.size(), 2u);
  EXPECT_NE(rec->warnings[0].find("moved to"), std::string::npos) << rec->warnings[0];
  EXPECT_NE(rec->warnings[1].find("rules-journal.jsonl:2: unreadable journal line skipped"), std::string::npos)
      << rec->warnings[1];
  EXPECT_TRUE(std::filesystem::exists(dir_ / "rules-state.json.bad"));
}

TEST_F(StateFileTest, UnwritableDirectoryIsAnIoErrorNotACrash) {
  StateFile files("/proc/gridwatch-cannot-write-here");
  Engine e(rules_from(yaml_), {{.id = "d1"}}, Catalog::builtin());
  EXPECT_EQ(files.checkpoint(e).error().code, ErrorCode::kIo);
}

TEST_F(StateFileTest, FullDiskIsAnIoError) {
  // /dev/full accepts opens and fails every write with ENOSPC.
  if (!std::filesystem::exists("/dev/full")) GTEST_SKIP() << "no /dev/full";
  std::filesystem::create_directories(dir_);
  std::filesystem::create_symlink("/dev/full", dir_ / "rules-journal.jsonl");
  StateFile files(dir_);
  auto st = files.record(level(1, 1), at(1));
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().code, ErrorCode::kIo);
  EXPECT_NE(st.error().message.find("No space left on device"), std::string::npos) << st.error().message;
}

}  // namespace
}  // namespace gridwatch::rules::testing
