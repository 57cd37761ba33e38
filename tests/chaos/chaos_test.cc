// Chaos: the whole system under one fault per run, then the books.
//
// Three real agents (`gridwatch agent`, 50 bin sensors each) and two real centers (`gridwatch
// center`, one share group) on a private Mosquitto and a private PostgreSQL + PostGIS that each
// run starts for itself (so that it may kill them). The sensors (this program) send 68 readings
// each, alternately over and under the threshold: 10,200 order events (open, clear, open, ...),
// one per reading. One fault is injected while they flow (kill -9 of an agent, of the broker, of a
// center, of PostgreSQL; SIGSTOP of a center; an agent's disk full; the agents cut off from the
// broker by nftables in a network namespace; an agent's clock hours behind); then the faulty part
// comes back, the stream ends and the books are checked:
//   - every event an agent's outbox accepted (its log says so) is stored exactly once
//     (order_events: a duplicate cannot be a second row, it is counted by the centers' metric),
//     and every reading made its event (none missing, none unexpected);
//   - every order is one source of one case, and every case is placed (district and grid);
//   - each process's metrics add up (check_metrics).
// Each run prints one line of the table in docs/RELIABILITY.md: fault, events the outboxes
// accepted, events stored, lost (accepted, not stored), duplicates the centers noticed, events the
// readings called for that were never made, time to recover (from the fault's end until every
// accepted event is stored).
#include <gtest/gtest.h>

#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <exception>
#include <filesystem>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "gridwatch/domain/order.h"
#include "gridwatch/domain/time.h"
#include "gridwatch/platform/mqtt.h"
#include "gridwatch/platform/process.h"
#include "gridwatch/platform/services.h"
#include "support.h"
#include "chaos/world.h"

