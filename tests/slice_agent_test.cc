// The walking skeleton's agent process: killed, restarted, reloaded and stopped, with nothing
// lost or doubled; readings on one instant and bad readings.
#include "slice_fixture.h"

namespace gridwatch::testing {
namespace {

TEST_F(Slice, KilledAgentShowsOfflineThroughItsLastWill) {
  Listener status(svc_, fmt::format("{}/agents/{}/status", prefix_, agent_id_));
  start_agent();
  ASSERT_TRUE(reports(status, "online"));
  ::kill(agent_->pid(), SIGKILL);
  agent_->wait(5s);
  ASSERT_TRUE(reports(status, "offline")) << "no last will seen";
  // Retained: a newcomer sees offline too.
  Listener late(svc_, fmt::format("{}/agents/{}/status", prefix_, agent_id_));
  ASSERT_TRUE(eventually([&] { return late.last_json().has_value(); }));
  EXPECT_EQ(late.last_json()->value("state", ""), "offline");
  EXPECT_TRUE(late.messages().back().retained);
}

// A duration half elapsed when the agent is killed still fires at its original time after a
// restart (the reading is in the rule journal), once.
TEST_F(Slice, AgentKilledInTheMiddleOfADurationOpensOnTimeAfterRestart) {
  Listener status(svc_, fmt::format("{}/agents/{}/status", prefix_, agent_id_));
  start_agent();
  ASSERT_TRUE(reports(status, "online"));
  publish_reading("bin-8", 1, 99);
  ASSERT_TRUE(eventually([&] {
    return read_file(dir_ / "agent-data" / "rules" / "rules-journal.jsonl").find("bin-8") != std::string::npos;
  }));
  ::kill(agent_->pid(), SIGKILL);
  ASSERT_TRUE(agent_->wait(10s).has_value());
  agent_.reset();
  start_agent();
  const std::string id = fmt::format("{}.bin_stuck.bin-8.{}", agent_id_, id_time(7));
  ASSERT_TRUE(eventually([&] { return http_get(http_port_, "/api/v1/orders/" + id).status == 200; }))
      << "no order " << id;
  auto order = json::parse(http_get(http_port_, "/api/v1/orders/" + id).body);
  EXPECT_EQ(parse_rfc3339(order["properties"]["observed_at"].get<std::string>()), reading_time(7));
  EXPECT_EQ(parse_rfc3339(order["properties"]["first_seen_at"].get<std::string>()), reading_time(1));
  // A barrier: a later reading of another bin opens an order at once. The restarted agent
  // replays its journal before it reads anything new and sends in order, so a second open of
  // bin-8 would have been stored before this one.
  const int barrier = std::max(8, second_from_now());  // a restart under load can take seconds
  publish_reading("bin-7", barrier, 95);
  const std::string later = fmt::format("{}.bin_full.bin-7.{}", agent_id_, id_time(barrier));
  ASSERT_TRUE(eventually([&] { return http_get(http_port_, "/api/v1/orders/" + later).status == 200; }))
      << "no order " << later;
  EXPECT_EQ(count("SELECT count(*) FROM order_events WHERE order_id LIKE $1",
                  fmt::format("{}.bin_stuck.%", agent_id_)),
            1);
}

// kill -9 in the middle of a stream of order events: every event the agent had queued reaches
// the center after the restart (from the outbox on disk), and none becomes a second case.
TEST_F(Slice, AgentKilledMidStreamLosesNoQueuedEventAndMakesNoDuplicateCase) {
  Listener status(svc_, fmt::format("{}/agents/{}/status", prefix_, agent_id_));
  // The events are made at once and leave at one every five seconds: the kill finds most of them
  // on disk even on a slow, busy machine (at one every two seconds, one such run found none left).
  drain_rate_ = 0.2;
  start_agent();
  ASSERT_TRUE(reports(status, "online"));
  // bin-7 goes full and empty every second: an open and a clear a second.
  auto queued = [&](const std::string& log) {
    std::set<std::pair<std::string, std::string>> out;
    const std::string text = read_file(log);
    const std::regex line(R"(order (open|update|clear) (\S+) \(\S+\) queued as outbox event)");
    for (auto it = std::sregex_iterator(text.begin(), text.end(), line); it != std::sregex_iterator(); ++it)
      out.insert({(*it)[2], (*it)[1]});
    return out;
  };
  int second = 0;
  for (; second < 12; ++second) publish_reading("bin-7", second, second % 2 ? 10 : 99);
  ASSERT_TRUE(eventually([&] { return queued((dir_ / "agent.log").string()).size() >= 6; }));
  // Some have left already (one every five seconds), the others wait on disk.
  ASSERT_TRUE(eventually([&] {
    return count("SELECT count(*) FROM order_events WHERE order_id LIKE $1", fmt::format("{}.bin_full.%", agent_id_)) >= 1;
  }, 40s));
  ::kill(agent_->pid(), SIGKILL);
  ASSERT_TRUE(agent_->wait(10s).has_value());
  agent_.reset();
  auto before = queued((dir_ / "agent.log").string());
  std::filesystem::rename(dir_ / "agent.log", dir_ / "agent-killed.log");
  drain_rate_ = 500;  // restarted with the default
  start_agent();
  ASSERT_TRUE(reports(status, "online"));
  std::smatch m;
  std::string restarted;
  ASSERT_TRUE(eventually([&] {
    restarted = read_file(dir_ / "agent.log");
    return std::regex_search(restarted, m, std::regex(R"(outbox: (\d+) events from before the restart)"));
  })) << restarted;
  EXPECT_GE(std::stoi(m[1]), 1) << "the kill left queued events on disk";
  for (; second < 20; ++second) publish_reading("bin-7", second, second % 2 ? 10 : 99);
  // Every reading's event, before the kill or after (the journal replays what the killed process
  // had taken and not evaluated): an open at each even second, 10 in all.
  auto all = before;
  auto opens = [&] {
    for (const auto& e : queued((dir_ / "agent.log").string())) all.insert(e);
    size_t n = 0;
    for (const auto& [id, event] : all) n += event == "open";
    return n;
  };
  ASSERT_TRUE(eventually([&] { return opens() == 10; }, 30s)) << opens() << " opens queued";
  // Every queued event is stored at the center, once.
  for (const auto& [id, event] : all)
    EXPECT_TRUE(eventually([&] {
      return count("SELECT count(*) FROM order_events WHERE order_id = $1 AND event = '" + event + "'", id) == 1;
    }, 30s)) << id << " " << event << " never arrived";
  const size_t opened = opens();
  EXPECT_EQ(count("SELECT count(*) FROM orders WHERE id LIKE $1", fmt::format("{}.bin_full.%", agent_id_)),
            static_cast<int>(opened))
      << "one case per opened order, none twice";
}

// SIGHUP reads the configuration again: a new sensor and rule work at once, an unchanged rule
// keeps its half-elapsed duration, and what needs a restart (or does not parse) is refused with
// the reason while the agent goes on with what it had.
TEST_F(Slice, SighupReloadsSensorsAndRulesKeepingTheStateOfUnchangedRules) {
  Listener status(svc_, fmt::format("{}/agents/{}/status", prefix_, agent_id_));
  start_agent();
  ASSERT_TRUE(reports(status, "online"));
  publish_reading("bin-8", 1, 99);  // bin_stuck: above 95 for 6 s
  ASSERT_TRUE(eventually([&] {
    return read_file(dir_ / "agent-data" / "rules" / "rules-journal.jsonl").find("bin-8") != std::string::npos;
  }));
  // A new sensor, rule and camera (vtest.avi on repeat).
  more_sensors_ = fmt::format("  - device_id: bin-9\n    type: bin_fill\n    location: {{lon: {}, lat: {}}}\n"
                              "cameras:\n  - camera: {{id: hall, source: \"{}\", loop: true}}\n"
                              "    detectors: [{{type: motion, label: person}}]\n",
                              bin7().lon + 0.0022, bin7().lat, "/usr/share/doc/opencv-doc/examples/data/vtest.avi");
  more_rules_ =
      "    - id: bin_full_9\n      category: sanitation.bin_overflow\n"
      "      input: {type: bin_fill, devices: [bin-9]}\n      when: {threshold: {above: 90, clear_below: 60}}\n";
  write_file(dir_ / "agent.yaml", agent_yaml());
  ::kill(agent_->pid(), SIGHUP);
  ASSERT_TRUE(eventually([&] {
    return read_file(dir_ / "agent.log").find("configuration reloaded: 1 cameras, 3 sensors, 3 rules (0 rule states changed or dropped)") !=
           std::string::npos;
  })) << read_file(dir_ / "agent.log");
  EXPECT_NE(read_file(dir_ / "agent.log").find("reload: camera hall started"), std::string::npos);
  ASSERT_TRUE(eventually([&] {
    auto st = status.last_json();
    return st && st->contains("cameras") && (*st)["cameras"].size() == 1 && (*st)["cameras"][0]["id"] == "hall" &&
           (*st)["cameras"][0]["state"] == "running" && (*st)["cameras"][0]["frames_in"].get<int>() > 0;
  })) << status.last_json().value_or(json()).dump();
  // Stamped now: starting the camera can take seconds, and a reading behind the clock is late.
  const int full = second_from_now();
  publish_reading("bin-9", full, 99);
  ASSERT_TRUE(eventually([&] {
    return http_get(http_port_, fmt::format("/api/v1/orders/{}.bin_full_9.bin-9.{}", agent_id_, id_time(full))).status == 200;
  })) << "the new sensor's rule works";
  const std::string stuck = fmt::format("{}.bin_stuck.bin-8.{}", agent_id_, id_time(7));
  ASSERT_TRUE(eventually([&] { return http_get(http_port_, "/api/v1/orders/" + stuck).status == 200; }))
      << "the unchanged rule kept its duration across the reload";
  auto order = json::parse(http_get(http_port_, "/api/v1/orders/" + stuck).body);
  EXPECT_EQ(parse_rfc3339(order["properties"]["first_seen_at"].get<std::string>()), reading_time(1));

  // A change that needs a restart, then a file that does not parse: refused, nothing changes.
  std::string yaml = agent_yaml();
  yaml.replace(yaml.find(svc_.mqtt_url), svc_.mqtt_url.size(), "tcp://127.0.0.1:1");
  write_file(dir_ / "agent.yaml", yaml);
  ::kill(agent_->pid(), SIGHUP);
  ASSERT_TRUE(eventually([&] {
    return read_file(dir_ / "agent.log").find("reload refused: broker.url changed: restart the agent to apply it") !=
           std::string::npos;
  })) << read_file(dir_ / "agent.log");
  write_file(dir_ / "agent.yaml", agent_yaml() + "sensors: [\n");
  ::kill(agent_->pid(), SIGHUP);
  ASSERT_TRUE(eventually([&] {
    const std::string log = read_file(dir_ / "agent.log");
    const auto at = log.rfind("reload refused: ");
    return at != std::string::npos && log.find("agent.yaml:", at) != std::string::npos;
  })) << read_file(dir_ / "agent.log");
  // Still the reloaded rules: bin-9's order clears (a reading of now: older ones are late).
  publish_reading("bin-9", second_from_now(), 10);
  ASSERT_TRUE(eventually([&] {
    auto r = http_get(http_port_, fmt::format("/api/v1/orders/{}.bin_full_9.bin-9.{}", agent_id_, id_time(full)));
    return r.status == 200 && json::parse(r.body)["properties"]["status"] == "cleared";
  }));
  EXPECT_TRUE(agent_->running());
}

TEST_F(Slice, StoppedAgentSaysOfflineAndExitsZero) {
  Listener status(svc_, fmt::format("{}/agents/{}/status", prefix_, agent_id_));
  start_agent();
  ASSERT_TRUE(reports(status, "online"));
  ::kill(agent_->pid(), SIGTERM);
  auto st = agent_->wait(10s);
  ASSERT_TRUE(st.has_value());
  EXPECT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) == 0);
  ASSERT_TRUE(reports(status, "offline"));
}

