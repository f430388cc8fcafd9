// Real builds (label slow): `kiln build` against Debian's mirror, as root. The tests share one
// cache directory, so later ones reuse the packages and stages of earlier ones.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "shell.h"

namespace {

namespace fs = std::filesystem;

using kiln::testing::ReadFile;
using kiln::testing::RunResult;
using kiln::testing::Sh;

const fs::path kWork = kiln::testing::kBuildWork;

// Text no earlier test run has used, for steps that must run rather than hit the cache.
std::string Nonce() { return std::to_string(getpid()) + "-" + std::to_string(std::time(nullptr)); }
const fs::path kCache = kiln::testing::kBuildCache;

class BuildTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string why = kiln::testing::RealBuildSkipReason(); !why.empty()) GTEST_SKIP() << why;
  }

  RunResult Build(const std::string& ks_text, const std::string& out,
                  const std::string& extra = "") {
    return kiln::testing::KilnBuild(KILN_BINARY, ks_text, out, "--type tar " + extra);
  }
};

const char* kSmall = kiln::testing::kSmallKickstart;

TEST_F(BuildTest, TarImageWithItsOutputs) {
  RunResult r = Build(kSmall, "small");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  fs::path dir = kWork / "small";
  std::string image = "kiln-bookworm-tar-x86_64.tar.zst";
  ASSERT_TRUE(fs::exists(dir / image)) << r.out;
  for (const char* f : {"SHA256SUMS", "manifest.json", "kickstart.ks", "build.log",
                        "sbom.spdx.json", "provenance.json"}) {
    EXPECT_TRUE(fs::exists(dir / f)) << f;
  }
  // SHA256SUMS checks out with the standard tool.
  RunResult check = Sh("cd " + dir.string() + " && sha256sum -c SHA256SUMS");
  EXPECT_EQ(check.exit_code, 0) << check.out;
  // The image is a root file system with the requested package and without docs.
  RunResult list = Sh("zstd -dc " + (dir / image).string() + " | tar -t");
  ASSERT_EQ(list.exit_code, 0);
  EXPECT_NE(list.out.find("./usr/bin/jq\n"), std::string::npos);
  EXPECT_NE(list.out.find("./etc/debian_version\n"), std::string::npos);
  EXPECT_EQ(list.out.find("./usr/share/doc/jq/README"), std::string::npos) << "--excludedocs";
  EXPECT_NE(list.out.find("./usr/share/doc/jq/copyright"), std::string::npos);
  // The manifest lists every installed package with version and architecture.
  auto manifest = nlohmann::json::parse(ReadFile(dir / "manifest.json"));
  bool has_jq = false;
  for (const auto& p : manifest["packages"]) {
    if (p["name"] == "jq")
      has_jq = p["architecture"] == "amd64" && !p["version"].get<std::string>().empty();
  }
  EXPECT_TRUE(has_jq) << manifest["packages"].dump();
  EXPECT_GT(manifest["packages"].size(), 50u);
  EXPECT_EQ(manifest["spec"]["type"], "tar");
  EXPECT_EQ(manifest["image"]["sha256"].get<std::string>().size(), 64u);
  // The SBOM is SPDX 2.3 and lists the same packages; provenance names mirror and tools.
  auto sbom = nlohmann::json::parse(ReadFile(dir / "sbom.spdx.json"));
  EXPECT_EQ(sbom["spdxVersion"], "SPDX-2.3");
  EXPECT_EQ(sbom["packages"].size(), manifest["packages"].size() + 1) << "plus the image itself";
  auto provenance = nlohmann::json::parse(ReadFile(dir / "provenance.json"));
  EXPECT_EQ(provenance["repositories"][0]["inrelease_sha256"].get<std::string>().size(), 64u);
  EXPECT_NE(provenance["tools"]["mmdebstrap"].get<std::string>().find("mmdebstrap"),
            std::string::npos);
  // The log has every stage with its cache verdict.
  EXPECT_NE(ReadFile(dir / "build.log").find("== stage 1/3 bootstrap: "), std::string::npos);
}

TEST_F(BuildTest, IdenticalRebuildIsACacheHitWithTheSameBytes) {
  ASSERT_EQ(Build(kSmall, "first").exit_code, 0);
  RunResult again = Build(kSmall, "again");
  ASSERT_EQ(again.exit_code, 0) << again.out;
  EXPECT_NE(again.out.find("stage 1/3 bootstrap: cache hit"), std::string::npos) << again.out;
  EXPECT_NE(again.out.find("stage 2/3 configure: cache hit"), std::string::npos) << again.out;
  EXPECT_NE(again.out.find("stage 3/3 assemble: cache hit"), std::string::npos) << again.out;
  EXPECT_EQ(ReadFile(kWork / "first" / "SHA256SUMS"), ReadFile(kWork / "again" / "SHA256SUMS"));
}

