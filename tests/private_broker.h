// A Mosquitto of the test's own (the fixture's broker is shared), with persistence (autosave
// every second unless told otherwise), so that a subscriber's session survives a restart as a
// center's does; it can be stopped (SIGTERM: sessions saved) or killed (SIGKILL: what was not
// saved yet is lost, as in a crash).
#pragma once

#include <gtest/gtest.h>

#include <signal.h>
#include <sys/stat.h>

#include <filesystem>
#include <optional>
#include <string>

#include <fmt/format.h>

#include "gridwatch/platform/process.h"
#include "gridwatch/platform/services.h"
#include "support.h"

namespace gridwatch::testing {

class PrivateBroker {
 public:
  // `security`: configuration lines replacing "allow_anonymous true".
  // `autosave_s`: how often Mosquitto writes its in-memory state (sessions, queued messages).
  PrivateBroker(std::filesystem::path dir, int port, const std::string& security = "allow_anonymous true\n",
                int autosave_s = 1)
      : dir_(std::move(dir)), port_(port) {
    // Mosquitto drops root privileges: its persistence directory must be writable by it.
    ::chmod(dir_.c_str(), 0777);
    write_file(dir_ / "mosquitto.conf",
               fmt::format("listener {} 127.0.0.1\n{}persistence true\n"
                           "persistence_location {}/\nautosave_interval {}\nlog_dest stderr\n"
                           "max_inflight_messages 1000\nmax_queued_messages 100000\n",
                           port_, security, dir_.string(), autosave_s));
    ::chmod((dir_ / "mosquitto.conf").c_str(), 0644);
  }
  void start() {
    platform::SpawnOptions o;
    o.log_file = dir_ / "mosquitto.log";
    auto child = platform::ChildProcess::spawn({"/usr/sbin/mosquitto", "-c", (dir_ / "mosquitto.conf").string()}, o);
    ASSERT_TRUE(child.has_value()) << child.error().message;
    child_.emplace(std::move(*child));
    ASSERT_TRUE(platform::wait_for_tcp(port_, std::chrono::seconds{10})) << read_file(dir_ / "mosquitto.log");
  }
  void stop() {
    if (child_) child_->stop(std::chrono::seconds{5});  // SIGTERM: Mosquitto saves its sessions
    child_.reset();
  }
  // SIGKILL: what Mosquitto had not saved yet (autosave_interval 1) is lost, as in a crash.
  void kill() {
    if (child_) {
      ::kill(child_->pid(), SIGKILL);
      (void)child_->wait(std::chrono::seconds{5});
    }
    child_.reset();
  }
  std::string url() const { return fmt::format("tcp://127.0.0.1:{}", port_); }

 private:
  std::filesystem::path dir_;
  int port_;
  std::optional<platform::ChildProcess> child_;
};

}  // namespace gridwatch::testing
