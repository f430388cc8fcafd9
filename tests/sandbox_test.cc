// RunInSandbox on a tiny real root (the host's dash and a static busybox): its namespaces and
// API file systems, and what hostile code inside cannot do to the host — see a block device,
// escape with chroot, mount on the host, reach the host's loopback, signal a host process,
// load a module, set the clock, outlive the run, exhaust the process table. Each test checks
// the host afterwards: no mount, no process, no file left behind.
#include "sys/sandbox.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <sstream>

#include "loopback_listener.h"
#include "stages/debian_mirror.h"
#include "sys/cgroup.h"
#include "sys/root_dir.h"

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

std::string Output(const RunResult& r) {
  std::string out;
  for (const std::string& l : r.tail) out += l + "\n";
  return out;
}

// The command lines of every process on the host, for "nothing outlived the sandbox".
std::string HostCommandLines() {
  std::string all;
  for (const fs::directory_entry& e : fs::directory_iterator("/proc")) {
    std::string name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string cmd = ReadFile(e.path() / "cmdline");
    for (char& c : cmd) c = c == '\0' ? ' ' : c;
    all += cmd + "\n";
  }
  return all;
}

class SandboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string why = SandboxUnavailableReason(); !why.empty()) GTEST_SKIP() << why;
    if (!fs::exists("/usr/bin/busybox")) {
      GTEST_SKIP() << "busybox is missing: scripts/install-deps.sh test";
    }
    std::string id = std::to_string(getpid()) + "-" +
                     ::testing::UnitTest::GetInstance()->current_test_info()->name();
    root_ = fs::temp_directory_path() / ("kiln-sandbox-" + id);
    host_dir_ = fs::temp_directory_path() / ("kiln-sandbox-host-" + id);
    fs::remove_all(root_);
    fs::remove_all(host_dir_);
    fs::create_directories(host_dir_);
    // A root with just a shell and busybox: /bin/sh is the host's dash with its libraries.
    for (const char* d : {"bin", "etc", "mnt", "lib"}) fs::create_directories(root_ / d);
    fs::copy_file("/bin/dash", root_ / "bin/sh");
    fs::copy_file("/usr/bin/busybox", root_ / "bin/busybox");
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
    if (!host_dir_.empty()) fs::remove_all(host_dir_);
  }

  RunResult Sh(const std::string& script, std::chrono::milliseconds timeout = 20s,
               SandboxOptions options = {}) {
    RunOptions run;
    run.argv = {"/bin/sh", "-c", script};
    run.timeout = timeout;
    run.kill_grace = 300ms;
    options.root = root_;
    options.hostname = "kiln-test";
    return RunInSandbox(options, run);
  }

  // True if the host has any mount under the root.
  bool MountsLeft() const {
    return ReadFile("/proc/self/mounts").find(root_.string()) != std::string::npos;
  }

  fs::path root_;
  fs::path host_dir_;  // a directory of the host the sandbox must not reach
};

TEST_F(SandboxTest, RunsInTheRootWithItsOwnNamespaces) {
  RunResult r =
      Sh("echo pid=$$; echo host=$(busybox cat /proc/sys/kernel/hostname); "
         "while read l; do case \"$l\" in proc*|tmpfs*) echo \"$l\";; esac; done < /proc/mounts; "
         "echo kept > /etc/kept; echo gone > /tmp/gone; test -c /dev/null && echo dev-ok; "
         "echo uid=$(busybox id -u)");
  ASSERT_TRUE(r.ok()) << r.Describe() << "\n" << Output(r);
  std::string out = Output(r);
  EXPECT_NE(out.find("pid=2\n"), std::string::npos) << "its own PID namespace\n" << out;
  EXPECT_NE(out.find("host=kiln-test\n"), std::string::npos) << out;
  EXPECT_NE(out.find("proc /proc proc"), std::string::npos) << out;
  EXPECT_NE(out.find("tmpfs /tmp tmpfs"), std::string::npos) << out;
  EXPECT_NE(out.find("dev-ok"), std::string::npos) << out;
  EXPECT_NE(out.find("uid=0\n"), std::string::npos) << "root inside its namespace\n" << out;
  EXPECT_EQ(ReadFile(root_ / "etc/kept"), "kept\n") << "writes to the root stay";
  EXPECT_FALSE(fs::exists(root_ / "tmp/gone")) << "/tmp is the sandbox's own";
  EXPECT_FALSE(MountsLeft());
}