namespace gridwatch::testing::chaos {
namespace {

using Clock = std::chrono::steady_clock;
constexpr int kTail = 3;      // readings under the threshold after them: the last clear is decided
constexpr const char* kFaketime = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";

// The books after a run. `lost` and `unexpected` must be empty; the rest is printed.
struct Books {
  size_t accepted = 0;  // events the agents' outboxes accepted
  size_t lost = 0;      // of those, not stored
  size_t expected = 0, stored = 0;  // events the readings call for; events stored
  size_t not_made = 0, unexpected = 0;  // called for but never made; made but not called for
  int64_t duplicates = 0;
  double recover_s = 0;
};

// Settled: every accepted event is stored and every event the readings call for (an agent makes
// an event once its lateness window has passed the reading, so the last ones come seconds after).
Books settle(World& w, const std::set<std::tuple<std::string, std::string, std::string>>& want,
             Clock::time_point fault_over, std::chrono::seconds timeout = 120s) {
  Books b;
  b.expected = want.size();
  std::set<std::pair<std::string, std::string>> accepted, stored;
  // The agents make an event once their lateness window has passed its reading: until then what
  // they accepted is not yet all they will accept.
  std::this_thread::sleep_for(std::max(Duration{0}, w.last_step() + kLateness + 1s - now_utc()));
  // Settled: everything the outboxes accepted is stored (or the time is up).
  eventually([&] {
    accepted = w.accepted();
    stored = w.stored_ids();
    if (!std::includes(stored.begin(), stored.end(), accepted.begin(), accepted.end())) return false;
    const auto got = w.stored();
    return std::includes(got.begin(), got.end(), want.begin(), want.end());
  }, timeout);
  b.recover_s = std::chrono::duration<double>(Clock::now() - fault_over).count();
  b.accepted = accepted.size();
  for (const auto& e : accepted)
    if (!stored.count(e) && ++b.lost <= 5) fmt::print("lost: {} {}\n", e.first, e.second);
  const auto got = w.stored();
  b.stored = got.size();
  for (const auto& e : want)
    if (!got.count(e) && ++b.not_made <= 5)
      fmt::print("not made: {} {} {}\n", std::get<0>(e), std::get<1>(e), std::get<2>(e));
  for (const auto& e : got) b.unexpected += want.count(e) ? 0u : 1u;
  for (int c = 0; c < 2; ++c) b.duplicates += static_cast<int64_t>(std::max(0.0, w.center_metric(c, "gw_center_orders_duplicate_total")));
  return b;
}

// Every order (episode) is one source in one case; a case never joins two sensors 150 m apart;
// every source is placed. (Whether a sensor's next episode joins its previous case depends on
// whether that case's clear was stored first, which is timing with two centers, fault or none:
// not compared.)
void check_cases(World& w) {
  const auto rows = sql(w.conninfo(), R"(
    SELECT (SELECT count(*) FROM sources),
           (SELECT count(*) FROM sources s LEFT JOIN orders o ON o.id = s.case_id WHERE o.id IS NULL),
           (SELECT count(*) FROM (SELECT case_id FROM sources GROUP BY case_id
                                  HAVING count(DISTINCT device_id) > 1) AS mixed),
           (SELECT count(*) FROM sources WHERE area_code IS NULL OR areas IS NULL))");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(std::stoi(rows[0][0]), kAgents * kDevices * kSteps / 2) << "one source an episode (an open)";
  EXPECT_EQ(rows[0][1], "0") << "every source has its case";
  EXPECT_EQ(rows[0][2], "0") << "no case joins two sensors";
  EXPECT_EQ(rows[0][3], "0") << "every source is placed";
}

// Each process's books: every center's messages received = stored + duplicates + rejected, the
// centers together stored as many events as order_events holds (unless one was started again: its
// counters began anew), and every agent that ran all along had each event its outbox accepted
// confirmed by a center and holds none unconfirmed.
void check_metrics(World& w) {
  double stored = 0, duplicates = 0;
  for (int c = 0; c < 2; ++c) {
    double received = 0, st = 0, dup = 0, rejected = 0;
    const bool adds_up = eventually([&] {
      const std::string m = w.center_metrics(c);
      received = metric(m, "gw_center_messages_received_total");
      st = metric(m, "gw_center_orders_stored_total");
      dup = metric(m, "gw_center_orders_duplicate_total");
      rejected = metric(m, "gw_center_messages_rejected_total");
      return received >= 0 && received == st + dup + rejected;
    }, 30s);
    EXPECT_TRUE(adds_up) << fmt::format("center {}: received {} != stored {} + duplicates {} + rejected {}", c, received,
                                        st, dup, rejected);
    stored += st;
    duplicates += dup;
  }
  if (!w.center_restarted()) {
    const auto rows = sql(w.conninfo(), "SELECT count(*) FROM order_events");
    ASSERT_EQ(rows.size(), 1u);
    const double n = std::stod(rows[0][0]);
    if (!w.database_crashed()) {
      EXPECT_EQ(stored, n) << "the centers' stored events against the table";
    } else {
      // A commit the crash cut off may have happened: the center cannot know, stores the batch
      // again and then finds it stored (a duplicate to its books).
      EXPECT_LE(stored, n);
      EXPECT_GE(stored + duplicates, n);
    }
  }
  for (int a = 0; a < kAgents; ++a) {
    if (w.agents_restarted().count(a)) continue;
    const auto accepted = static_cast<double>(w.accepted(a).size());
    EXPECT_TRUE(eventually([&] {
      return w.agent_metric(a, "gw_agent_outbox_confirmed_total") == accepted &&
             w.agent_metric(a, "gw_agent_outbox_unconfirmed") == 0;
    }, 60s)) << fmt::format("agent {}: accepted {}, confirmed {}, unconfirmed {}", a, accepted,
                            w.agent_metric(a, "gw_agent_outbox_confirmed_total"),
                            w.agent_metric(a, "gw_agent_outbox_unconfirmed"));
  }
}

// A row of docs/RELIABILITY.md's table.
void report(const std::string& fault, const Books& b) {
  fmt::print("CHAOS | {} | {} | {} | {} | {} | {} | {:.1f} s |\n", fault, b.accepted, b.stored, b.lost, b.duplicates,
             b.not_made, b.recover_s);
  std::fflush(stdout);
}

// Sends steps [from, to) to every agent.
void steps(World& w, int from, int to) {
  for (int k = from; k < to; ++k) w.send_step(k);
}

// One run: the stream's first `at` steps, then `fault` (it returns once the faulty part is back,
// with the step the stream goes on from: a fault may send steps while it lasts), the rest of the
// stream, then the books. Returns them.
Books run(World& w, const std::string& label, int at, const std::function<int()>& fault) {
  w.start_all();
  steps(w, 0, at);
  // An agent makes a reading's event once its lateness window has passed it: the fault strikes
  // when the first steps' events are on their way and the last ones' are still to be made.
  if (at > 0) std::this_thread::sleep_for(std::max(Duration{0}, w.first_step() + kLateness + 1s - now_utc()));
  const int next = fault();
  const auto over = Clock::now();
  steps(w, next, kSteps + kTail);
  const Books b = settle(w, w.expected(), over);
  report(label, b);
  EXPECT_EQ(b.lost, 0u) << "events the outboxes accepted and no center stored";
  EXPECT_EQ(b.unexpected, 0u) << "events no reading called for";
  EXPECT_EQ(b.not_made, 0u) << "readings the agents took and made nothing of";
  check_cases(w);
  check_metrics(w);
  return b;
}

// Steps [at, at + 6) sent while `fault` strikes 300 ms in: events are on their way when it does.
int during_steps(World& w, int at, const std::function<void()>& fault) {
  std::exception_ptr failed;  // a step that throws fails the test here, not in its thread
  std::thread more([&] {
    try {
      steps(w, at, at + 6);
    } catch (...) {
      failed = std::current_exception();
    }
  });
  std::this_thread::sleep_for(300ms);
  fault();
  more.join();
  if (failed) std::rethrow_exception(failed);
  return at + 6;
}

TEST(Chaos, NoFault) {
  World w("none");
  const Books b = run(w, "none", 0, [] { return 0; });
  EXPECT_EQ(b.stored, static_cast<size_t>(kAgents * kDevices * kSteps));
  EXPECT_EQ(b.accepted, static_cast<size_t>(kAgents * kDevices * kSteps));  // and confirmed: check_metrics
}

TEST(Chaos, AnAgentLosesPowerMidStream) {
  // Every event its outbox had accepted reaches the store, and every reading it had taken is
  // evaluated by the next process: the rule journal holds what the engine had not applied yet
  // (its lateness window), also when the agent dies before its first snapshot.
  World w("agent");
  const Books b = run(w, "kill -9 of an agent", kSteps / 2, [&] {
    w.kill_agent(1);  // its outbox holds events not yet confirmed
    std::this_thread::sleep_for(5s);
    w.start_agent(1);
    return kSteps / 2;
  });
  EXPECT_GT(b.accepted, static_cast<size_t>(2 * kDevices * kSteps)) << "the other two agents' events and agent 1's";
}

TEST(Chaos, TheBrokerIsKilledMidStream) {
  World w("broker");
  run(w, "kill -9 of the broker (Mosquitto)", kSteps / 2, [&] {
    w.services().kill_mosquitto();  // in memory: what it held for the centers is gone
    std::this_thread::sleep_for(5s);
    if (auto st = w.services().restart_mosquitto(); !st) throw std::runtime_error(st.error().message);
    w.wait_reconnected();
    return kSteps / 2;
  });
}

TEST(Chaos, ACenterIsKilledMidBatch) {
  World w("center");
  run(w, "kill -9 of a center mid-batch", kSteps / 2, [&] {
    const int next = during_steps(w, kSteps / 2, [&] { w.kill_center(0); });
    std::this_thread::sleep_for(3s);
    w.start_center(0);
    return next;
  });
}

TEST(Chaos, ACenterHangsFor30Seconds) {
  World w("sigstop");
  run(w, "SIGSTOP of a center for 30 s", kSteps / 3, [&] {
    ::kill(w.center(0).pid(), SIGSTOP);
    steps(w, kSteps / 3, 2 * kSteps / 3);  // the other center goes on
    std::this_thread::sleep_for(30s);
    ::kill(w.center(0).pid(), SIGCONT);
    return 2 * kSteps / 3;
  });
}

TEST(Chaos, PostgresqlIsKilledAndRecovers) {
  World w("postgres");
  run(w, "kill -9 of PostgreSQL (crash recovery)", kSteps / 2, [&] {
    const int next = during_steps(w, kSteps / 2, [&] { w.kill_postgres(); });
    std::this_thread::sleep_for(5s);
    // Crash recovery from the WAL on the same port.
    if (auto st = w.services().restart_postgres(); !st) throw std::runtime_error(st.error().message);
    return next;
  });
}

// Fills `file` until the disk refuses more; the bytes written.
size_t fill(const fs::path& file) {
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) throw std::runtime_error(fmt::format("open {}: {}", file.string(), std::strerror(errno)));
  const std::string block(64 * 1024, 'x');
  size_t total = 0;
  for (size_t size = block.size(); size > 0; size /= 2)  // big blocks, then the last pages
    for (ssize_t n; (n = ::write(fd, block.data(), size)) > 0;) total += static_cast<size_t>(n);
  ::close(fd);
  return total;
}

// This process and what it starts get a mount namespace of their own, its mounts private: a tmpfs
// mounted here is nobody else's and goes with the process, even one killed by a timeout. Why it
// cannot, or nullopt.
std::optional<std::string> own_mounts() {
  if (::geteuid() != 0) return "mounting a small tmpfs as the agent's disk needs root";
  if (::unshare(CLONE_NEWNS) != 0 || ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
    return fmt::format("a mount namespace of the test's own: {} (a container without CAP_SYS_ADMIN?)",
                       std::strerror(errno));
  const fs::path probe = temp_dir("mount-probe");
  const bool can = ::mount("tmpfs", probe.c_str(), "tmpfs", 0, "size=1m") == 0;
  const int err = errno;
  if (can) ::umount2(probe.c_str(), MNT_DETACH);
  fs::remove_all(probe);
  if (!can) return fmt::format("cannot mount a tmpfs: {}", std::strerror(err));
  return std::nullopt;
}

TEST(Chaos, AnAgentsDiskFillsUp) {
  // The agent's data directory (outbox, rule journal, dead letters) is a 16 MiB tmpfs, filled
  // while the readings flow. The agent goes on: events its outbox cannot store are published
  // directly (counted), the journal's failures are logged; once the space is back the outbox
  // takes the events again. Nothing made is lost (the broker and the centers are up).
  if (auto why = own_mounts()) GTEST_SKIP() << *why << " (the outbox's own tests cover a log that refuses)";
  World w("disk");
  w.small_disk_for_agent(1, 16);
  double bypassed = 0;
  Timestamp freed_at{};
  run(w, "the disk of an agent full (16 MiB tmpfs), freed after 10 steps", kSteps / 2, [&] {
    const fs::path ballast = w.agent_dir(1) / "ballast";
    EXPECT_GT(fill(ballast), 0u);
    steps(w, kSteps / 2, kSteps / 2 + 10);
    std::this_thread::sleep_for(kLateness + 1s);  // the events of those readings are made
    bypassed = w.agent_metric(1, "gw_agent_outbox_bypassed_total");
    fs::remove(ballast);
    freed_at = now_utc();
    return kSteps / 2 + 10;
  });
  EXPECT_GE(bypassed, 10.0 * kDevices) << "events published past the full outbox";
  EXPECT_EQ(w.agent_metric(1, "gw_agent_outbox_bypassed_total"), bypassed) << "the outbox takes events again once there is room";
  EXPECT_TRUE(w.agent(1).running()) << "the agent kept running on a full disk";
  EXPECT_NE(read_file(fs::path(w.dir()) / "agent-1.log").find("not stored in the outbox"), std::string::npos);
  // The agent's dead letters (the other agents' devices) were refused by the full disk, and are
  // kept again since: the file is whole lines.
  const std::string dead = read_file(w.agent_dir(1) / "dead-letter.jsonl");
  ASSERT_FALSE(dead.empty());
  std::istringstream lines(dead);
  size_t n = 0;
  for (std::string line; std::getline(lines, line); ++n)
    ASSERT_FALSE(nlohmann::json::parse(line, nullptr, false).is_discarded()) << "line " << n + 1 << ": " << line;
  EXPECT_NE(read_file(fs::path(w.dir()) / "agent-1.log").find("dead letter from"), std::string::npos)
      << "the refused dead letters are logged";
  const auto last = nlohmann::json::parse(dead.substr(dead.rfind('\n', dead.size() - 2) + 1));
  EXPECT_GT(parse_rfc3339(last.value("ts", "")).value_or(Timestamp{}), freed_at)
      << "dead letters are kept again after the disk is freed";
}

// This process and what it starts get a network namespace of their own: a private loopback, so
// that the partition's nftables rules touch nothing else on the machine. Why it cannot, or nullopt.
std::optional<std::string> own_network() {
  if (::geteuid() != 0) return "a network namespace and nftables rules need root";
  if (!fs::exists("/usr/sbin/nft")) return "needs /usr/sbin/nft (Debian nftables)";
  if (::unshare(CLONE_NEWNET) != 0) return fmt::format("unshare(CLONE_NEWNET): {}", std::strerror(errno));
  if (std::system("/usr/sbin/nft list tables > /dev/null 2>&1") != 0)
    return "nft cannot list this namespace's tables (no nf_tables in this kernel or container?)";
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  bool up = fd >= 0 && ::ioctl(fd, SIOCGIFFLAGS, &ifr) == 0;
  if (up) {
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
    up = ::ioctl(fd, SIOCSIFFLAGS, &ifr) == 0;
  }
  const int err = errno;
  if (fd >= 0) ::close(fd);
  if (!up) return fmt::format("cannot bring the namespace's loopback up: {}", std::strerror(err));
  return std::nullopt;
}

void nft(const fs::path& dir, const std::string& rules) {
  write_file(dir / "rules.nft", rules);
  const int rc = std::system(fmt::format("/usr/sbin/nft -f {0}/rules.nft > {0}/nft.out 2>&1", dir.string()).c_str());
  if (rc != 0) throw std::runtime_error("nft: " + read_file(dir / "nft.out"));
}

TEST(Chaos, TheAgentsAreCutOffFromTheBroker) {
  // Packets between the agents and the broker are dropped (not refused: a cable cut, a dead
  // uplink) for 60 s, longer than the keep-alive (20 s) takes to notice, while the agents hold events of the readings
  // just before; the centers still reach the broker. Then the path is back.
  if (auto why = own_network()) GTEST_SKIP() << *why;
  World w("partition", {.agents_broker_host = "127.0.0.2"});
  const std::string url = w.services().endpoints().mqtt_url;
  const int port = std::stoi(url.substr(url.rfind(':') + 1));
  run(w, "network partition agents | broker (nftables, drop) for 60 s", kSteps / 2, [&] {
    nft(w.dir(), fmt::format(R"(table inet gw_chaos {{
  chain out {{
    type filter hook output priority 0; policy accept;
    ip daddr 127.0.0.2 tcp dport {0} drop
    ip saddr 127.0.0.2 tcp sport {0} drop
  }}
}}
)",
                             port));
    std::this_thread::sleep_for(60s);
    EXPECT_EQ(w.agent_metric(0, "gw_agent_broker_connected"), 0) << "the agent noticed it is cut off";
    nft(w.dir(), "delete table inet gw_chaos\n");
    w.wait_reconnected();
    return kSteps / 2;
  });
}