// Monitors that report on the same instant (stamped on the second, as many gateways do), with
// the agent's `lateness: 0s`: every one of them is evaluated, none is refused as late.
TEST_F(Slice, SensorsReportingOnTheSameInstantAreAllEvaluated) {
  more_sensors_ = fmt::format(
      "  - {{device_id: bin-9, type: bin_fill, location: {{lon: {0}, lat: {1}, accuracy_m: 5}}}}\n"
      "  - {{device_id: bin-10, type: bin_fill, location: {{lon: {0}, lat: {2}, accuracy_m: 5}}}}\n",
      bin7().lon, bin7().lat + 0.0011, bin7().lat + 0.0022);
  more_rules_ =
      "    - id: row_full\n      category: sanitation.bin_overflow\n      input: {type: bin_fill, devices: [bin-9, bin-10]}\n"
      "      when: {threshold: {above: 90, clear_below: 60}}\n";
  Listener status(svc_, fmt::format("{}/agents/{}/status", prefix_, agent_id_));
  start_agent();
  ASSERT_TRUE(reports(status, "online"));
  for (const char* bin : {"bin-7", "bin-9", "bin-10"}) publish_reading(bin, 2, 97);
  for (const std::string& id : {fmt::format("{}.bin_full.bin-7.{}", agent_id_, id_time(2)),
                               fmt::format("{}.row_full.bin-9.{}", agent_id_, id_time(2)),
                               fmt::format("{}.row_full.bin-10.{}", agent_id_, id_time(2))})
    EXPECT_TRUE(eventually([&] { return http_get(http_port_, "/api/v1/orders/" + id).status == 200; })) << id;
  ASSERT_TRUE(eventually([&] {
    auto j = status.last_json();
    return j && j->value("readings_received", 0) == 3;
  })) << (status.last_json() ? status.last_json()->dump() : "no status");
  EXPECT_EQ(status.last_json()->value("readings_late", -1), 0);
  EXPECT_EQ(status.last_json()->value("readings_rejected", -1), 0);
}

