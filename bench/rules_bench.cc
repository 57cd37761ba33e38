// Rule engine throughput: readings per second per core with 10,000 devices and 50 rules, against
// a naive baseline that re-evaluates every matching rule from the subject's raw history for every
// reading, in the same run; both must produce the same intents.
//
// Workload: 10 reading types, 5 rules per type (threshold with hysteresis, a 5-minute duration
// with escalation, 3-in-a-row, a count in a 10-minute window, a rate over 5 minutes, each
// combined with a no-data timer in some), 10,000 devices each sending one type, a reading per
// device every 60 s of simulated time, values a mean-reverting random walk that crosses the
// thresholds now and then.
// Every reading therefore evaluates 5 rule states; 50,000 states in all.
//
//   build/bench/rules_bench [ROUNDS] [BASELINE_DEVICES] [BASELINE_ROUNDS]
#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "gridwatch/rules/engine.h"

using namespace gridwatch;
using namespace gridwatch::rules;

namespace {

constexpr int kTypes = 10;
constexpr int kDevices = 10'000;

std::string rules_yaml(const std::string& lateness) {
  std::string y = fmt::format("lateness: {}\nrules:\n", lateness);
  for (int t = 0; t < kTypes; ++t) {
    const std::string type = fmt::format("type{}", t);
    y += fmt::format(R"(  - id: level_{0}
    category: sanitation.bin_overflow
    input: {{type: {1}}}
    when: {{threshold: {{above: 90, clear_below: 60}}}}
  - id: sustained_{0}
    category: sanitation.bin_overflow
    input: {{type: {1}}}
    when: {{threshold: {{above: 80, clear_below: 70}}, for: 5m}}
    escalate:
      - priority: high
        when: {{threshold: {{above: 95}}, for: 10m}}
  - id: repeated_{0}
    category: water.waterlogging
    input: {{type: {1}}}
    when: {{any: [{{threshold: {{above: 85}}, times: 3}}, {{no_data: {{for: 30m}}}}]}}
  - id: frequent_{0}
    category: environment.noise
    input: {{type: {1}}}
    when: {{count: {{above: 75, at_least: 5, within: 10m}}}}
  - id: rising_{0}
    category: water.waterlogging
    input: {{type: {1}}}
    when: {{all: [{{rate: {{above: 3, per: 1m, over: 5m}}}}, {{not: {{threshold: {{below: 20}}}}}}]}}
)",
                     t, type);
  }
  return y;
}

