// Builds without root (label slow; run as root, which makes the users): `kiln build` as an
// ordinary user with a subordinate id range makes the very bytes a build as root makes, tar
// and raw alike, gives the user its output, and `kiln boot-test` boots the result without
// root. A user without a range gets the command that gives them one.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include "shell.h"

namespace {

namespace fs = std::filesystem;
using kiln::testing::ReadFile;
using kiln::testing::RunResult;
using kiln::testing::Sh;

const fs::path kWork = kiln::testing::kBuildWork;

// build_test's small tar (so the root build is a cache hit there) and boot_image_test's server.
const char* kSmall = kiln::testing::kSmallKickstart;
const char* kServer = kiln::testing::kServerKickstart;

class UnprivilegedBuildTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string why = kiln::testing::RealBuildSkipReason(); !why.empty()) GTEST_SKIP() << why;
    if (std::string why = kiln::testing::PrepareBuildUser(KILN_BINARY, user_); !why.empty()) {
      GTEST_SKIP() << why;
    }
  }

  // The same kickstart built as root (shared cache) and as the user (its own cache).
  void BuildBoth(const std::string& ks_text, const std::string& name, const std::string& type) {
    RunResult root = kiln::testing::KilnBuild(KILN_BINARY, ks_text, "root-" + name, type);
    ASSERT_EQ(root.exit_code, 0) << root.out;
    fs::path ks = kWork / ("user-" + name + ".ks");
    std::ofstream(ks) << ks_text;
    fs::permissions(ks, fs::perms::others_read, fs::perm_options::add);
    fs::path out = user_.home / "unprivileged-tests" / name;
    fs::remove_all(out);
    RunResult user =
        Sh(user_.As(user_.kiln + " build --ks " + ks.string() + " --output " + out.string() +
                    " --cache-dir " + (user_.home / ".cache" / "kiln").string() + " " + type));
    ASSERT_EQ(user.exit_code, 0) << user.out;
    std::string root_sums = ReadFile(kWork / ("root-" + name) / "SHA256SUMS");
    EXPECT_EQ(root_sums.size(), 64u + 2 + root_sums.substr(66).size());
    EXPECT_EQ(ReadFile(out / "SHA256SUMS"), root_sums) << "the same bytes as a build as root";
    // Everything in the output is the user's, so they can move and delete it.
    struct stat home {};
    ASSERT_EQ(stat(user_.home.c_str(), &home), 0);
    for (const fs::directory_entry& e : fs::recursive_directory_iterator(out)) {
      struct stat st {};
      ASSERT_EQ(lstat(e.path().c_str(), &st), 0);
      EXPECT_EQ(st.st_uid, home.st_uid) << e.path();
    }
  }

  kiln::testing::BuildUser user_;
};

TEST_F(UnprivilegedBuildTest, TarImageIsTheBytesOfARootBuild) {
  BuildBoth(kSmall, "tar", "--type tar");
}

TEST_F(UnprivilegedBuildTest, RawImageIsTheBytesOfARootBuildAndBootsWithoutRoot) {
  if (Sh("command -v qemu-system-x86_64").exit_code != 0) {
    GTEST_SKIP() << "qemu is missing (scripts/install-deps.sh test installs it)";
  }
  BuildBoth(kServer, "raw", "--type raw");
  fs::path image = user_.home / "unprivileged-tests" / "raw" / "kiln-bookworm-raw-x86_64.raw";
  RunResult boot = Sh(user_.As(user_.kiln + " boot-test " + image.string() + " --timeout 400"));
  EXPECT_EQ(boot.exit_code, 0) << boot.out;
  EXPECT_NE(boot.out.find("login prompt after"), std::string::npos) << boot.out;
  EXPECT_NE(ReadFile(image.string() + ".console.log").find("kiln-boot login:"), std::string::npos);
}