TEST_F(SandboxTest, FailureAndExitCode) {
  RunResult r = Sh("echo before; exit 7");
  EXPECT_EQ(r.kind, ExitKind::kExited);
  EXPECT_EQ(r.code, 7);
  EXPECT_EQ(r.tail.back(), "before");
  RunResult missing = Sh("exec /no/such/program");
  EXPECT_EQ(missing.kind, ExitKind::kExited);
  EXPECT_NE(missing.code, 0);
  EXPECT_FALSE(MountsLeft());
}

TEST_F(SandboxTest, AProgramThatDoesNotExistFailsToStart) {
  RunOptions run;
  run.argv = {"no-such-program"};
  SandboxOptions options;
  options.root = root_;
  RunResult r = RunInSandbox(options, run);
  EXPECT_EQ(r.kind, ExitKind::kFailedToStart) << r.Describe();
  EXPECT_NE(Output(r).find("cannot run no-such-program"), std::string::npos) << Output(r);
}

TEST_F(SandboxTest, TimeoutKillsEverythingAndLeavesNoMount) {
  // A busy loop plus a background child ignoring SIGTERM.
  RunResult r = Sh("(trap '' TERM; while :; do :; done) & while :; do :; done", 400ms);
  EXPECT_EQ(r.kind, ExitKind::kTimedOut);
  EXPECT_LT(r.elapsed, 5000ms);
  EXPECT_FALSE(MountsLeft());
}

TEST_F(SandboxTest, WorkingDirectoryInsideTheRoot) {
  fs::create_directories(root_ / "work");
  RunOptions run;
  run.argv = {"/bin/sh", "-c", "pwd"};
  run.cwd = "/work";
  SandboxOptions options;
  options.root = root_;
  RunResult r = RunInSandbox(options, run);
  ASSERT_TRUE(r.ok()) << r.Describe();
  EXPECT_EQ(r.tail.back(), "/work");
}

TEST_F(SandboxTest, DevHasNoBlockDeviceAndNoneCanBeMade) {
  RunResult r =
      Sh("busybox ls /dev | busybox tr '\\n' ' '; echo; "
         "busybox mknod /dev/sda b 8 0 && echo mknod-worked; "
         "busybox mknod /tmp/sda b 8 0 && echo mknod-tmp-worked; "
         "busybox ls /sys | busybox wc -l");
  std::string out = Output(r);
  EXPECT_NE(out.find("fd full null ptmx pts random shm stderr stdin stdout tty urandom zero"),
            std::string::npos)
      << out;
  EXPECT_EQ(out.find("mknod-worked"), std::string::npos) << out;
  EXPECT_EQ(out.find("mknod-tmp-worked"), std::string::npos) << out;
  EXPECT_NE(out.find("\n0\n"), std::string::npos) << "/sys is empty\n" << out;
}

TEST_F(SandboxTest, ChrootEscapeFindsNothingOfTheHost) {
  // The classic escape: chroot into a subdirectory, then climb above it and chroot there.
  std::ofstream(host_dir_ / "secret") << "host\n";
  RunResult r =
      Sh("busybox mkdir -p /x; busybox chroot /x /bin/busybox true 2>/dev/null; "
         "cd /; busybox mkdir -p /jail && cd /jail && "
         "busybox chroot /jail /../../../../../../bin/busybox ls / 2>&1; "
         "busybox ls -a / | busybox tr '\\n' ' '; echo; "
         "busybox cat '" +
         (host_dir_ / "secret").string() +
         "' 2>&1; busybox ls /proc/1/root/ | busybox tr '\\n' ' '; echo; "
         "busybox ls /proc | busybox grep -c '^[0-9]'");
  std::string out = Output(r);
  EXPECT_EQ(out.find("host\n"), std::string::npos) << out;
  EXPECT_EQ(out.find("usr "), std::string::npos) << "the host's /usr is not there\n" << out;
  // Only the sandbox's own processes: its PID 1, the shell and the ls/grep pipeline.
  EXPECT_LT(std::stoi(r.tail.back()), 10) << out;
}