// Readings in time order: each round, every device reports once (spread over 60 s).
std::vector<Reading> make_readings(int devices, int rounds, uint64_t seed) {
  const Timestamp t0 = *parse_rfc3339("2026-11-01T00:00:00Z");
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> step(0.0, 3.0);
  std::vector<double> value(static_cast<size_t>(devices), 50.0);
  std::vector<std::string> ids, types;
  for (int d = 0; d < devices; ++d) {
    ids.push_back(fmt::format("dev{:05}", d));
    types.push_back(fmt::format("type{}", d % kTypes));
  }
  std::vector<Reading> out;
  out.reserve(static_cast<size_t>(devices) * static_cast<size_t>(rounds));
  for (int r = 0; r < rounds; ++r) {
    for (int d = 0; d < devices; ++d) {
      // Mean-reverting around 50 (a stationary spread of about ±14), so most devices are fine
      // most of the time and thresholds are crossed now and then, as in the field.
      double& v = value[static_cast<size_t>(d)];
      v = std::clamp(v + 0.1 * (50.0 - v) + step(rng), 0.0, 110.0);
      const auto offset = std::chrono::milliseconds{static_cast<int64_t>(r) * 60'000 +
                                                    static_cast<int64_t>(d) * 60'000 / devices};
      out.push_back({.device_id = ids[static_cast<size_t>(d)], .ts = t0 + offset,
                     .type = types[static_cast<size_t>(d)], .value = std::round(v * 10) / 10});
    }
  }
  return out;
}

std::vector<DeviceInfo> devices_of(int n) {
  std::vector<DeviceInfo> out;
  for (int d = 0; d < n; ++d)
    out.push_back({.id = fmt::format("dev{:05}", d), .types = {fmt::format("type{}", d % kTypes)}});
  return out;
}

struct Outcome {
  double seconds = 0;
  std::vector<std::string> intents;  // "kind id priority"
  EngineStats stats;
};

std::string key(const Intent& i) {
  return fmt::format("{} {} {}", to_string(i.kind), i.id, to_string(i.priority));
}

Outcome run_engine(const RuleSet& rules, const std::vector<Reading>& readings, int devices,
                   bool keep, size_t* bytes_per_state) {
  Outcome o;
  const size_t before = mallinfo2().uordblks;
  Engine engine(rules, devices_of(devices), Catalog::builtin());
  engine.start(readings.front().ts);
  const auto start = std::chrono::steady_clock::now();
  size_t intents = 0;
  for (const Reading& r : readings) {
    (void)engine.offer(r, r.ts);
    for (const Intent& i : engine.advance(r.ts)) {
      ++intents;
      if (keep) o.intents.push_back(key(i));
    }
  }
  for (const Intent& i : engine.advance_to(readings.back().ts))
    if (keep) o.intents.push_back(key(i));
  o.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  o.stats = engine.stats();
  if (bytes_per_state)
    *bytes_per_state = (mallinfo2().uordblks - before) / std::max<size_t>(1, o.stats.states);
  (void)intents;
  return o;
}

// The naive way: for every reading, every rule that reads it is re-run from a fresh state over
// the subject's whole history; the transitions this reading caused are those beyond the ones the
// previous re-run produced.
Outcome run_naive(const RuleSet& rules, const std::vector<Reading>& readings) {
  Outcome o;
  struct History {
    std::vector<Reading> readings;
    size_t emitted = 0;
  };
  std::map<std::pair<size_t, std::string>, History> histories;
  std::vector<RuleSet> single;
  for (const Rule& r : rules.rules) {
    RuleSet one;
    one.lateness = rules.lateness;
    one.timezone = rules.timezone;
    one.rules = {r};
    single.push_back(std::move(one));
  }
  const Timestamp start_time = readings.front().ts;
  const auto start = std::chrono::steady_clock::now();
  for (const Reading& reading : readings) {
    for (size_t ri = 0; ri < rules.rules.size(); ++ri) {
      if (rules.rules[ri].input.types.front() != reading.type) continue;
      History& h = histories[{ri, reading.device_id}];
      h.readings.push_back(reading);
      Engine e(single[ri], {{.id = reading.device_id, .types = {reading.type}}}, Catalog::builtin());
      e.start(start_time);
      std::vector<Intent> all;
      for (const Reading& past : h.readings) {
        (void)e.offer(past, past.ts);
        for (Intent& i : e.advance(past.ts)) all.push_back(std::move(i));
      }
      for (size_t k = h.emitted; k < all.size(); ++k) o.intents.push_back(key(all[k]));
      h.emitted = all.size();
    }
  }
  o.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  // Timers due after a subject's last reading but before the end of the data (outside the timing).
  for (auto& [k, h] : histories) {
    Engine e(single[k.first], {{.id = k.second, .types = {h.readings.front().type}}}, Catalog::builtin());
    e.start(start_time);
    std::vector<Intent> all;
    for (const Reading& past : h.readings) {
      (void)e.offer(past, past.ts);
      for (Intent& i : e.advance(past.ts)) all.push_back(std::move(i));
    }
    for (Intent& i : e.advance_to(readings.back().ts)) all.push_back(std::move(i));
    for (size_t j = h.emitted; j < all.size(); ++j) o.intents.push_back(key(all[j]));
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  const int rounds = argc > 1 ? std::atoi(argv[1]) : 200;
  const int naive_devices = argc > 2 ? std::atoi(argv[2]) : 200;
  const int naive_rounds = argc > 3 ? std::atoi(argv[3]) : 60;
  auto rules = parse_rules(rules_yaml("0s"), "bench-rules.yaml", Catalog::builtin());
  auto rules_late = parse_rules(rules_yaml("5s"), "bench-rules.yaml", Catalog::builtin());
  if (!rules || !rules_late) {
    std::fprintf(stderr, "rules: %s\n", (rules ? rules_late : rules).error().message.c_str());
    return 1;
  }
  std::printf("rules_bench: %d devices x %zu rules (%d types, 5 rules a type), %d rounds\n", kDevices,
              rules->rules.size(), kTypes, rounds);

  // 1. Engine at full size, lateness 0 (replay-style) and 5 s (buffered, as in the agent).
  const auto readings = make_readings(kDevices, rounds, 1);
  size_t bytes_per_state = 0;
  Outcome full = run_engine(*rules, readings, kDevices, false, &bytes_per_state);
  Outcome buffered = run_engine(*rules_late, readings, kDevices, false, nullptr);
  const double rps = static_cast<double>(readings.size()) / full.seconds;
  const double rps_buffered = static_cast<double>(readings.size()) / buffered.seconds;
  std::printf("engine:   %zu readings in %.3f s = %.0f readings/s (%.0f rule evaluations/s), %zu states, "
              "%.0f B per state; %lu opened, %lu updated, %lu cleared, %lu timers\n",
              readings.size(), full.seconds, rps, static_cast<double>(full.stats.evaluations) / full.seconds,
              full.stats.states, static_cast<double>(bytes_per_state), full.stats.opened, full.stats.updated,
              full.stats.cleared, full.stats.timers);
  std::printf("engine, lateness 5s (buffered): %.0f readings/s\n", rps_buffered);

  // 2. Same small workload through the engine and the naive baseline: rates and answers.
  const auto small = make_readings(naive_devices, naive_rounds, 2);
  Outcome fast = run_engine(*rules, small, naive_devices, true, nullptr);
  Outcome naive = run_naive(*rules, small);
  const double fast_rps = static_cast<double>(small.size()) / fast.seconds;
  const double naive_rps = static_cast<double>(small.size()) / naive.seconds;
  auto sorted = [](std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    return v;
  };
  const bool same = sorted(fast.intents) == sorted(naive.intents);
  std::printf("baseline: %zu readings (%d devices x %d rounds): engine %.0f readings/s, naive %.0f "
              "readings/s, ratio %.0fx; %zu intents, answers %s\n",
              small.size(), naive_devices, naive_rounds, fast_rps, naive_rps, fast_rps / naive_rps,
              fast.intents.size(), same ? "identical" : "DIFFER");
  std::printf(
      "RESULT devices=%d rules=%zu readings=%zu readings_per_s=%.0f readings_per_s_lateness5s=%.0f "
      "bytes_per_state=%zu states=%zu baseline_readings=%zu engine_small_rps=%.0f naive_rps=%.0f "
      "ratio_vs_naive=%.1f intents_compared=%zu answers_identical=%d\n",
      kDevices, rules->rules.size(), readings.size(), rps, rps_buffered, bytes_per_state, full.stats.states,
      small.size(), fast_rps, naive_rps, fast_rps / naive_rps, fast.intents.size(), same ? 1 : 0);
  return same ? 0 : 1;
}
