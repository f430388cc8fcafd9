// Shell helpers for the tests that drive the kiln binary and system tools as a user would.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace kiln::testing {

struct RunResult {
  int exit_code = -1;
  std::string out;
};

// Runs a shell command line; `out` is what it writes to stdout.
inline RunResult Popen(const std::string& cmd) {
  RunResult r;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// Runs a shell command line (stderr merged into the output).
inline RunResult Sh(const std::string& cmd) { return Popen(cmd + " 2>&1"); }

inline std::string ReadFile(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Whether this host runs i386 programs (natively or through registered qemu emulation), as
// mmdebstrap needs for an i686 root: some VMs' kernels run no 32-bit programs at all.
inline bool HostRunsI386() { return Sh("arch-test i386 >/dev/null").exit_code == 0; }

// The kickstarts the real-build tests share, so their stages are built once per run: a small
// tar's package set, and the project's example of a small server with a serial console.
inline constexpr char kSmallKickstart[] = "lang C\n%packages --excludedocs\njq\n-nano\n%end\n";
inline constexpr char kServerKickstart[] =
    "lang en_US.UTF-8\nkeyboard us\ntimezone Etc/UTC --utc\nrootpw --plaintext kiln\n"
    "network --bootproto=dhcp --hostname=kiln-boot\n"
    "bootloader --timeout=1 --append=\"console=ttyS0,115200\"\n"
    "part /boot/efi --fstype=efi --size=64\npart / --fstype=ext4 --size=1024 --grow\n"
    "%packages --excludedocs\n-nano\n%end\n"
    "%post --erroronfail\necho kiln-boot-test > /etc/motd\n%end\n";

// The slow tests' real builds share one work directory and one stage cache, so later tests
// reuse earlier ones' downloads and stages.
inline const std::filesystem::path kBuildWork =
    std::filesystem::temp_directory_path() / "kiln-build-tests";
inline const std::filesystem::path kBuildCache = kBuildWork / "cache";

// The cache of the services' builds (kiln serve, kiln worker). Started as root, a service
// becomes its user kiln (made by scripts/install-deps.sh), whose builds' files are of that
// user's id range: the cache of root builds is not one they can use.
inline const std::filesystem::path kServiceCache = kBuildWork / "service-cache";

// Why a real `kiln build` cannot run here, or "" if it can (root and mmdebstrap).
inline std::string RealBuildSkipReason() {
  if (geteuid() != 0) return "kiln build needs root; run the slow tests as root";
  if (Sh("command -v mmdebstrap").exit_code != 0) {
    return "mmdebstrap is not installed (scripts/install-deps.sh test installs it)";
  }
  std::filesystem::create_directories(kBuildWork);
  return "";
}

// `kiln build --ks` of `ks_text` into kBuildWork/OUT with the shared cache, plus `flags`.
inline RunResult KilnBuild(const std::string& kiln, const std::string& ks_text,
                           const std::string& out, const std::string& flags) {
  std::filesystem::path ks = kBuildWork / (out + ".ks");
  std::ofstream(ks) << ks_text;
  return Sh(kiln + " build --ks " + ks.string() + " --output " + (kBuildWork / out).string() +
            " --cache-dir " + kBuildCache.string() + " " + flags);
}

// The ordinary user the tests build as (without root: docs/security.md), and what it runs.
struct BuildUser {
  std::string name = "kiln-test-builder";
  std::filesystem::path home;  // its own directory: outputs and its cache go there
  std::string kiln;            // a copy of the binary it may run
  // `command` as that user (HOME is its own).
  std::string As(const std::string& command) const {
    return "runuser -u " + name + " -- " + command;
  }
};

// /dev/net/tun as udev leaves it on a Debian machine (0666): builds without root open it for
// their scripts' outbound network (a machine without udev, like this VM, has it 0600).
inline void OpenTunAsUdevDoes() { Sh("chmod 0666 /dev/net/tun"); }

// Makes the build user if missing (useradd gives a new user a subordinate id range, as on any
// Debian machine), a copy of `kiln` it can run, and /dev/net/tun as udev leaves it (0666: a
// build without root opens it for its scripts' network). "" or why the user cannot build.
inline std::string PrepareBuildUser(const std::string& kiln, BuildUser& user) {
  if (geteuid() != 0) return "making the build user needs root; run the slow tests as root";
  if (Sh("command -v newuidmap").exit_code != 0) {
    return "newuidmap is missing (scripts/install-deps.sh build installs uidmap)";
  }
  if (Sh("id " + user.name).exit_code != 0) {
    RunResult made = Sh("useradd --create-home --shell /bin/sh " + user.name);
    if (made.exit_code != 0) return "useradd " + user.name + ": " + made.out;
  }
  RunResult range = Sh("grep '^" + user.name + ":' /etc/subuid /etc/subgid | wc -l");
  if (range.out != "2\n") {
    return user.name + " got no subordinate id range from useradd (/etc/login.defs SUB_UID_COUNT)";
  }
  user.home = Sh("getent passwd " + user.name + " | cut -d: -f6").out;
  while (!user.home.empty() && user.home.native().back() == '\n') {
    user.home = user.home.native().substr(0, user.home.native().size() - 1);
  }
  OpenTunAsUdevDoes();
  std::filesystem::path bin = kBuildWork / "bin";
  std::filesystem::create_directories(bin);
  std::filesystem::permissions(kBuildWork, std::filesystem::perms::others_exec,
                               std::filesystem::perm_options::add);
  std::error_code ec;
  std::filesystem::path fresh = bin / ("kiln.new." + std::to_string(getpid()));
  std::filesystem::copy_file(kiln, fresh, std::filesystem::copy_options::overwrite_existing, ec);
  if (ec) return "cannot copy " + kiln + ": " + ec.message();
  std::filesystem::rename(fresh, bin / "kiln", ec);
  Sh("chmod 0755 " + bin.string() + " " + (bin / "kiln").string());
  user.kiln = (bin / "kiln").string();
  return "";
}

}  // namespace kiln::testing