TEST_F(SandboxTest, MountsStayInsideAndHostDevicesCannotBeMounted) {
  RunResult r =
      Sh("busybox mount -t tmpfs t /mnt && echo tmpfs-inside; "
         "busybox mount -t ext4 /dev/null /mnt 2>&1 || echo no-device-mount; "
         "busybox mount -o remount,rw /proc 2>&1; busybox umount /proc && echo unmounted-proc");
  std::string out = Output(r);
  EXPECT_NE(out.find("no-device-mount"), std::string::npos) << out;
  EXPECT_FALSE(MountsLeft());
  EXPECT_TRUE(fs::is_empty(root_ / "mnt")) << "the tmpfs was the sandbox's";
}

TEST_F(SandboxTest, NoModuleClockOrHostHostname) {
  char before[256] = {};
  gethostname(before, sizeof before);
  RunResult r =
      Sh("busybox insmod /bin/busybox 2>&1 || echo no-module; "
         "busybox date -s '2001-01-01 00:00:00' 2>&1; echo date-rc=$?; "
         "busybox hostname evil && busybox hostname; "
         "busybox sysctl -w kernel.hostname=evil2 2>&1 || echo no-sysctl; "
         "echo 1 > /proc/sys/vm/drop_caches 2>/dev/null || echo no-proc-write");
  std::string out = Output(r);
  EXPECT_NE(out.find("no-module"), std::string::npos) << out;
  EXPECT_NE(out.find("date: can't set date: Operation not permitted"), std::string::npos) << out;
  EXPECT_NE(out.find("no-proc-write"), std::string::npos) << out;
  char after[256] = {};
  gethostname(after, sizeof after);
  EXPECT_STREQ(before, after) << "the host's name is unchanged";
  EXPECT_GT(std::abs(time(nullptr) - 978307200), 86400) << "the host's clock is unchanged";
}

TEST_F(SandboxTest, NoNetworkButItsOwnLoopback) {
  // A service on the host's loopback (the master's API, the broker) is out of reach.
  kiln::testing::LoopbackListener listener;
  ASSERT_TRUE(listener.ok());
  std::string port = listener.port();
  RunResult r =
      Sh("busybox cat /proc/net/dev | busybox tail -n +3 | busybox cut -d: -f1; "
         "echo hi | busybox nc -w 2 127.0.0.1 " +
         port +
         " && echo reached-host || echo unreachable; "
         "busybox nc -l -p 7777 -w 1 </dev/null & busybox sleep 0.2; "
         "echo x | busybox nc -w 1 127.0.0.1 7777 && echo own-loopback");
  listener.Close();
  std::string out = Output(r);
  EXPECT_NE(out.find("unreachable"), std::string::npos) << out;
  EXPECT_EQ(out.find("reached-host"), std::string::npos) << out;
  EXPECT_NE(out.find("own-loopback"), std::string::npos) << "loopback is up inside\n" << out;
  EXPECT_EQ(out.find("eth"), std::string::npos) << out;
}