TEST_F(BuildTest, RebuildFromScratchGivesIdenticalBytes) {
  ASSERT_EQ(Build(kSmall, "reference").exit_code, 0);
  // A fresh stage cache (downloads kept): everything is built again.
  fs::path fresh = kWork / "fresh-cache";
  fs::remove_all(fresh);
  fs::create_directories(fresh);
  fs::create_directory_symlink(kCache / "packages", fresh / "packages");
  fs::path ks = kWork / "fresh.ks";
  std::ofstream(ks) << kSmall;
  RunResult r =
      Sh(std::string(KILN_BINARY) + " build --ks " + ks.string() + " --type tar --output " +
         (kWork / "fresh").string() + " --cache-dir " + fresh.string());
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("bootstrap: miss because first build"), std::string::npos) << r.out;
  EXPECT_EQ(ReadFile(kWork / "reference" / "SHA256SUMS"), ReadFile(kWork / "fresh" / "SHA256SUMS"))
      << "same spec, same mirror state: the same bytes";
  fs::remove_all(fresh);
}

TEST_F(BuildTest, MissingPackageFailsNamingIt) {
  RunResult r = Build("%packages\nkiln-no-such-package-xyz\n%end\n", "missing");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("failed in stage bootstrap [input/package-not-found]"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("kiln-no-such-package-xyz"), std::string::npos);
  EXPECT_TRUE(fs::exists(kWork / "missing" / "build.log")) << "the log is kept";
  EXPECT_EQ(Sh("ls " + (kCache / "stages" / "work").string()).out, "") << "no half-built stage";
}

const char* kWithScripts =
    "lang C\n%packages --excludedocs\njq\n-nano\n%end\n"
    "%post --erroronfail --log=/var/log/kiln-post.log\necho \"built by kiln\" > /etc/motd\n"
    "echo \"pid $$\"\n%end\n"
    "%post --nochroot\necho host > \"$INSTALL_ROOT/etc/from-host\"\n%end\n";

TEST_F(BuildTest, PostScriptsRunInTheRootAndOnTheHost) {
  ASSERT_EQ(Build(kSmall, "scripts-base").exit_code, 0);  // the same package set, cached
  RunResult r = Build(kWithScripts, "scripts");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  fs::path image = kWork / "scripts" / "kiln-bookworm-tar-x86_64.tar.zst";
  RunResult files = Sh("zstd -dc " + image.string() +
                       " | tar -xO ./etc/motd ./etc/from-host ./var/log/kiln-post.log");
  // tar -xO writes in archive order: etc/from-host, etc/motd, var/log/kiln-post.log. The
  // chroot script ran in its own PID namespace (PID 1 is the sandbox's reaper), and --log
  // kept its output.
  EXPECT_EQ(files.out, "host\nbuilt by kiln\npid 2\n");
  EXPECT_NE(ReadFile(kWork / "scripts" / "build.log").find("stage 3/4 scripts:"),
            std::string::npos);
  // The bootstrap of kSmall's package set is reused: only scripts and assembly run.
  EXPECT_NE(r.out.find("stage 1/4 bootstrap: cache hit"), std::string::npos) << r.out;
  RunResult none = Sh("grep -c kiln-build-tests /proc/self/mounts");
  EXPECT_EQ(none.out, "0\n") << "no mount left behind";
}