TEST_F(UnprivilegedBuildTest, AUserWithoutARangeIsToldTheCommandThatGivesOne) {
  const std::string name = "kiln-test-norange";
  Sh("userdel -r " + name);
  ASSERT_EQ(
      Sh("useradd --create-home --shell /bin/sh -K SUB_UID_COUNT=0 -K SUB_GID_COUNT=0 " + name)
          .exit_code,
      0);
  fs::path ks = kWork / "user-norange.ks";
  std::ofstream(ks) << "lang C\nthisisnotacommand\n";
  fs::permissions(ks, fs::perms::others_read, fs::perm_options::add);
  std::string build =
      "runuser -u " + name + " -- " + user_.kiln + " build --ks " + ks.string() + " --output /tmp";
  RunResult refused = Sh(build);
  EXPECT_EQ(refused.exit_code, 1) << refused.out;
  EXPECT_NE(refused.out.find("user " + name + " has no subordinate uid range"), std::string::npos)
      << refused.out;
  // The fix it names works as given; then the build gets as far as the kickstart.
  std::smatch fix;
  ASSERT_TRUE(std::regex_search(refused.out, fix, std::regex("as root: (usermod [^\\n]+)")))
      << refused.out;
  ASSERT_EQ(Sh(fix[1].str()).exit_code, 0) << fix[1].str();
  RunResult checked = Sh(build);
  EXPECT_EQ(checked.exit_code, 1) << checked.out;
  EXPECT_EQ(checked.out.find("subordinate"), std::string::npos) << checked.out;
  EXPECT_NE(checked.out.find("thisisnotacommand"), std::string::npos) << checked.out;
  Sh("userdel -r " + name);
}

// A cgroup v2 the host delegates to the user (as systemd-run --user -p Delegate=yes does: the
// directory and its cgroup.procs, cgroup.subtree_control and cgroup.threads are the user's),
// with `kiln build` alone in it: kiln moves into kiln-supervisor there and each sandbox, the
// %post among them, runs in a cgroup of its own, made and removed by the build namespace's root.
TEST_F(UnprivilegedBuildTest, InACgroupDelegatedToTheUserEachSandboxGetsItsOwn) {
  std::string mount = Sh("findmnt -n -t cgroup2 -o TARGET | head -1").out;
  if (mount.empty()) GTEST_SKIP() << "this host has no cgroup v2 hierarchy";
  mount.pop_back();
  std::string name = "kiln-test-delegated-" + std::to_string(getpid());
  fs::path delegated = fs::path(mount) / name;
  ASSERT_TRUE(fs::create_directory(delegated));
  std::string owner = user_.name + ":";
  ASSERT_EQ(Sh("cd " + delegated.string() + " && chown " + owner +
               " . cgroup.procs cgroup.subtree_control cgroup.threads")
                .exit_code,
            0);
  fs::path ks = kWork / "user-cgroup.ks";
  // A script of its own each run (a cached scripts stage would not show where it ran).
  std::ofstream(ks) << kSmall << "%post\ncat /proc/self/cgroup # " << name << "-"
                    << std::chrono::system_clock::now().time_since_epoch().count() << "\n%end\n";
  fs::permissions(ks, fs::perms::others_read, fs::perm_options::add);
  fs::path out = user_.home / "unprivileged-tests" / "cgroup";
  fs::remove_all(out);
  // setpriv execs kiln in place (runuser would stay beside it in the cgroup).
  RunResult built = Sh("sh -c 'echo $$ > " + delegated.string() + "/cgroup.procs && exec setpriv " +
                       "--reuid " + user_.name + " --regid " + user_.name + " --init-groups env " +
                       "HOME=" + user_.home.string() + " " + user_.kiln + " build --ks " +
                       ks.string() + " --output " + out.string() + " --cache-dir " +
                       (user_.home / ".cache" / "kiln").string() + " --type tar'");
  EXPECT_EQ(built.exit_code, 0) << built.out;
  EXPECT_NE(built.out.find("moved into cgroup /" + name + "/kiln-supervisor"), std::string::npos)
      << built.out;
  EXPECT_NE(ReadFile(out / "build.log").find("] 0::/" + name + "/sandbox-"), std::string::npos)
      << ReadFile(out / "build.log");
  std::vector<std::string> left;
  for (const fs::directory_entry& e : fs::directory_iterator(delegated)) {
    if (e.is_directory()) left.push_back(e.path().filename().string());
  }
  EXPECT_EQ(left, std::vector<std::string>{"kiln-supervisor"}) << "no sandbox cgroup is left";
  Sh("rmdir " + (delegated / "kiln-supervisor").string() + " " + delegated.string());
  EXPECT_FALSE(fs::exists(delegated));
}

}  // namespace