// Outbound (kiln build's %post): the mirror is reachable through slirp4netns; the host is
// not: neither its loopback (as 127.0.0.1 or through slirp's gateway address 10.0.2.2), nor
// its own addresses (the master listens on 0.0.0.0), nor a link-local metadata address — and
// the script cannot change the routes that say so.
TEST_F(SandboxTest, OutboundReachesTheMirrorButNotTheHost) {
  if (std::system("command -v slirp4netns >/dev/null") != 0) {
    GTEST_SKIP() << "slirp4netns is missing: scripts/install-deps.sh build";
  }
  kiln::testing::LoopbackListener listener(true);
  std::string host_address = kiln::testing::HostAddress();
  ASSERT_FALSE(host_address.empty()) << "the host has no address but loopback";
  ASSERT_TRUE(listener.ok());
  std::string port = listener.port();
  // The mirror by address (a static busybox has no working name service, and its wget
  // crashes: DNS is checked with its nslookup, HTTP spoken through nc).
  std::string mirror = stages::DefaultDebianMirror("/");
  std::string host = mirror.substr(mirror.find("://") + 3);
  std::string path = host.find('/') == std::string::npos ? "" : host.substr(host.find('/'));
  host = host.substr(0, host.find('/'));
  addrinfo* found = nullptr;
  addrinfo hints{};
  hints.ai_family = AF_INET;
  ASSERT_EQ(getaddrinfo(host.c_str(), nullptr, &hints, &found), 0) << host;
  char ip[64] = {};
  inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(found->ai_addr)->sin_addr, ip, sizeof ip);
  freeaddrinfo(found);
  std::ofstream(root_ / "etc/resolv.conf") << "";
  SandboxOptions options;
  options.network = SandboxOptions::Network::kOutbound;
  RunResult r =
      Sh(std::string("busybox cat /etc/resolv.conf; busybox ip -4 addr | busybox grep -c tap0; ") +
             "busybox nslookup " + host + " 10.0.2.3 | busybox grep -c Address; " +
             "(printf 'GET " + path + "/dists/bookworm/Release HTTP/1.1\\r\\nHost: " + host +
             "\\r\\nConnection: close\\r\\n\\r\\n'; busybox sleep 5) | busybox nc -w 20 " + ip +
             " 80 | busybox grep -m1 -o Origin:; "
             "echo x | busybox nc -w 2 127.0.0.1 " +
             port + " && echo REACHED-LOOPBACK; echo x | busybox nc -w 2 10.0.2.2 " + port +
             " && echo REACHED-GATEWAY; echo x | busybox nc -w 2 " + host_address + " " + port +
             " && echo REACHED-HOST-ADDRESS; busybox nc -w 5 169.254.169.254 80 </dev/null 2>&1 "
             "| busybox head -1; busybox ip route del unreachable 169.254.0.0/16 2>&1 | "
             "busybox head -1; busybox ip route | busybox grep -c unreachable; echo done",
         60s, options);
  listener.Close();
  std::string out = Output(r);
  EXPECT_NE(out.find("nameserver 10.0.2.3"), std::string::npos) << r.Describe() << "\n" << out;
  EXPECT_NE(out.find("Origin:"), std::string::npos) << "the mirror " << mirror << "\n" << out;
  EXPECT_EQ(out.find("REACHED-LOOPBACK"), std::string::npos) << out;
  EXPECT_EQ(out.find("REACHED-GATEWAY"), std::string::npos) << out;
  EXPECT_EQ(out.find("REACHED-HOST-ADDRESS"), std::string::npos) << host_address << "\n" << out;
  EXPECT_NE(out.find("No route to host"), std::string::npos) << "169.254.169.254\n" << out;
  EXPECT_NE(out.find("Operation not permitted"), std::string::npos) << "ip route del\n" << out;
  EXPECT_NE(out.find("done"), std::string::npos) << out;
  EXPECT_EQ(ReadFile(root_ / "etc/resolv.conf"), "") << "the image's own file is unchanged";
  EXPECT_EQ(out.find("slirp"), std::string::npos) << "slirp4netns's chatter is not the output";
  EXPECT_FALSE(HostCommandLines().find("slirp4netns") != std::string::npos &&
               HostCommandLines().find(root_.string()) != std::string::npos);
}

TEST_F(SandboxTest, HostProcessesCannotBeSeenOrSignalled) {
  pid_t victim = fork();
  if (victim == 0) {
    execlp("sleep", "sleep", "300", nullptr);
    _exit(127);
  }
  RunResult r = Sh("busybox kill -9 " + std::to_string(victim) + " 2>&1 || echo no-such; " +
                   "busybox kill -9 -1; echo still-here");
  std::string out = Output(r);
  EXPECT_EQ(kill(victim, 0), 0) << "the host's process lives\n" << out;
  kill(victim, SIGKILL);
  waitpid(victim, nullptr, 0);
  EXPECT_NE(out.find("no-such"), std::string::npos) << out;
}

