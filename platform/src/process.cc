#include "gridwatch/platform/process.h"

#include <sys/resource.h>
#include <fstream>

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace gridwatch::platform {

std::optional<UserIds> lookup_user(const std::string& name) {
  struct passwd pw{};
  struct passwd* out = nullptr;
  std::vector<char> buf(16384);
  if (getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &out) != 0 || out == nullptr)
    return std::nullopt;
  return UserIds{pw.pw_uid, pw.pw_gid};
}

Result<ChildProcess> ChildProcess::spawn(const std::vector<std::string>& argv,
                                         const SpawnOptions& options) {
  if (argv.empty()) return fail(ErrorCode::kInternal, "spawn: empty command");
  std::optional<UserIds> user;
  if (options.run_as && geteuid() == 0) {
    user = lookup_user(*options.run_as);
    if (!user) return fail(ErrorCode::kIo, fmt::format("spawn: no user \"{}\"", *options.run_as));
  }
  int log_fd = -1;
  if (!options.log_file.empty()) {
    log_fd = ::open(options.log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log_fd < 0)
      return fail(ErrorCode::kIo, fmt::format("spawn: cannot open log {}: {}",
                                              options.log_file.string(), std::strerror(errno)));
    if (user && fchown(log_fd, user->uid, user->gid) != 0) {
      // Not fatal: the child writes through the inherited descriptor.
    }
  }
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  // The environment is built here: the child may only make async-signal-safe calls.
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) {
    const std::string_view var(*e);
    const auto name = var.substr(0, var.find('=') + 1);
    const bool replaced = std::any_of(options.env.begin(), options.env.end(),
                                      [&](const std::string& o) { return o.starts_with(name); });
    if (!replaced) env_strings.emplace_back(var);
  }
  env_strings.insert(env_strings.end(), options.env.begin(), options.env.end());
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  // A pipe that closes on exec tells the parent whether exec succeeded.
  int err_pipe[2];
  if (pipe2(err_pipe, O_CLOEXEC) != 0) {
    if (log_fd >= 0) ::close(log_fd);
    return fail(ErrorCode::kIo, fmt::format("spawn: pipe: {}", std::strerror(errno)));
  }
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    if (log_fd >= 0) ::close(log_fd);
    ::close(err_pipe[0]);
    ::close(err_pipe[1]);
    return fail(ErrorCode::kIo, fmt::format("spawn: fork: {}", std::strerror(errno)));
  }
  if (pid == 0) {
    // Child: only async-signal-safe calls from here on.
    auto die = [&](int code) {
      int e = errno;
      ssize_t w = ::write(err_pipe[1], &code, sizeof code);
      w = ::write(err_pipe[1], &e, sizeof e);
      (void)w;
      _exit(127);
    };
    ::close(err_pipe[0]);
    if (options.new_session) setsid();
    sigset_t all;
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, nullptr);
    signal(SIGPIPE, SIG_DFL);
    if (log_fd >= 0) {
      if (dup2(log_fd, STDOUT_FILENO) < 0 || dup2(log_fd, STDERR_FILENO) < 0) die(1);
    }
    int in = ::open(options.stdin_file.empty() ? "/dev/null" : options.stdin_file.c_str(), O_RDONLY);
    if (in < 0 || dup2(in, STDIN_FILENO) < 0) die(1);
    if (!options.stdout_file.empty()) {
      int out = ::open(options.stdout_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (out < 0 || dup2(out, STDOUT_FILENO) < 0) die(1);
    }
    if (!options.working_dir.empty() && chdir(options.working_dir.c_str()) != 0) die(2);
    if (user) {
      if (setgroups(0, nullptr) != 0 || setgid(user->gid) != 0 || setuid(user->uid) != 0) die(3);
    }
    if (options.die_with_parent) {
      // After setuid: a credential change clears the parent-death signal.
      prctl(PR_SET_PDEATHSIG, options.stop_signal);
      if (getppid() != parent) _exit(1);
    }
    // Nothing of this process but stdin, stdout and stderr reaches the program: a socket or file
    // opened without O_CLOEXEC (Asio's sockets, a library's) would otherwise stay open in it (a
    // listening port kept bound after this process ends; wrk's event loop refusing its own
    // sockets past its size). Marked close-on-exec, so the error pipe works until the exec.
    if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
      rlimit nofile{};
      const int top = getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < 1u << 20 ? static_cast<int>(nofile.rlim_cur) : 1 << 16;
      for (int fd = 3; fd < top; ++fd) fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
    execvpe(args[0], args.data(), envp.data());
    die(4);
  }
  ::close(err_pipe[1]);
  if (log_fd >= 0) ::close(log_fd);
  int code = 0, err = 0;
  ssize_t n = ::read(err_pipe[0], &code, sizeof code);
  if (n == sizeof code) n = ::read(err_pipe[0], &err, sizeof err);
  ::close(err_pipe[0]);
  if (n > 0) {
    waitpid(pid, nullptr, 0);
    static constexpr const char* kStep[] = {"", "redirect output", "chdir", "switch user", "exec"};
    return fail(ErrorCode::kIo, fmt::format("spawn {}: {} failed: {}", argv[0],
                                            kStep[code >= 1 && code <= 4 ? code : 0],
                                            std::strerror(err)));
  }
  return ChildProcess(pid, options.stop_signal);
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : pid_(other.pid_), stop_signal_(other.stop_signal_), status_(other.status_) {
  other.pid_ = -1;
}

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  if (this != &other) {
    if (pid_ > 0 && !status_) stop();
    pid_ = other.pid_;
    stop_signal_ = other.stop_signal_;
    status_ = other.status_;
    other.pid_ = -1;
  }
  return *this;
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0 && !status_) stop();
}

