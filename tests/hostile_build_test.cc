// Hostile kickstarts against real `kiln build` runs (label slow, as root; the cache directory
// is build_test's, so the bootstrap of its small package set is reused): %post scripts that
// try what a stranger on a public build service would. For each, the host is unchanged
// (files hashed before and after, the process list, its name and clock), and the build ends
// with a classified reason. A build running beside a fork bomb is unaffected.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "loopback_listener.h"
#include "service_harness.h"
#include "shell.h"

namespace {

namespace fs = std::filesystem;
using kiln::testing::ReadFile;
using kiln::testing::RunResult;
using kiln::testing::Sh;

const fs::path kWork = kiln::testing::kBuildWork;
const fs::path kCache = kiln::testing::kBuildCache;
const char* kSmall = kiln::testing::kSmallKickstart;

std::string Id() { return std::to_string(getpid()); }

// A kickstart line no earlier run had, so its scripts run instead of hitting the cache.
std::string Fresh() { return "# run " + Id() + "-" + std::to_string(time(nullptr)) + "\n"; }

// What a hostile script could change on the host, as text to compare.
std::map<std::string, std::string> HostState(const std::vector<fs::path>& files) {
  std::map<std::string, std::string> state;
  for (const fs::path& f : files) state[f.string()] = fs::exists(f) ? ReadFile(f) : "<absent>";
  char name[256] = {};
  gethostname(name, sizeof name);
  state["hostname"] = name;
  state["mounts under the work directory"] =
      std::to_string(Sh("grep -c kiln-build-tests /proc/self/mounts").out.size());
  return state;
}

// True if a process of the host (not this test) has `marker` in its command line.
bool HostHasProcess(const std::string& marker) {
  for (const fs::directory_entry& e : fs::directory_iterator("/proc")) {
    std::string pid = e.path().filename().string();
    if (pid.find_first_not_of("0123456789") != std::string::npos || pid == Id()) continue;
    std::string cmd = ReadFile(e.path() / "cmdline");
    for (char& c : cmd) c = c == '\0' ? ' ' : c;
    if (cmd.find(marker) != std::string::npos) return true;
  }
  return false;
}

// Each test runs three ways: `kiln build` as root of the host; `kiln build` as an ordinary
// user with a subordinate id range (the build as root of its own user namespace); and a build
// a non-admin user submits to `kiln serve --workers 2` started as root (which becomes its
// service user, with the test's limits as the server's).
enum class Builder { kRoot, kUser, kService };

const char* NameOf(Builder b) {
  return b == Builder::kRoot ? "AsRoot" : b == Builder::kUser ? "AsAUser" : "ThroughTheService";
}
void PrintTo(Builder b, std::ostream* os) { *os << NameOf(b); }

class HostileBuildTest : public ::testing::TestWithParam<Builder> {
 protected:
  void SetUp() override {
    if (std::string why = kiln::testing::RealBuildSkipReason(); !why.empty()) GTEST_SKIP() << why;
    if (GetParam() == Builder::kUser) {
      if (std::string why = kiln::testing::PrepareBuildUser(KILN_BINARY, user_); !why.empty()) {
        GTEST_SKIP() << why;
      }
    }
    if (GetParam() == Builder::kService) {
      curl_global_init(CURL_GLOBAL_ALL);
      kiln::testing::OpenTunAsUdevDoes();  // the service user's builds
    }
  }
  void TearDown() override {
    if (service_) service_->Stop();
  }

  bool AsUser() const { return GetParam() == Builder::kUser; }
  // Where a build's outputs and stages go: the shared ones as root, the user's own otherwise.
  fs::path Out(const std::string& name) const {
    if (GetParam() == Builder::kService) return kWork / "hostile-service-out" / name;
    return AsUser() ? user_.home / "hostile-tests" / name : kWork / name;
  }
  fs::path Cache() const {
    if (GetParam() == Builder::kService) return kiln::testing::kServiceCache;
    return AsUser() ? user_.home / ".cache" / "kiln" : kCache;
  }

