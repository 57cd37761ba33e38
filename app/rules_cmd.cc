// gridwatch rules replay: recorded readings through a rule file, as fast as possible, to tune a
// rule on last month's data before deploying it.
#include <chrono>
#include <fstream>

#include <fmt/format.h>

#include "commands.h"
#include "gridwatch/rules/replay.h"

namespace gridwatch::app {

int run_rules_replay(const RulesReplayOptions& options) {
  const Catalog& catalog = Catalog::builtin();
  auto rules = rules::load_rules(options.rules, catalog);
  if (!rules) {
    fmt::print(stderr, "error: {}\n", rules.error().message);
    return kExitUsage;
  }
  std::ifstream readings(options.readings, std::ios::binary);
  if (!readings) {
    fmt::print(stderr, "error: {}: cannot open file\n", options.readings.string());
    return kExitUsage;
  }
  std::ofstream file_out;
  std::ostream* out = open_output(options.events_out, file_out);
  if (!out) return kExitUsage;
  rules::Engine engine(std::move(*rules), {}, catalog, {.accept_unknown_devices = true});
  const auto started = std::chrono::steady_clock::now();
  auto stats = rules::replay_csv(
      readings, engine,
      [&](const rules::Intent& i) { *out << rules::intent_json(i).dump() << '\n'; },
      [&](size_t line, const std::string& message) {
        fmt::print(stderr, "{}:{}: {}\n", options.readings.string(), line, message);
      });
  if (!stats) {
    fmt::print(stderr, "error: {}\n", stats.error().message);
    return kExitFailure;
  }
  out->flush();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const auto& e = stats->engine;
  fmt::print(stderr,
             "replayed {} rows ({} bad, {} late, {} duplicate, {} unused) in {:.3f} s: {} opened, "
             "{} updated, {} cleared, {} still open; {} subjects\n",
             stats->rows, stats->bad_rows, e.late, e.duplicates, e.unused, seconds, e.opened,
             e.updated, e.cleared, e.open_episodes, e.states);
  return kExitOk;
}

}  // namespace gridwatch::app