TEST_F(SandboxTest, NothingOutlivesIt) {
  std::string marker = "kiln-daemon-" + std::to_string(getpid());
  RunResult r =
      Sh("busybox setsid busybox sh -c 'busybox sleep 300; true " + marker +
         "' & busybox nohup busybox sh -c 'busybox sleep 300; true " + marker +
         "-2' >/dev/null 2>&1 & busybox sleep 0.3; busybox ps -o args | busybox grep -c " + marker +
         "; exit 0");
  EXPECT_TRUE(r.ok()) << r.Describe() << Output(r);
  EXPECT_GE(std::stoi(r.tail.back()), 2) << "the daemons ran\n" << Output(r);
  usleep(200 * 1000);
  EXPECT_EQ(HostCommandLines().find(marker), std::string::npos) << "a daemon survived";
}

TEST_F(SandboxTest, AForkBombHitsTheProcessLimit) {
  SandboxOptions options;
  options.limits.max_processes = 64;
  std::string marker = "kiln-bomb-" + std::to_string(getpid());
  RunResult r = Sh("i=0; while [ $i -lt 200 ]; do busybox sh -c 'busybox sleep 30; true " + marker +
                       "' >/dev/null 2>&1 & i=$((i+1)); done 2>&1 | busybox head -3; "
                       "echo done",
                   60s, options);
  std::string out = Output(r);
  EXPECT_NE(out.find("done"), std::string::npos) << r.Describe() << "\n" << out;
  EXPECT_TRUE(out.find("fork") != std::string::npos || out.find("Resource") != std::string::npos)
      << out;
  EXPECT_LT(r.elapsed, 30000ms) << "the run ended; its sleepers were killed";
  usleep(200 * 1000);
  EXPECT_EQ(HostCommandLines().find(marker), std::string::npos);
}

TEST_F(SandboxTest, EnvironmentIsNotInherited) {
  setenv("KILN_TOKEN", "kiln_secret_of_the_worker", 1);
  RunResult r = Sh("busybox env");
  unsetenv("KILN_TOKEN");
  std::string out = Output(r);
  EXPECT_EQ(out.find("kiln_secret"), std::string::npos) << out;
  EXPECT_NE(out.find("PATH="), std::string::npos) << out;
}

TEST_F(SandboxTest, HostToolsViewIsReadOnlyAndHoldsNoSecrets) {
  SandboxOptions options;
  options.host_tools = true;
  RunResult r =
      Sh("test -x /usr/bin/dash && echo has-dash; touch /usr/kiln-x 2>/dev/null || echo usr-ro; "
         "test -e /etc/shadow || echo no-shadow; test -e /etc/ssh || echo no-ssh; "
         "echo made > /mnt/sysimage/etc/from-nochroot && echo wrote-image; "
         "ls /mnt/sysimage/bin/busybox >/dev/null && echo sees-image; "
         "test -e '" +
             host_dir_.string() + "' || echo no-host-tmp",
         20s, options);
  std::string out = Output(r);
  for (const char* want :
       {"has-dash", "usr-ro", "no-shadow", "no-ssh", "wrote-image", "sees-image", "no-host-tmp"}) {
    EXPECT_NE(out.find(want), std::string::npos) << want << "\n" << r.Describe() << "\n" << out;
  }
  EXPECT_EQ(ReadFile(root_ / "etc/from-nochroot"), "made\n");
  EXPECT_FALSE(fs::exists("/usr/kiln-x"));
}

