// Child processes: start a program, stop it cleanly, never leave it behind.
//
// A ChildProcess owns one running program. Its destructor stops the program (the stop signal,
// then SIGKILL after a grace period) unless release() was called. Children started with
// die_with_parent are also killed by the kernel if this process dies without cleaning up.
// Not thread-safe: one owner.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "gridwatch/domain/error.h"

namespace gridwatch::platform {

struct SpawnOptions {
  std::filesystem::path log_file;        // stdout and stderr appended here; empty: inherit
  std::filesystem::path stdout_file;     // if set, stdout goes here instead (truncated)
  std::filesystem::path stdin_file;      // empty: /dev/null
  std::filesystem::path working_dir;     // empty: inherit
  std::optional<std::string> run_as;     // user name to switch to (only when running as root)
  bool die_with_parent = true;           // PR_SET_PDEATHSIG
  bool new_session = false;              // setsid(): not killed by the terminal's Ctrl-C
  int stop_signal = 15;                  // SIGTERM
  // NAME=VALUE: set (or replaced) in the program's environment, which is otherwise this one's.
  std::vector<std::string> env;
};

class ChildProcess {
 public:
  [[nodiscard]] static Result<ChildProcess> spawn(const std::vector<std::string>& argv,
                                                  const SpawnOptions& options = {});
  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess();

  pid_t pid() const { return pid_; }
  // True while the program runs. Reaps it when it has exited.
  bool running();
  // Exit status once the program has ended (waitpid status), if it has.
  std::optional<int> exit_status() const { return status_; }
  // Sends the stop signal, waits up to `grace`, then SIGKILL. Returns the waitpid status.
  int stop(std::chrono::milliseconds grace = std::chrono::seconds{10});
  // Waits for the program to end on its own, up to `timeout`; nullopt on timeout.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  // Gives up ownership: the program keeps running after this object is gone.
  pid_t release();

 private:
  ChildProcess(pid_t pid, int stop_signal) : pid_(pid), stop_signal_(stop_signal) {}
  pid_t pid_ = -1;
  int stop_signal_ = 15;
  std::optional<int> status_;
};

// Runs a program to completion; fails with kIo naming the program and its exit code, and the
// tail of its log when one was given.
Status run_to_completion(const std::vector<std::string>& argv, const SpawnOptions& options,
                         std::chrono::milliseconds timeout);

// Stops a process that is not our child (started by another invocation): sends `sig`, waits
// until it is gone, then SIGKILL after `grace`. True when it is gone.
bool stop_foreign_process(pid_t pid, int sig, std::chrono::milliseconds grace);

// Every process on the machine as /proc/PID/stat tells it: its parent, CPU time (seconds),
// resident memory and threads. Processes that end while the list is read are left out.
struct ProcessInfo {
  pid_t pid = 0, parent = 0;
  double cpu_s = 0;        // user + system
  uint64_t rss_bytes = 0;  // resident memory
  int threads = 0;
};
std::vector<ProcessInfo> list_processes();
// One process; nullopt when it is gone.
std::optional<ProcessInfo> process_info(pid_t pid);
// Its open file descriptors; -1 when it is gone or not ours to read.
int open_files(pid_t pid);

// This process's CPU time (user + system, all threads) and resident memory.
double process_cpu_seconds();
uint64_t resident_memory_bytes();

// Looks up a user; nullopt when it does not exist.
struct UserIds {
  uid_t uid;
  gid_t gid;
};
std::optional<UserIds> lookup_user(const std::string& name);

}  // namespace gridwatch::platform