bool ChildProcess::running() {
  if (pid_ <= 0 || status_) return false;
  int st = 0;
  pid_t r = waitpid(pid_, &st, WNOHANG);
  if (r == pid_) {
    status_ = st;
    return false;
  }
  return r == 0;
}

std::optional<int> ChildProcess::wait(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (running()) {
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
  }
  return status_;
}

int ChildProcess::stop(std::chrono::milliseconds grace) {
  if (pid_ <= 0) return -1;
  if (running()) {
    ::kill(pid_, stop_signal_);
    if (!wait(grace)) {
      ::kill(pid_, SIGKILL);
      int st = 0;
      waitpid(pid_, &st, 0);
      status_ = st;
    }
  }
  return status_.value_or(-1);
}

pid_t ChildProcess::release() {
  pid_t p = pid_;
  pid_ = -1;
  return p;
}

Status run_to_completion(const std::vector<std::string>& argv, const SpawnOptions& options,
                         std::chrono::milliseconds timeout) {
  auto child = ChildProcess::spawn(argv, options);
  if (!child) return std::unexpected(child.error());
  auto st = child->wait(timeout);
  if (!st) {
    child->stop(std::chrono::seconds{2});
    return fail(ErrorCode::kIo, fmt::format("{} did not finish within {} ms", argv[0],
                                            timeout.count()));
  }
  if (WIFEXITED(*st) && WEXITSTATUS(*st) == 0) return {};
  std::string tail;
  if (!options.log_file.empty()) {
    std::ifstream in(options.log_file);
    std::stringstream ss;
    ss << in.rdbuf();
    tail = ss.str();
    if (tail.size() > 2000) tail = tail.substr(tail.size() - 2000);
  }
  return fail(ErrorCode::kIo,
              fmt::format("{} failed ({}{}){}{}", fmt::join(argv, " "),
                          WIFEXITED(*st) ? "exit code " : "signal ",
                          WIFEXITED(*st) ? WEXITSTATUS(*st) : WTERMSIG(*st),
                          tail.empty() ? "" : ": ", tail));
}

bool stop_foreign_process(pid_t pid, int sig, std::chrono::milliseconds grace) {
  if (pid <= 0) return true;
  if (::kill(pid, sig) != 0) return errno == ESRCH;
  auto deadline = std::chrono::steady_clock::now() + grace;
  while (::kill(pid, 0) == 0) {
    // A zombie whose parent is gone is reaped by init; treat "Z" state as gone.
    std::ifstream stat(fmt::format("/proc/{}/stat", pid));
    std::string a, b, state;
    if (stat >> a >> b >> state && state == "Z") return true;
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(pid, SIGKILL);
      std::this_thread::sleep_for(std::chrono::milliseconds{100});
      return ::kill(pid, 0) != 0;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds{50});
  }
  return true;
}

namespace {

// One process from /proc/PID/stat; nullopt when it is gone.
std::optional<ProcessInfo> read_stat(pid_t pid) {
  static const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
  static const long page = sysconf(_SC_PAGESIZE);
  std::ifstream in(fmt::format("/proc/{}/stat", pid));
  std::string line;
  std::getline(in, line);
  const auto close = line.rfind(')');  // the name may hold spaces and parentheses
  if (close == std::string::npos) return std::nullopt;
  std::istringstream rest(line.substr(close + 2));
  std::string state;
  long long ppid = 0, skip = 0, utime = 0, stime = 0, threads = 0, rss = 0;
  rest >> state >> ppid;
  for (int i = 0; i < 9; ++i) rest >> skip;
  rest >> utime >> stime;
  for (int i = 0; i < 4; ++i) rest >> skip;  // cutime, cstime, priority, nice
  rest >> threads;
  for (int i = 0; i < 3; ++i) rest >> skip;  // itrealvalue, starttime, vsize
  rest >> rss;
  return ProcessInfo{.pid = pid,
                     .parent = static_cast<pid_t>(ppid),
                     .cpu_s = static_cast<double>(utime + stime) / tick,
                     .rss_bytes = static_cast<uint64_t>(rss) * static_cast<uint64_t>(page),
                     .threads = static_cast<int>(threads)};
}

}  // namespace

std::vector<ProcessInfo> list_processes() {
  std::vector<ProcessInfo> out;
  DIR* d = opendir("/proc");
  while (dirent* e = d ? readdir(d) : nullptr) {
    const pid_t pid = static_cast<pid_t>(std::atoi(e->d_name));
    if (pid <= 0) continue;
    if (auto p = read_stat(pid)) out.push_back(*p);
  }
  if (d) closedir(d);
  return out;
}

std::optional<ProcessInfo> process_info(pid_t pid) { return pid > 0 ? read_stat(pid) : std::nullopt; }

int open_files(pid_t pid) {
  DIR* d = opendir(fmt::format("/proc/{}/fd", pid).c_str());
  if (!d) return -1;
  int n = 0;
  while (dirent* e = readdir(d)) n += e->d_name[0] != '.';
  closedir(d);
  return n;
}

double process_cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

uint64_t resident_memory_bytes() {
  std::ifstream in("/proc/self/statm");
  uint64_t size = 0, resident = 0;
  in >> size >> resident;
  return resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

}  // namespace gridwatch::platform