// The host view mmdebstrap runs in: the host's files to read (not to write, as root inside is
// nobody outside), private /tmp and /run, the image at /run/kiln/image, a host path under
// /tmp again visible read-only.
TEST_F(SandboxTest, HostViewSeesTheHostReadOnlyAndTheImageReadWrite) {
  if (geteuid() != 0) GTEST_SKIP() << "the host view needs id-mapped mounts (root)";
  std::string passwd = ReadFile("/etc/passwd");
  fs::create_directories(host_dir_ / "repo");
  std::ofstream(host_dir_ / "repo/Release") << "Origin: test\n";
  SandboxOptions options;
  options.host_view = true;
  options.network = SandboxOptions::Network::kHost;
  options.host_paths = {{host_dir_ / "repo", ""}};
  RunResult r =
      Sh(std::string("head -c 5 /etc/passwd; echo; echo x >> /etc/passwd 2>/dev/null || ") +
             "echo host-read-only; cat " + (host_dir_ / "repo/Release").string() + "; touch " +
             (host_dir_ / "repo/x").string() + " 2>/dev/null || echo repo-read-only; " +
             "echo made > /run/kiln/image/etc/from-host-view && echo image-writable; " +
             "ls /dev | tr '\n' ' '; echo; test -e /etc/shadow && ! cat /etc/shadow >/dev/null "
             "2>&1 && echo shadow-unreadable; echo tmp > /tmp/kiln-host-view-" +
             std::to_string(getpid()),
         20s, options);
  std::string out = Output(r);
  for (const char* want : {"root:\n", "host-read-only", "Origin: test", "repo-read-only",
                           "image-writable", "shadow-unreadable"}) {
    EXPECT_NE(out.find(want), std::string::npos) << want << "\n" << r.Describe() << "\n" << out;
  }
  EXPECT_NE(out.find("fd full null ptmx pts random shm stderr stdin stdout tty urandom zero"),
            std::string::npos)
      << out;
  EXPECT_EQ(ReadFile("/etc/passwd"), passwd);
  EXPECT_EQ(ReadFile(root_ / "etc/from-host-view"), "made\n");
  struct stat st {};
  ASSERT_EQ(stat((root_ / "etc/from-host-view").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, geteuid()) << "files made in the image keep the host's ids";
  EXPECT_FALSE(fs::exists("/tmp/kiln-host-view-" + std::to_string(getpid()))) << "/tmp is private";
  EXPECT_FALSE(MountsLeft());
}

// kiln's cache, where images are built, is root's alone (0700): the sandbox, nobody on the
// host, must never need to walk it.
TEST_F(SandboxTest, WorksWhenTheImageIsInADirectoryOnlyRootMayEnter) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  fs::path private_dir = host_dir_ / "private";
  fs::create_directories(private_dir);
  fs::rename(root_, private_dir / "root");
  fs::permissions(private_dir, fs::perms::owner_all, fs::perm_options::replace);
  fs::path moved = private_dir / "root";
  std::swap(root_, moved);
  SandboxOptions nochroot;
  nochroot.host_tools = true;
  SandboxOptions outbound;
  outbound.network = SandboxOptions::Network::kOutbound;
  for (const SandboxOptions& o : {SandboxOptions{}, nochroot, outbound}) {
    RunResult r = Sh("echo ran", 20s, o);
    EXPECT_TRUE(r.ok()) << r.Describe() << "\n" << Output(r);
  }
  std::swap(root_, moved);
  fs::remove_all(private_dir);
}

TEST_F(SandboxTest, AnImageDevThatIsASymlinkIsRefused) {
  // An image (an earlier %post) makes /dev point at a host directory: nothing is created or
  // mounted there.
  fs::remove_all(root_ / "dev");
  fs::create_symlink(host_dir_, root_ / "dev");
  RunResult r = Sh("echo ran");
  EXPECT_EQ(r.kind, ExitKind::kFailedToStart) << r.Describe() << Output(r);
  EXPECT_NE(Output(r).find("not a directory"), std::string::npos) << Output(r);
  EXPECT_TRUE(fs::is_empty(host_dir_));
  EXPECT_FALSE(MountsLeft());
}