  // A tar build of `ks_text` into Out(out); `extra`: kiln build's limit flags (the server's,
  // for a service). Its output names the failure as [class/code] either way.
  RunResult Build(const std::string& ks_text, const std::string& out,
                  const std::string& extra = "") {
    if (GetParam() == Builder::kRoot) {
      return kiln::testing::KilnBuild(KILN_BINARY, ks_text, out, "--type tar " + extra);
    }
    if (GetParam() == Builder::kService) return ServiceBuild(ks_text, out, extra);
    fs::path ks = kWork / ("user-" + out + ".ks");
    std::ofstream(ks) << ks_text;
    fs::permissions(ks, fs::perms::others_read, fs::perm_options::add);
    return Sh(user_.As(user_.kiln + " build --ks " + ks.string() + " --output " +
                       Out(out).string() + " --cache-dir " + Cache().string() + " --type tar " +
                       extra));
  }

  RunResult ServiceBuild(const std::string& ks_text, const std::string& out,
                         const std::string& extra) {
    std::string token;
    {
      // One server for the flags asked (kiln build's outbound network unless they say).
      std::lock_guard<std::mutex> lock(service_mu_);
      std::string flags = extra;
      if (flags.find("--script-network") == std::string::npos) {
        flags += " --script-network outbound";
      }
      if (!service_ || flags != service_flags_) {
        if (service_) service_->Stop();
        fs::path dir = kWork / "hostile-service";
        fs::remove_all(dir);
        service_ = std::make_unique<kiln::testing::Service>(KILN_BINARY, dir, 2, Cache());
        std::vector<std::string> args;
        std::istringstream words(flags);
        for (std::string w; words >> w;) args.push_back(w);
        if (!service_->Start(args)) return {1, "kiln serve did not start: " + service_->Log()};
        service_flags_ = flags;
        Sh(service_->Kiln("user add mallory"));
        std::string made = Sh(service_->Kiln("token create --user mallory --name hostile")).out;
        size_t at = made.find("kiln_");
        mallory_ = at == std::string::npos ? "" : made.substr(at, made.find('\n', at) - at);
      }
      token = mallory_;
    }
    using nlohmann::json;
    std::vector<std::string> auth = {"Authorization: Bearer " + token,
                                     "Content-Type: application/json"};
    json req = {
        {"type", "tar"}, {"arch", "x86_64"}, {"release", "bookworm"}, {"kickstart", ks_text}};
    kiln::testing::HttpReply r =
        kiln::testing::Http("POST", service_->Url("/api/v1/builds"), auth, req.dump());
    if (r.status != 201) return {1, "submit: " + std::to_string(r.status) + " " + r.body};
    std::string url = json::parse(r.body)["url"];
    json b;
    for (auto end = std::chrono::steady_clock::now() + std::chrono::minutes(15);
         std::chrono::steady_clock::now() < end;) {
      b = json::parse(kiln::testing::Http("GET", service_->Url(url), auth).body, nullptr, false);
      std::string state = b.is_object() ? b.value("state", "") : "";
      if (state == "succeeded" || state == "failed" || state == "canceled") break;
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
    fs::remove_all(Out(out));
    fs::create_directories(Out(out));
    std::string log = kiln::testing::Http("GET", service_->Url(url + "/log"), auth).body;
    std::ofstream(Out(out) / "build.log") << log;
    if (b.value("state", "") == "succeeded") {
      std::ofstream(Out(out) / "kiln-bookworm-tar-x86_64.tar.zst", std::ios::binary)
          << kiln::testing::Http(
                 "GET", service_->Url(url + "/artifacts/kiln-bookworm-tar-x86_64.tar.zst"), auth)
                 .body;
      return {0, log};
    }
    const json& e = b["error"];
    std::string why = e.is_object() ? "[" + e.value("class", "") + "/" + e.value("code", "") +
                                          "] " + e.value("message", "")
                                    : b.dump();
    return {1, why + "\n" + log};
  }

  kiln::testing::BuildUser user_;
  std::mutex service_mu_;
  std::unique_ptr<kiln::testing::Service> service_;
  std::string service_flags_, mallory_;
};

INSTANTIATE_TEST_SUITE_P(AsRootAsAUserAndThroughTheService, HostileBuildTest,
                         ::testing::Values(Builder::kRoot, Builder::kUser, Builder::kService),
                         [](const ::testing::TestParamInfo<Builder>& param) {
                           return std::string(NameOf(param.param));
                         });

TEST_P(HostileBuildTest, ScriptsThatAttackTheHostLeaveItAsItWas) {
  // A secret only the host has, a service on its loopback, and a process of its own.
  // As a user: the secret is the user's own (the build's scripts must not hold the invoker's
  // files either: its service's database and tokens).
  fs::path secret = AsUser() ? user_.home / ("hostile-secret-" + Id())
                             : fs::path("/var/tmp/kiln-hostile-secret-" + Id());
  std::ofstream(secret) << "host-secret-" << Id() << "\n";
  fs::permissions(secret, fs::perms::owner_read | fs::perms::owner_write);
  if (AsUser()) Sh("chown " + user_.name + ": " + secret.string());
  kiln::testing::LoopbackListener listener;
  ASSERT_TRUE(listener.ok());
  std::string port = listener.port();
  pid_t victim = fork();
  if (victim == 0) {
    execlp("sleep", "sleep", "600", nullptr);
    _exit(127);
  }
  std::string v = std::to_string(victim);
  std::string escaped = "/tmp/kiln-escaped-" + Id();
  std::string log_target = "/tmp/kiln-log-target-" + Id();
  std::string daemon = "kiln-hostile-daemon-" + Id();
  std::vector<fs::path> watched = {"/etc/passwd",   "/etc/shadow", "/etc/hosts",
                                   "/etc/hostname", secret,        "/root/.ssh/authorized_keys",
                                   escaped,         log_target};
  auto before = HostState(watched);

  std::string ks = std::string(kSmall) + "%post\n" + Fresh() + "%end\n" +
                   // The classic chroot escape, in Perl (perl-base is in every Debian image).
                   "%post\nperl -e 'mkdir \"/x\"; chroot \"/x\" or die \"no chroot: $!\"; "
                   "chdir \"..\" for 1..64; chroot \".\"; "
                   "if (open(F, \"<\", \"" +
                   secret.string() +
                   "\")) { print \"ESCAPED: \", <F> } else { print \"no host file: $!\\n\" } "
                   "system(\"touch " +
                   escaped +
                   " 2>/dev/null\")'\necho chroot-done\n%end\n"
                   // A host block device, made or found.
                   "%post\nmknod /dev/hostdisk b 253 0 && echo MKNOD-WORKED\n"
                   "ls /dev | tr '\\n' ' '; echo; ls /sys | wc -l\n%end\n"
                   // Mounts: its own tmpfs is fine, the host's disk is not there.
                   "%post\nmount -t tmpfs none /mnt && echo own-tmpfs\n"
                   "mount /dev/vda /mnt 2>&1 | head -1\n%end\n"
                   // The host's files: secrets, the master's token and database.
                   "%post\ncat " +
                   secret.string() +
                   " 2>&1 | head -1\nls /var/lib/kiln 2>&1 | head -1\n"
                   "echo pwned >> /etc/passwd; mkdir -p /root/.ssh; "
                   "echo ssh-ed25519 AAAA pwned >> /root/.ssh/authorized_keys; echo wrote-etc\n"
                   "%end\n"
                   // The host's loopback (the master's API, the broker).
                   "%post\n(exec 3<>/dev/tcp/127.0.0.1/" +
                   port +
                   ") 2>/dev/null && echo REACHED-HOST || echo loopback-unreachable\n%end\n"
                   // Host processes: signal, trace.
                   "%post\nkill -9 " +
                   v + " 2>&1; perl -e 'print syscall(101, 16, " + v +
                   ", 0, 0) == -1 ? \"no ptrace: $!\\n\" : \"PTRACED\\n\"'\n"
                   "kill -9 -1; echo kill-done\n%end\n"
                   // The host's name and clock; a daemon left running.
                   "%post\nhostname evil-" +
                   Id() +
                   "; date -s '2001-01-01 00:00:00' 2>&1 | head -1\n"
                   "perl -e '$0 = \"" +
                   daemon +
                   "\"; sleep 600' > /dev/null 2>&1 &\necho daemon-started\n%end\n"
                   // A symlink the next script's --log follows: it resolves in the image.
                   "%post\nln -s " +
                   log_target + " /var/log/attack.log\n%end\n%post --log=/var/log/attack.log\n" +
                   "echo logged-through-link\n%end\n"
                   // --nochroot: the host's tools read-only, no secrets, the image writable.
                   "%post --nochroot\ntouch /usr/kiln-nochroot-" +
                   Id() + " 2>&1 | head -1\ncat /etc/shadow 2>&1 | head -1\ncat " +
                   secret.string() +
                   " 2>&1 | head -1\necho nochroot > \"$INSTALL_ROOT/etc/from-nochroot\"\n%end\n";
  RunResult r = Build(ks, "hostile");
  listener.Close();
  bool victim_alive = kill(victim, 0) == 0;
  kill(victim, SIGKILL);
  waitpid(victim, nullptr, 0);
  std::string log = ReadFile(Out("hostile") / "build.log");

  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(HostState(watched), before) << "the host's files, name and mounts are unchanged";
  EXPECT_TRUE(victim_alive) << "the host's process was not killed";
  EXPECT_FALSE(HostHasProcess(daemon)) << "no process of the build outlived it";
  EXPECT_GT(std::abs(time(nullptr) - 978307200), 86400) << "the clock is the host's";
  for (const char* bad : {"ESCAPED", "MKNOD-WORKED", "REACHED-HOST", "PTRACED", "host-secret-"}) {
    EXPECT_EQ(log.find(bad), std::string::npos) << bad << "\n" << log;
  }
  for (const char* good : {"chroot-done", "own-tmpfs", "loopback-unreachable", "no ptrace",
                           "kill-done", "daemon-started", "wrote-etc"}) {
    EXPECT_NE(log.find(good), std::string::npos) << good << "\n" << log;
  }
  // What the scripts wrote went into the image, not the host.
  fs::path image = Out("hostile") / "kiln-bookworm-tar-x86_64.tar.zst";
  RunResult files = Sh("zstd -dc " + image.string() + " | tar -xO ./etc/from-nochroot");
  EXPECT_EQ(files.out.substr(0, 9), "nochroot\n") << files.out;
  // The --log whose file an earlier script made a symlink (to a host path) is not followed.
  EXPECT_NE(log.find("--log: cannot append to /var/log/attack.log"), std::string::npos) << log;
  EXPECT_FALSE(fs::exists("/usr/kiln-nochroot-" + Id()));
  fs::remove(secret);
}

// kiln build's scripts reach the internet (through slirp4netns), never the host's loopback;
// with --script-network none (a service's default) they reach nothing.
TEST_P(HostileBuildTest, ScriptNetworkIsOutboundOrNoneAndNeverTheHost) {
  kiln::testing::LoopbackListener listener(true);  // on 0.0.0.0, as the master listens
  ASSERT_TRUE(listener.ok());
  std::string port = listener.port();
  std::string host = kiln::testing::HostAddress();
  std::string script = "%post\n" + Fresh() +
                       "getent hosts deb.debian.org >/dev/null && echo RESOLVED || echo no-dns\n"
                       "for a in 127.0.0.1 10.0.2.2 " +
                       host + " 169.254.169.254; do (exec 3<>/dev/tcp/$a/" + port +
                       ") 2>/dev/null && echo REACHED-$a || echo closed-$a; done\n%end\n";
  RunResult outbound = Build(std::string(kSmall) + script, "net-outbound");
  RunResult none =
      Build(std::string(kSmall) + script + "# none\n", "net-none", "--script-network none");
  listener.Close();
  ASSERT_EQ(outbound.exit_code, 0) << outbound.out;
  ASSERT_EQ(none.exit_code, 0) << none.out;
  std::string out_log = ReadFile(Out("net-outbound") / "build.log");
  std::string none_log = ReadFile(Out("net-none") / "build.log");
  EXPECT_NE(out_log.find("RESOLVED"), std::string::npos) << out_log;
  EXPECT_NE(none_log.find("no-dns"), std::string::npos) << none_log;
  for (const std::string* log : {&out_log, &none_log}) {
    EXPECT_EQ(log->find("REACHED-"), std::string::npos) << *log;
    EXPECT_NE(log->find("closed-10.0.2.2"), std::string::npos) << *log;
    EXPECT_NE(log->find("closed-" + host), std::string::npos) << *log;
    EXPECT_NE(log->find("closed-169.254.169.254"), std::string::npos) << *log;
  }
}

// Both builds with the same limits (a service's are its server's).
const char* kBombLimits = "--max-processes 200 --script-timeout 600";

TEST_P(HostileBuildTest, AForkBombFailsItsBuildAndNotTheOneBesideIt) {
  std::string nonce = Id() + "-" + std::to_string(time(nullptr));
  auto beside = std::async(std::launch::async, [&] {
    return Build(std::string(kSmall) + "%post\nsleep 5; echo " + nonce + " > /etc/beside\n%end\n",
                 "beside-bomb", kBombLimits);
  });
  // The script stays (sleep) while its bomb grows: the process limit is what stops it.
  auto started = std::chrono::steady_clock::now();
  RunResult bomb = Build(std::string(kSmall) + "%post\n" + Fresh() +
                             "bomb() { bomb | bomb & }; bomb; sleep 300\n%end\n",
                         "fork-bomb", kBombLimits);
  RunResult ok = beside.get();
  EXPECT_EQ(bomb.exit_code, 1) << bomb.out;
  EXPECT_NE(bomb.out.find("[resource/process-limit-exceeded]"), std::string::npos) << bomb.out;
  EXPECT_EQ(ok.exit_code, 0) << ok.out;
  RunResult beside_file =
      Sh("zstd -dc " + (Out("beside-bomb") / "kiln-bookworm-tar-x86_64.tar.zst").string() +
         " | tar -xO ./etc/beside");
  EXPECT_EQ(beside_file.out, nonce + "\n");
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(120))
      << "stopped at the limit, not at the script's time limit";
  EXPECT_FALSE(HostHasProcess("/var/lib/kiln/post-")) << "every process of the bomb is gone";
}

TEST_P(HostileBuildTest, FillingTheDiskEndsTheBuildAtItsBudget) {
  RunResult r = Build(std::string(kSmall) +
                          "%post\ndd if=/dev/zero of=/fill bs=1M count=3000 2>&1 | tail -1\n"
                          "sleep 5\n%end\n",
                      "disk-fill", "--disk-budget-gib 0.7");
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("[resource/disk-budget-exceeded]"), std::string::npos) << r.out;
  EXPECT_EQ(Sh("ls " + (Cache() / "stages" / "work").string()).out, "")
      << "the stage's work directory is gone";
}

TEST_P(HostileBuildTest, AllocatingTwentyGibFailsInsideTheSandbox) {
  RunResult r = Build(std::string(kSmall) +
                          "%post --erroronfail\n"
                          "perl -e '$x = \"x\" x (20 * 1024**3); print \"ALLOCATED\\n\"'\n%end\n",
                      "memory", "--max-memory-gib 2");
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("[input/script-failed]"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Out of memory"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("ALLOCATED"), std::string::npos);
}

}  // namespace