TEST_F(BuildTest, ChangingOnlyPostRerunsFromTheScriptsStage) {
  ASSERT_EQ(Build(kWithScripts, "post-a").exit_code, 0);
  // A script no earlier run has built (the cache directory outlives test runs).
  std::string changed =
      std::string(kWithScripts) + "%post\necho " + Nonce() + " > /etc/second\n%end\n";
  RunResult r = Build(changed, "post-b");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("stage 1/4 bootstrap: cache hit"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("stage 2/4 configure: cache hit"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("stage 3/4 scripts: miss because %post scripts changed"), std::string::npos)
      << r.out;
}

TEST_F(BuildTest, FailingErroronfailScriptFailsTheBuildWithItsOutput) {
  RunResult r =
      Build("%packages\njq\n-nano\n%end\n%post --erroronfail\necho about to fail\nexit 3\n%end\n",
            "failing");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("failed in stage scripts [input/script-failed]"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("exit code 3"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("about to fail"), std::string::npos) << r.out;
  // Without --erroronfail the same failure is only a warning.
  RunResult lenient =
      Build("%packages\njq\n-nano\n%end\n%post\necho " + Nonce() + "\nexit 3\n%end\n", "lenient");
  EXPECT_EQ(lenient.exit_code, 0) << lenient.out;
  EXPECT_NE(lenient.out.find("warning: %post 1"), std::string::npos) << lenient.out;
}

TEST_F(BuildTest, SystemSettingsAreApplied) {
  RunResult r = Build(
      "network --bootproto=dhcp --hostname=kiln-test-box\ntimezone Europe/Paris\n"
      "selinux --enforcing\nbootloader --timeout=1\n"
      "rootpw --plaintext kiln\nuser --name=tester --password=tester --plaintext --groups=sudo\n"
      "sshkey --username=tester \"ssh-ed25519 AAAAtest tester@kiln\"\n"
      "%packages --excludedocs\njq\n-nano\nsudo\n%end\n",
      "settings");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  // What cannot apply is said, not silently skipped.
  EXPECT_NE(r.out.find("warning: kickstart command 'selinux' does not apply"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("warning: kickstart command 'bootloader' applies to disk images"),
            std::string::npos)
      << r.out;
  fs::path dir = kWork / "settings-root";
  fs::remove_all(dir);
  fs::create_directories(dir);
  ASSERT_EQ(Sh("zstd -dc " + (kWork / "settings" / "kiln-bookworm-tar-x86_64.tar.zst").string() +
               " | tar -x -C " + dir.string() + " ./etc ./home")
                .exit_code,
            0);
  EXPECT_EQ(ReadFile(dir / "etc/hostname"), "kiln-test-box\n");
  EXPECT_EQ(fs::read_symlink(dir / "etc/localtime"), "/usr/share/zoneinfo/Europe/Paris");
  EXPECT_NE(ReadFile(dir / "etc/passwd").find("tester:x:1000:1000::/home/tester:/bin/bash"),
            std::string::npos);
  EXPECT_NE(ReadFile(dir / "etc/group").find("sudo:x:27:tester"), std::string::npos);
  EXPECT_EQ(ReadFile(dir / "home/tester/.ssh/authorized_keys"),
            "ssh-ed25519 AAAAtest tester@kiln\n");
  // The root password hash verifies with the system's own tool.
  std::string shadow = ReadFile(dir / "etc/shadow");
  size_t start = shadow.find("root:") + 5;
  std::string hash = shadow.substr(start, shadow.find(':', start) - start);
  std::string salt = hash.substr(3, hash.find('$', 3) - 3);
  RunResult check = Sh("openssl passwd -6 -salt " + salt + " kiln");
  EXPECT_EQ(check.out, hash + "\n");
  fs::remove_all(dir);
}

TEST_F(BuildTest, TrixieForI686) {
  RunResult r = Build(kSmall, "trixie-i686", "--release trixie --arch i386");
  if (!kiln::testing::HostRunsI386()) {
    // A host whose kernel runs no 32-bit programs: the build must say so, clearly.
    EXPECT_NE(r.exit_code, 0) << r.out;
    EXPECT_NE(r.out.find("[resource/arch-not-runnable]"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("this build host cannot run i386 programs"), std::string::npos) << r.out;
    GTEST_SKIP() << "this host cannot run i386 programs (arch-test i386 fails): the clear "
                    "failure was checked; the i686 image itself needs a host that can";
  }
  ASSERT_EQ(r.exit_code, 0) << r.out;
  fs::path image = kWork / "trixie-i686" / "kiln-trixie-tar-i686.tar.zst";
  RunResult version = Sh("zstd -dc " + image.string() + " | tar -xO ./etc/debian_version");
  EXPECT_EQ(version.out.substr(0, 2), "13") << version.out;
  auto manifest = nlohmann::json::parse(ReadFile(kWork / "trixie-i686" / "manifest.json"));
  EXPECT_EQ(manifest["spec"]["arch"], "i686");
  for (const auto& p : manifest["packages"]) {
    EXPECT_TRUE(p["architecture"] == "i386" || p["architecture"] == "all") << p.dump();
  }
}

TEST_F(BuildTest, ExtraRepositoryFromKickstart) {
  RunResult r = Build(
      "repo --name=updates --baseurl=\"http://deb.debian.org/debian bookworm-updates main\"\n"
      "%packages --excludedocs\njq\n-nano\n%end\n",
      "repo");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  RunResult sources =
      Sh("zstd -dc " + (kWork / "repo" / "kiln-bookworm-tar-x86_64.tar.zst").string() +
         " | tar -xO ./etc/apt/sources.list");
  EXPECT_NE(sources.out.find("deb http://deb.debian.org/debian bookworm-updates main"),
            std::string::npos)
      << sources.out;
  auto provenance = nlohmann::json::parse(ReadFile(kWork / "repo" / "provenance.json"));
  ASSERT_EQ(provenance["repositories"].size(), 2u);
  EXPECT_EQ(provenance["repositories"][1]["suite"], "bookworm-updates");
  RunResult bad =
      Build("repo --name=x --baseurl=\"http://deb.debian.org/debian no-such-suite\"\n", "bad-repo");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.out.find("[network/repository-unreachable]"), std::string::npos) << bad.out;
  EXPECT_NE(bad.out.find("repo x"), std::string::npos) << bad.out;
}

// Starts `kiln build` of kSmall with its own stage cache (downloads shared) and sends `sig`
// once the bootstrap is under way; checks the exit and that nothing is left behind.
void InterruptAndCheck(int sig, int want_exit) {
  fs::path cache = kWork / "interrupt-cache";
  fs::remove_all(cache);
  fs::create_directories(cache);
  fs::create_directory_symlink(kCache / "packages", cache / "packages");
  fs::path ks = kWork / "interrupt.ks";
  std::ofstream(ks) << kSmall;
  fs::path out = kWork / "interrupt";
  fs::remove_all(out);
  pid_t pid = fork();
  if (pid == 0) {
    int null = open("/dev/null", O_WRONLY);
    dup2(null, STDOUT_FILENO);
    dup2(null, STDERR_FILENO);
    execl(KILN_BINARY, KILN_BINARY, "build", "--ks", ks.c_str(), "--type", "tar", "--output",
          out.c_str(), "--cache-dir", cache.c_str(), nullptr);
    _exit(127);
  }
  // Wait until the bootstrap has started (bounded), then interrupt.
  for (int i = 0;
       i < 300 && ReadFile(out / "build.log").find("== stage 1/3 bootstrap") == std::string::npos;
       ++i) {
    usleep(100 * 1000);
  }
  usleep(2000 * 1000);  // let mmdebstrap get going
  kill(pid, sig);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), want_exit);
  EXPECT_NE(ReadFile(out / "build.log").find("canceled"), std::string::npos);
  // Any process still naming the cache (mmdebstrap, apt, dpkg, a sandbox); the bracket keeps
  // pgrep's own shell from matching.
  EXPECT_EQ(Sh("pgrep -a -f '[i]nterrupt-cache'").out, "") << "no build process left";
  EXPECT_EQ(Sh("grep -c " + cache.string() + " /proc/self/mounts").out, "0\n") << "no mount left";
  EXPECT_EQ(Sh("ls " + (cache / "stages" / "work").string()).out, "") << "no half-built stage";
  fs::remove_all(cache);
}

TEST_F(BuildTest, InterruptLeavesNothingBehind) { InterruptAndCheck(SIGINT, 130); }

TEST_F(BuildTest, TerminateLeavesNothingBehind) { InterruptAndCheck(SIGTERM, 143); }

TEST_F(BuildTest, FullDiskFailsCleanly) {
  // The stage cache on a 160 MiB tmpfs: the bootstrap cannot fit and must say so, leaving no
  // mount, process or half-built stage behind (downloads come from the shared cache).
  fs::path cache = kWork / "full-cache";
  Sh("umount " + cache.string());
  fs::remove_all(cache);
  fs::create_directories(cache);
  ASSERT_EQ(Sh("mount -t tmpfs -o size=160M kiln-full " + cache.string()).exit_code, 0);
  fs::create_directory_symlink(kCache / "packages", cache / "packages");
  fs::path ks = kWork / "full.ks";
  std::ofstream(ks) << kSmall;
  RunResult r =
      Sh(std::string(KILN_BINARY) + " build --ks " + ks.string() + " --type tar --output " +
         (kWork / "full").string() + " --cache-dir " + cache.string());
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("[resource/disk-full]"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("bootstrap"), std::string::npos) << r.out;
  EXPECT_EQ(Sh("grep -c " + cache.string() + "/ /proc/self/mounts").out, "0\n")
      << "no mount left inside the cache";
  EXPECT_EQ(Sh("pgrep -a -f '[f]ull-cache'").out, "") << "no build process left";
  EXPECT_EQ(Sh("ls " + (cache / "stages" / "work").string()).out, "") << "no half-built stage";
  EXPECT_TRUE(fs::exists(kWork / "full" / "build.log")) << "the log is kept";
  Sh("umount " + cache.string());
  fs::remove_all(cache);
}

TEST_F(BuildTest, UnsupportedTypeFailsAtOnce) {
  fs::path ks = kWork / "dvd.ks";
  std::ofstream(ks) << kSmall;
  RunResult r =
      Sh(std::string(KILN_BINARY) + " build --ks " + ks.string() + " --type dvd --output " +
         (kWork / "dvd").string() + " --cache-dir " + kCache.string());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("[input/type-not-supported]"), std::string::npos) << r.out;
}

}  // namespace
