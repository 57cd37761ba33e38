// The rule engine's snapshot file after a crash or a bad disk: recover() moves a snapshot it
// cannot read aside and starts fresh; never a crash.
#include "fuzz_target.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "gridwatch/domain/catalog.h"
#include "gridwatch/rules/engine.h"
#include "gridwatch/rules/ruleset.h"
#include "gridwatch/rules/state_file.h"

GW_FUZZ_TARGET(rules_state) {
  using namespace gridwatch;
  static const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("gw-fuzz-rules-state-" + std::to_string(getpid()));
  static const rules::RuleSet rules = [] {
    auto r = rules::parse_rules("lateness: 0s\nrules:\n  - id: r\n    category: water.waterlogging\n"
                                "    priority: normal\n    input: {type: level}\n"
                                "    when: {threshold: {above: 90}, for: 10m}\n",
                                "rules.yaml", Catalog::builtin());
    if (!r) fuzz::broken("the fixed rule set does not parse");
    return *r;
  }();
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "rules-state.json", std::ios::binary).write(reinterpret_cast<const char*>(data),
                                                                   static_cast<std::streamsize>(size));
  rules::Engine engine(rules, {{.id = "d1"}}, Catalog::builtin());
  rules::StateFile files(dir);
  (void)files.recover(engine, Timestamp{});
  return 0;
}