TEST_F(SandboxTest, RootDirResolvesSymlinksInsideTheImage) {
  // Symlinks an image may hold, each aimed at the host.
  fs::create_directories(root_ / "home");
  fs::create_symlink(host_dir_, root_ / "home/evil");  // absolute: the host's directory
  fs::create_symlink("../../../../../../../../" + host_dir_.relative_path().string(),
                     root_ / "etc/up");
  RootDir dir(root_);
  EXPECT_FALSE(dir.WriteFile("/home/evil/.ssh/authorized_keys", "key\n").ok());
  (void)dir.MakeDirs("/home/evil/.ssh");
  EXPECT_FALSE(fs::exists(host_dir_ / ".ssh")) << "no directory made on the host";
  (void)dir.WriteFile("/etc/up/x", "inside\n");
  EXPECT_FALSE(fs::exists(host_dir_ / "x")) << "'..' stops at the image's /";
  EXPECT_TRUE(dir.WriteFile("/../../../etc/hostname", "box\n").ok());
  EXPECT_EQ(ReadFile(root_ / "etc/hostname"), "box\n");
  std::ofstream(host_dir_ / "secret") << "host\n";
  fs::create_symlink(host_dir_ / "secret", root_ / "etc/leak");
  EXPECT_FALSE(dir.ReadFile("/etc/leak")) << "reading follows links inside the image only";
  fs::create_symlink("hostname", root_ / "etc/alias");
  EXPECT_EQ(dir.ReadFile("/etc/alias").value_or(""), "box\n");
  EXPECT_TRUE(dir.Symlink("/usr/share/zoneinfo/UTC", "/etc/leak").ok());
  EXPECT_EQ(fs::read_symlink(root_ / "etc/leak"), "/usr/share/zoneinfo/UTC");
  EXPECT_EQ(ReadFile(host_dir_ / "secret"), "host\n") << "the link was replaced, not its target";
}

// Where the host delegates a cgroup v2 to kiln: this test process is put, as a Delegate=yes
// unit's would be, alone in a cgroup of its own (kiln-test-PID under the hierarchy's root), then
// claims it as a service does (sys/cgroup.h). Afterwards it goes back where it was.
class SandboxCgroupTest : public SandboxTest {
 protected:
  void SetUp() override {
    SandboxTest::SetUp();
    if (IsSkipped()) return;
    if (geteuid() != 0) GTEST_SKIP() << "making a cgroup to delegate needs root";
    std::ifstream mounts("/proc/self/mountinfo");
    for (std::string line; std::getline(mounts, line);) {
      if (line.find(" - cgroup2 ") == std::string::npos) continue;
      std::istringstream fields(line);
      std::string id, parent, device, root, at;
      fields >> id >> parent >> device >> root >> at;
      if (root == "/") mount_ = at;
    }
    if (mount_.empty()) GTEST_SKIP() << "this host has no cgroup v2 hierarchy";
    std::ifstream own("/proc/self/cgroup");
    for (std::string line; std::getline(own, line);) {
      if (line.rfind("0::", 0) == 0) home_ = line.substr(3);
    }
    delegated_ = mount_ / ("kiln-test-" + std::to_string(getpid()));
    ASSERT_TRUE(fs::create_directory(delegated_)) << delegated_;
    MoveHere(delegated_);
  }
  void TearDown() override {
    if (!delegated_.empty()) {
      MoveHere(mount_ / fs::path(home_).relative_path());
      rmdir((delegated_ / kSupervisorCgroup).c_str());
      EXPECT_EQ(rmdir(delegated_.c_str()), 0) << delegated_ << ": " << strerror(errno);
    }
    SandboxTest::TearDown();
  }
  static void MoveHere(const fs::path& cgroup) {
    std::ofstream procs(cgroup / "cgroup.procs");
    procs << getpid() << std::flush;
    ASSERT_TRUE(procs.good()) << "cannot move into " << cgroup;
  }
  // The sandbox cgroups left under the delegated one.
  std::vector<std::string> Leftovers() const {
    std::vector<std::string> out;
    for (const fs::directory_entry& e : fs::directory_iterator(delegated_)) {
      if (e.is_directory() && e.path().filename().string().rfind("sandbox-", 0) == 0) {
        out.push_back(e.path().filename().string());
      }
    }
    return out;
  }

  fs::path mount_, delegated_;
  std::string home_;
};

