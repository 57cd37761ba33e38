// Test harness for the rule engine: rules from YAML text, inputs at seconds after a fixed
// origin, intents written as short strings ("open@10 normal", "clear@40", "update@1810 high").
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <fmt/format.h>

#include "gridwatch/rules/engine.h"

namespace gridwatch::rules::testing {

// 2026-11-23T00:00:00Z, a Monday (08:00 in Asia/Shanghai).
inline const Timestamp kOrigin = *parse_rfc3339("2026-11-23T00:00:00Z");
inline Timestamp at(double seconds) {
  return kOrigin + Duration{static_cast<int64_t>(seconds * 1000)};
}
inline double seconds_of(Timestamp t) {
  return static_cast<double>((t - kOrigin).count()) / 1000.0;
}

inline RuleSet rules_from(const std::string& yaml) {
  auto r = parse_rules(yaml, "rules.yaml", Catalog::builtin());
  EXPECT_TRUE(r.has_value()) << r.error().message;
  return r ? std::move(*r) : RuleSet{};
}

inline std::string brief(const Intent& i) {
  std::string s = fmt::format("{}@{:g}", to_string(i.kind), seconds_of(i.at));
  if (i.kind != IntentKind::kClear) s += fmt::format(" {}", to_string(i.priority));
  return s;
}

// Drives an engine with an injected clock.
class Driver {
 public:
  explicit Driver(const std::string& yaml, std::vector<DeviceInfo> devices = {{.id = "d1"}},
                  EngineOptions options = {})
      : engine_(rules_from(yaml), std::move(devices), Catalog::builtin(), options) {
    engine_.start(at(0));
  }
  // A reading stamped and delivered at `t` seconds (the clock moves to t).
  Offer reading(double t, double value, const std::string& device = "d1",
                const std::string& type = "level") {
    return reading_at(t, t, value, device, type);
  }
  // A reading stamped `t` delivered when the clock says `now`.
  Offer reading_at(double t, double now, double value, const std::string& device = "d1",
                   const std::string& type = "level") {
    Offer o = engine_.offer(Reading{.device_id = device, .ts = at(t), .type = type, .value = value}, at(now));
    tick(now);
    return o;
  }
  Offer event(double t, ZoneEventKind kind, const std::string& track, double stationary_s = 0,
              const std::string& object = "car", const std::string& zone = "gate") {
    Offer o = engine_.offer(ZoneEvent{.camera = "cam1", .zone = zone, .kind = kind, .object = object,
                                      .track = track, .ts = at(t),
                                      .stationary = Duration{static_cast<int64_t>(stationary_s * 1000)}},
                            at(t));
    tick(t);
    return o;
  }
  // Moves the clock to `now` with no input.
  void tick(double now) {
    for (Intent& i : engine_.advance(at(now))) intents_.push_back(std::move(i));
  }
  std::vector<std::string> log() const {
    std::vector<std::string> out;
    for (const Intent& i : intents_) out.push_back(brief(i));
    return out;
  }
  const std::vector<Intent>& intents() const { return intents_; }
  Engine& engine() { return engine_; }

 private:
  Engine engine_;
  std::vector<Intent> intents_;
};

using Log = std::vector<std::string>;

}  // namespace gridwatch::rules::testing