TEST_F(Slice, BadReadingsAreCountedKeptAndTheGoodOnesStillWork) {
  Listener status(svc_, fmt::format("{}/agents/{}/status", prefix_, agent_id_));
  start_agent();
  ASSERT_TRUE(reports(status, "online"));
  publish(fmt::format("{}/sensors/bin-7/reading", prefix_), "{\"ts\":");
  publish(fmt::format("{}/sensors/bin-404/reading", prefix_),
          R"({"ts":"2026-11-23T08:00:00Z","type":"bin_fill","value":99})");
  publish_reading("bin-7", 5, 99);
  publish_reading("bin-7", -600, 99);  // ten minutes old: behind the rule engine's lateness
  publish_reading("bin-7", 5, 99);     // the same reading again: a duplicate, not a dead letter
  publish_reading("bin-7", 7200, 99);  // two hours ahead: a clock gone wrong, refused
  ASSERT_TRUE(eventually([&] {
    auto r = http_get(http_port_, fmt::format("/api/v1/orders/{}.bin_full.bin-7.{}", agent_id_, id_time(5)));
    return r.status == 200;
  }));
  ASSERT_TRUE(eventually([&] {
    auto j = status.last_json();
    return j && j->value("readings_rejected", 0) == 4 && j->value("readings_late", 0) == 1 &&
           j->value("readings_duplicate", 0) == 1;
  })) << (status.last_json() ? status.last_json()->dump() : "no status");
  std::string dead = read_file(dir_ / "agent-data" / "dead-letter.jsonl");
  EXPECT_NE(dead.find("payload is not valid JSON"), std::string::npos) << dead;
  EXPECT_NE(dead.find("unknown device \\\"bin-404\\\""), std::string::npos) << dead;
  EXPECT_NE(dead.find("older than the rule engine's lateness window"), std::string::npos) << dead;
  EXPECT_NE(dead.find("is in the future"), std::string::npos) << dead;
}

}  // namespace
}  // namespace gridwatch::testing