TEST_F(SandboxCgroupTest, EachSandboxRunsInACgroupOfItsOwnThatGoesWithIt) {
  CgroupClaim claim = ClaimDelegatedCgroup();
  ASSERT_TRUE(claim.delegated) << claim.note;
  EXPECT_NE(claim.note.find("moved into cgroup"), std::string::npos) << claim.note;
  EXPECT_NE(ReadFile("/proc/self/cgroup").find(std::string("/") + kSupervisorCgroup + "\n"),
            std::string::npos);
  EXPECT_TRUE(ClaimDelegatedCgroup().note.empty()) << "a second claim changes nothing";

  RunOptions run;
  // A daemon that would outlive the script, and where the script finds itself.
  run.argv = {"/bin/sh", "-c", "busybox setsid busybox sleep 300 & busybox cat /proc/self/cgroup"};
  run.timeout = 20s;
  SandboxOptions options;
  options.root = root_;
  SandboxReport report;
  RunResult r = RunInSandbox(options, run, &report);
  ASSERT_TRUE(r.ok()) << r.Describe() << "\n" << Output(r);
  std::string inside = "/" + delegated_.filename().string() + "/sandbox-";
  EXPECT_NE(Output(r).find("0::" + inside), std::string::npos) << Output(r);
  EXPECT_NE(report.cgroup.find(inside), std::string::npos) << report.cgroup;
  EXPECT_TRUE(report.no_cgroup.empty()) << report.no_cgroup;
  EXPECT_FALSE(report.out_of_memory);
  EXPECT_TRUE(Leftovers().empty()) << "the sandbox's cgroup is removed with it";
  EXPECT_FALSE(MountsLeft());
}

TEST_F(SandboxCgroupTest, ACgroupWithOtherProcessesIsNotClaimed) {
  pid_t other = fork();
  ASSERT_GE(other, 0);
  if (other == 0) {
    pause();
    _exit(0);
  }
  CgroupClaim claim = ClaimDelegatedCgroup();
  kill(other, SIGKILL);
  waitpid(other, nullptr, 0);
  EXPECT_FALSE(claim.delegated);
  EXPECT_NE(claim.note.find("holds other processes too"), std::string::npos) << claim.note;
  std::string why;
  EXPECT_EQ(SandboxCgroup::Make({}, &why), nullptr);
  EXPECT_NE(why.find("not in one delegated to it"), std::string::npos) << why;
  // The sandbox still runs, bounded by its RLIMITs.
  RunOptions run;
  run.argv = {"/bin/sh", "-c", "echo ran"};
  SandboxOptions options;
  options.root = root_;
  SandboxReport report;
  RunResult r = RunInSandbox(options, run, &report);
  EXPECT_TRUE(r.ok()) << r.Describe() << "\n" << Output(r);
  EXPECT_TRUE(report.cgroup.empty());
  EXPECT_FALSE(report.no_cgroup.empty());
}

TEST_F(SandboxCgroupTest, MemoryPastTheLimitIsKilledAndReported) {
  ASSERT_TRUE(ClaimDelegatedCgroup().delegated);
  if (ReadFile(delegated_ / "cgroup.subtree_control").find("memory") == std::string::npos) {
    GTEST_SKIP() << "this host's cgroup v2 hierarchy has no memory controller to delegate ("
                 << mount_.string() << "/cgroup.controllers: a cgroup v1 hierarchy holds it); "
                 << "memory is bounded per process by RLIMIT_AS here";
  }
  RunOptions run;
  // 200 MiB of buffer, touched by reading into it, against a 64 MiB sandbox.
  run.argv = {"/bin/sh", "-c", "busybox dd if=/dev/zero of=/dev/null bs=200M count=1; echo $?"};
  run.timeout = 20s;
  SandboxOptions options;
  options.root = root_;
  options.limits.max_memory_bytes = 64ll << 20;
  SandboxReport report;
  RunResult r = RunInSandbox(options, run, &report);
  EXPECT_TRUE(report.memory_by_cgroup);
  EXPECT_TRUE(report.out_of_memory) << r.Describe() << "\n" << Output(r);
  EXPECT_NE(r.tail.back(), "0") << "dd was killed\n" << Output(r);
  EXPECT_TRUE(Leftovers().empty());
}

}  // namespace
}  // namespace kiln::sys
