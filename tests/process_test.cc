// RunProcess: output, exit status, time limits, cancel, and that nothing is left running.
#include "sys/process.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <thread>

namespace kiln::sys {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

RunOptions Shell(const std::string& script) {
  RunOptions o;
  o.argv = {"/bin/sh", "-c", script};
  return o;
}

// Running (a zombie waiting to be reaped by someone counts as gone).
bool Alive(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string pid_field, comm, state;
  if (!(stat >> pid_field >> comm >> state)) return false;
  return state != "Z";
}

pid_t ReadPid(const fs::path& file) {
  std::ifstream in(file);
  pid_t pid = 0;
  in >> pid;
  return pid;
}

struct TempFile {
  fs::path path = fs::temp_directory_path() /
                  ("kiln-proc-" + std::to_string(getpid()) + "-" + std::to_string(counter++));
  ~TempFile() { fs::remove(path); }
  static inline int counter = 0;
};

TEST(ProcessTest, StreamsLinesAndReportsExitCode) {
  std::vector<std::string> lines;
  RunOptions o = Shell("echo one; echo two >&2; printf 'three'; exit 3");
  o.on_line = [&](std::string_view l) { lines.emplace_back(l); };
  RunResult r = RunProcess(o);
  EXPECT_EQ(r.kind, ExitKind::kExited);
  EXPECT_EQ(r.code, 3);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(lines, (std::vector<std::string>{"one", "two", "three"}));
  EXPECT_EQ(r.Describe(), "exit code 3");
}

TEST(ProcessTest, KeepsOnlyTheTail) {
  RunOptions o = Shell("for i in $(seq 1 100); do echo line$i; done");
  o.tail_lines = 3;
  RunResult r = RunProcess(o);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.tail, (std::vector<std::string>{"line98", "line99", "line100"}));
}

TEST(ProcessTest, EnvironmentAndDirectory) {
  RunOptions o = Shell("echo \"$KILN_TEST_VAR $(pwd)\"");
  o.env = {{"KILN_TEST_VAR", "hello"}};
  o.cwd = "/tmp";
  RunResult r = RunProcess(o);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.tail.back(), "hello /tmp");
  EXPECT_EQ(getenv("KILN_TEST_VAR"), nullptr) << "the parent's environment is untouched";
}

TEST(ProcessTest, MissingProgramFailsToStart) {
  RunOptions o;
  o.argv = {"/nonexistent/kiln-no-such-tool"};
  RunResult r = RunProcess(o);
  EXPECT_EQ(r.kind, ExitKind::kFailedToStart);
  EXPECT_EQ(r.error, "No such file or directory");
  o.argv = {"/bin/true"};
  o.cwd = "/nonexistent-dir";
  EXPECT_EQ(RunProcess(o).kind, ExitKind::kFailedToStart);
}

TEST(ProcessTest, TimeoutKillsTheWholeGroup) {
  TempFile pidfile;
  // The child starts a grandchild that ignores SIGTERM; both must be gone afterwards.
  RunOptions o =
      Shell("sh -c 'trap \"\" TERM; sleep 60' & echo $! > " + pidfile.path.string() + "; wait");
  o.timeout = 300ms;
  o.kill_grace = 300ms;
  RunResult r = RunProcess(o);
  EXPECT_EQ(r.kind, ExitKind::kTimedOut);
  EXPECT_LT(r.elapsed, 5000ms);
  pid_t grandchild = ReadPid(pidfile.path);
  ASSERT_GT(grandchild, 0);
  EXPECT_FALSE(Alive(grandchild));
}

TEST(ProcessTest, CancelStopsIt) {
  std::atomic<bool> cancel{false};
  RunOptions o = Shell("sleep 60");
  o.cancel = &cancel;
  std::thread t([&] {
    std::this_thread::sleep_for(200ms);
    cancel = true;
  });
  RunResult r = RunProcess(o);
  t.join();
  EXPECT_EQ(r.kind, ExitKind::kCanceled);
  EXPECT_LT(r.elapsed, 5000ms);
}

TEST(ProcessTest, BackgroundChildrenDoNotOutliveTheStep) {
  TempFile pidfile;
  // The step exits at once but leaves a background process holding its output open.
  RunOptions o = Shell("sleep 60 & echo $! > " + pidfile.path.string() + "; exit 0");
  RunResult r = RunProcess(o);
  EXPECT_TRUE(r.ok()) << r.Describe();
  EXPECT_LT(r.elapsed, 5000ms);
  pid_t background = ReadPid(pidfile.path);
  ASSERT_GT(background, 0);
  EXPECT_FALSE(Alive(background));
}

TEST(ProcessTest, OnlyStandardDescriptorsAreInherited) {
  // A descriptor left open (without close-on-exec) in the parent must not reach the step.
  int stray = dup(STDERR_FILENO);
  ASSERT_GE(stray, 3);
  // ls lists its own descriptors: 0, 1, 2 and 3 (the directory it reads). A stray
  // inherited descriptor would take 3 and push the directory to 4.
  RunResult r = RunProcess(Shell("exec ls /proc/self/fd"));
  close(stray);
  ASSERT_TRUE(r.ok()) << r.Describe();
  EXPECT_EQ(r.tail, (std::vector<std::string>{"0", "1", "2", "3"}));
}

TEST(ProcessTest, SignalDeathIsReported) {
  RunResult r = RunProcess(Shell("kill -KILL $$"));
  EXPECT_EQ(r.kind, ExitKind::kSignaled);
  EXPECT_EQ(r.signal, SIGKILL);
}

}  // namespace
}  // namespace kiln::sys
