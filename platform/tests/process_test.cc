#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "gridwatch/platform/process.h"

namespace gridwatch::platform {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

TEST(ChildProcess, RunsAndCapturesOutput) {
  fs::path log = fs::temp_directory_path() / fmt::format("gw-proc-{}.log", getpid());
  fs::remove(log);
  SpawnOptions so;
  so.log_file = log;
  auto st = run_to_completion({"/bin/sh", "-c", "echo hello; echo oops >&2"}, so, 10s);
  ASSERT_TRUE(st.has_value()) << st.error().message;
  std::ifstream in(log);
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_EQ(ss.str(), "hello\noops\n");
  fs::remove(log);
}

// A descriptor this process opened without O_CLOEXEC (as Asio opens its sockets) is not open in
// the program; stdin, stdout and stderr are.
TEST(ChildProcess, TheProgramInheritsNoDescriptorButTheStandardOnes) {
  const int fd = ::open("/dev/null", O_RDONLY);  // deliberately without O_CLOEXEC
  ASSERT_GT(fd, 2);
  const std::string script = fmt::format("test -e /proc/self/fd/0 && test -e /proc/self/fd/2 || exit 2; "
                                         "test -e /proc/self/fd/{} && exit 3; exit 0", fd);
  auto st = run_to_completion({"/bin/sh", "-c", script}, {}, 10s);
  ::close(fd);
  EXPECT_TRUE(st.has_value()) << st.error().message;
}

TEST(ChildProcess, FailureNamesExitCode) {
  auto st = run_to_completion({"/bin/sh", "-c", "exit 3"}, {}, 10s);
  ASSERT_FALSE(st.has_value());
  EXPECT_NE(st.error().message.find("exit code 3"), std::string::npos) << st.error().message;
}

TEST(ChildProcess, MissingProgramIsAnError) {
  auto c = ChildProcess::spawn({"/nonexistent/program"});
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().code, ErrorCode::kIo);
  EXPECT_NE(c.error().message.find("exec failed"), std::string::npos) << c.error().message;
}

TEST(ChildProcess, StopEndsALongRunningProgramAndDestructorLeavesNothing) {
  pid_t pid = 0;
  {
    auto c = ChildProcess::spawn({"/bin/sleep", "60"});
    ASSERT_TRUE(c.has_value());
    pid = c->pid();
    EXPECT_TRUE(c->running());
  }
  EXPECT_NE(::kill(pid, 0), 0) << "child outlived its owner";
}

TEST(ChildProcess, StopEscalatesToKill) {
  auto c = ChildProcess::spawn({"/bin/sh", "-c", "trap '' TERM; exec sleep 60"});
  ASSERT_TRUE(c.has_value());
  std::this_thread::sleep_for(200ms);
  int st = c->stop(300ms);
  EXPECT_TRUE(WIFSIGNALED(st));
  EXPECT_EQ(WTERMSIG(st), SIGKILL);
}

}  // namespace
}  // namespace gridwatch::platform