TEST(Chaos, AnAgentsClockHoursBehindDeadLettersWhatItCannotPlace) {
  // Agent 2's clock is 3 hours behind (libfaketime): the sensors' readings are hours ahead of it.
  // It keeps them as dead letters instead of opening cases in the future; the others go on.
  if (!fs::exists(kFaketime)) GTEST_SKIP() << "needs " << kFaketime << " (Debian libfaketime)";
  World w("skew");
  for (int c = 0; c < 2; ++c) w.start_center(c);
  w.start_agent(0);
  w.start_agent(1);
  w.start_agent(2, {fmt::format("LD_PRELOAD={}", kFaketime), "FAKETIME=-3h", "FAKETIME_DONT_FAKE_MONOTONIC=1",
                    "FAKETIME_DONT_RESET=1"});
  steps(w, 0, kSteps + kTail);
  const Books b = settle(w, w.expected({0, 1}), Clock::now());
  report("clock of an agent 3 h behind (libfaketime)", b);
  EXPECT_EQ(b.lost, 0u);
  EXPECT_EQ(b.not_made, 0u);
  EXPECT_EQ(b.unexpected, 0u) << "agent 2 stored nothing";
  // It refused every reading (its own as from the future, the others' devices as unknown) and
  // kept them as dead letters with the reason.
  EXPECT_EQ(w.agent_metric(2, "gw_agent_readings_rejected_total"), w.agent_metric(2, "gw_agent_readings_received_total"));
  const std::string dead = read_file(fs::path(w.dir()) / "agent-2" / "dead-letter.jsonl");
  EXPECT_NE(dead.find("bin-2-00"), std::string::npos);
  EXPECT_NE(dead.find("future"), std::string::npos) << dead.substr(0, 500);
  EXPECT_EQ(w.agent_metric(2, "gw_agent_orders_published_total"), 0);
}

}  // namespace
}  // namespace gridwatch::testing::chaos
