// RunInSandbox on a tiny real root (the host's dash and its libraries): namespaces, API file
// systems, and that no mount or process is left behind on any exit. Needs root.
#include "sys/sandbox.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

namespace kiln::sys {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class SandboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "the sandbox needs root (namespaces, chroot)";
    root_ = fs::temp_directory_path() /
            ("kiln-sandbox-" + std::to_string(getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    // A root with just a shell: /bin/sh is the host's dash, with the libraries it needs.
    fs::create_directories(root_ / "bin");
    fs::create_directories(root_ / "etc");
    fs::copy_file("/bin/dash", root_ / "bin/sh");
    RunOptions ldd;
    ldd.argv = {"ldd", "/bin/dash"};
    RunResult libs = RunProcess(ldd);
    ASSERT_TRUE(libs.ok());
    for (const std::string& line : libs.tail) {
      size_t slash = line.find('/');
      if (slash == std::string::npos) continue;
      std::string path = line.substr(slash, line.find(' ', slash) - slash);
      fs::create_directories(root_ / fs::path(path).relative_path().parent_path());
      fs::copy_file(path, root_ / fs::path(path).relative_path(),
                    fs::copy_options::overwrite_existing);
    }
  }
  void TearDown() override {
    if (!root_.empty()) fs::remove_all(root_);
  }

  RunResult Sh(const std::string& script, std::chrono::milliseconds timeout = 10s) {
    RunOptions run;
    run.argv = {"/bin/sh", "-c", script};
    run.timeout = timeout;
    run.kill_grace = 300ms;
    return RunInSandbox({root_, "kiln-test"}, run);
  }

  // True if the host has any mount under the root.
  bool MountsLeft() const {
    return ReadFile("/proc/self/mounts").find(root_.string()) != std::string::npos;
  }

  fs::path root_;
};

TEST_F(SandboxTest, RunsInTheRootWithItsOwnNamespaces) {
  RunResult r =
      Sh("echo pid=$$; echo host=$(cat /proc/sys/kernel/hostname 2>/dev/null || true); "
         "while read l; do case \"$l\" in proc*|tmpfs*) echo \"$l\";; esac; done < /proc/mounts; "
         "echo kept > /etc/kept; echo gone > /tmp/gone; test -c /dev/null && echo dev-ok");
  ASSERT_TRUE(r.ok()) << r.Describe() << "\n" << (r.tail.empty() ? "" : r.tail.back());
  std::string out;
  for (const std::string& l : r.tail) out += l + "\n";
  EXPECT_NE(out.find("pid=1\n"), std::string::npos) << "its own PID namespace\n" << out;
  EXPECT_NE(out.find("proc /proc proc"), std::string::npos) << out;
  EXPECT_NE(out.find("tmpfs /tmp tmpfs"), std::string::npos) << out;
  EXPECT_NE(out.find("dev-ok"), std::string::npos) << out;
  EXPECT_EQ(ReadFile(root_ / "etc/kept"), "kept\n") << "writes to the root stay";
  EXPECT_FALSE(fs::exists(root_ / "tmp/gone")) << "/tmp is the sandbox's own";
  EXPECT_FALSE(MountsLeft());
}

TEST_F(SandboxTest, FailureAndExitCode) {
  RunResult r = Sh("echo before; exit 7");
  EXPECT_EQ(r.kind, ExitKind::kExited);
  EXPECT_EQ(r.code, 7);
  EXPECT_EQ(r.tail.back(), "before");
  EXPECT_FALSE(MountsLeft());
}

TEST_F(SandboxTest, TimeoutKillsEverythingAndLeavesNoMount) {
  // A busy loop plus a background child ignoring SIGTERM.
  RunResult r = Sh("(trap '' TERM; while :; do :; done) & while :; do :; done", 400ms);
  EXPECT_EQ(r.kind, ExitKind::kTimedOut);
  EXPECT_LT(r.elapsed, 5000ms);
  EXPECT_FALSE(MountsLeft());
  // Nothing of the sandbox runs any more: no process has its root as root.
  RunOptions ps;
  ps.argv = {"sh", "-c", "for p in /proc/[0-9]*; do readlink $p/root; done 2>/dev/null"};
  RunResult roots = RunProcess(ps);
  for (const std::string& l : roots.tail) EXPECT_NE(l, root_.string());
}

TEST_F(SandboxTest, WorkingDirectoryInsideTheRoot) {
  fs::create_directories(root_ / "work");
  RunOptions run;
  run.argv = {"/bin/sh", "-c", "pwd"};
  run.cwd = "/work";
  RunResult r = RunInSandbox({root_, "kiln-test"}, run);
  ASSERT_TRUE(r.ok()) << r.Describe();
  EXPECT_EQ(r.tail.back(), "/work");
}

}  // namespace
}  // namespace kiln::sys
