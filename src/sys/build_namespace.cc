#include "sys/build_namespace.h"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "sys/process.h"
#include "sys/sandbox.h"

namespace kiln::sys {
namespace fs = std::filesystem;

namespace {

struct RangeLine {
  std::string owner;
  IdRange range;
};

std::vector<RangeLine> ReadRanges(const std::string& file) {
  std::vector<RangeLine> out;
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string owner, start, count;
    if (!std::getline(fields, owner, ':') || !std::getline(fields, start, ':') ||
        !std::getline(fields, count)) {
      continue;
    }
    try {
      out.push_back({owner, {std::stoul(start), std::stoul(count)}});
    } catch (const std::exception&) {
      // Not a range line (a comment, a typo): newuidmap skips it too.
    }
  }
  return out;
}

std::string Range(const IdRange& r) {
  return std::to_string(r.start) + "-" + std::to_string(r.start + r.count - 1);
}

// Maps the ids of `pid`'s user namespace with the setuid helper; "" or what it said.
std::string MapIds(const char* helper, pid_t pid, const IdRange& range, unsigned long own) {
  RunOptions run;
  run.argv = {helper,
              std::to_string(pid),
              "0",
              std::to_string(range.start),
              std::to_string(kBuildIdCount),
              std::to_string(kInvokerIdInside),
              std::to_string(own),
              "1"};
  run.timeout = std::chrono::seconds(30);
  RunResult r = RunProcess(run);
  if (r.ok()) return "";
  std::string said = r.tail.empty() ? r.Describe() : r.tail.back();
  return std::string(helper) + " " + run.argv[1] + " 0 " + run.argv[3] + " " + run.argv[4] +
         " ...: " + said;
}

pid_t g_inner = -1;

void PassOn(int sig) {
  if (g_inner > 0) kill(g_inner, sig);
}

}  // namespace

std::optional<IdRange> SubordinateRange(const std::string& file, const std::string& user, uid_t id,
                                        unsigned long min_count) {
  for (const RangeLine& l : ReadRanges(file)) {
    if ((l.owner == user || l.owner == std::to_string(id)) && l.range.count >= min_count) {
      return l.range;
    }
  }
  return std::nullopt;
}

IdRange FreeSubordinateRange(const std::string& subuid_file, const std::string& subgid_file) {
  unsigned long end = 100000;
  for (const std::string& file : {subuid_file, subgid_file}) {
    for (const RangeLine& l : ReadRanges(file)) end = std::max(end, l.range.start + l.range.count);
  }
  unsigned long start = (end + kBuildIdCount - 1) / kBuildIdCount * kBuildIdCount;
  return {start, kBuildIdCount};
}

bool InInitialUserNamespace() {
  std::ifstream in("/proc/self/uid_map");
  std::string inner, outer, count;
  return in >> inner >> outer >> count && inner == "0" && outer == "0" && count == "4294967295";
}

bool NeedsBuildNamespace() { return geteuid() != 0; }

std::string FreeRangeText() { return Range(FreeSubordinateRange("/etc/subuid", "/etc/subgid")); }

std::string MissingRangeReason(const std::string& user, uid_t id) {
  bool uids = SubordinateRange("/etc/subuid", user, id).has_value();
  bool gids = SubordinateRange("/etc/subgid", user, id).has_value();
  if (uids && gids) return "";
  std::string free = FreeRangeText();
  return "user " + user + " has no subordinate " + (uids ? "gid" : "uid") + " range of " +
         std::to_string(kBuildIdCount) + " ids in " + (uids ? "/etc/subgid" : "/etc/subuid") +
         " (a build's root is the first id of that range, never " + user +
         " itself); as root: usermod --add-subuids " + free + " --add-subgids " + free + " " + user;
}

namespace {

struct BuildIds {
  std::string user;
  uid_t uid = 0;
  gid_t gid = 0;
  IdRange uids, gids;
};

// The invoking user's ids and subordinate ranges, or nullopt and what is missing.
std::optional<BuildIds> FindBuildIds(std::string& error) {
  BuildIds ids;
  ids.uid = getuid();
  ids.gid = getgid();
  passwd* pw = getpwuid(ids.uid);
  ids.user = pw != nullptr ? pw->pw_name : std::to_string(ids.uid);
  if (std::string why = SandboxUnavailableReason(); !why.empty()) {
    error = why;
    return std::nullopt;
  }
  if (std::string why = MissingRangeReason(ids.user, ids.uid); !why.empty()) {
    error = why;
    return std::nullopt;
  }
  for (const char* helper : {"/usr/bin/newuidmap", "/usr/bin/newgidmap"}) {
    if (access(helper, X_OK) != 0) {
      error = std::string("builds without root need ") + helper +
              " (package uidmap): scripts/install-deps.sh build";
      return std::nullopt;
    }
  }
  ids.uids = *SubordinateRange("/etc/subuid", ids.user, ids.uid);
  ids.gids = *SubordinateRange("/etc/subgid", ids.user, ids.uid);
  return ids;
}

}  // namespace

std::string BuildNamespaceUnavailableReason() {
  std::string error;
  FindBuildIds(error);
  return error;
}

BuildNamespace EnterBuildNamespace() {
  BuildNamespace out;
  std::optional<BuildIds> ids = FindBuildIds(out.error);
  if (!ids) return out;
  int to_parent[2], to_child[2];
  if (pipe2(to_parent, O_CLOEXEC) != 0 || pipe2(to_child, O_CLOEXEC) != 0) {
    out.error = std::string("pipe: ") + strerror(errno);
    return out;
  }
  pid_t child = fork();
  if (child < 0) {
    out.error = std::string("fork: ") + strerror(errno);
    return out;
  }
  if (child == 0) {
    close(to_parent[0]);
    close(to_child[1]);
    int err = unshare(CLONE_NEWUSER | CLONE_NEWNS) == 0 ? 0 : errno;
    (void)!write(to_parent[1], &err, sizeof err);
    close(to_parent[1]);
    if (err != 0) _exit(1);
    char go = 0;
    if (read(to_child[0], &go, 1) != 1 || go != 'y') _exit(1);
    close(to_child[0]);
    // Root of the namespace: files kiln makes belong to the range's first id outside.
    if (setresgid(0, 0, 0) != 0 || setgroups(0, nullptr) != 0 || setresuid(0, 0, 0) != 0 ||
        mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
      fprintf(stderr, "kiln: cannot become root of the build's user namespace: %s\n",
              strerror(errno));
      _exit(1);
    }
    // Changing ids made the process undumpable, which makes its /proc files root's of the
    // host: the sandboxes' helpers (ids of this namespace) could not write their children's
    // id maps. Nothing outside could trace it anyway (its ids are the range's).
    prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
    out.inside = true;
    return out;
  }
  close(to_parent[1]);
  close(to_child[0]);
  int err = -1;
  if (read(to_parent[0], &err, sizeof err) != sizeof err) err = EIO;
  close(to_parent[0]);
  std::string failed;
  if (err != 0) {
    failed = std::string("cannot make a user namespace (") + strerror(err) +
             "): inside a chroot the kernel refuses them; run kiln in the machine's own root or a "
             "container's";
  } else {
    failed = MapIds("/usr/bin/newuidmap", child, ids->uids, ids->uid);
    if (failed.empty()) failed = MapIds("/usr/bin/newgidmap", child, ids->gids, ids->gid);
  }
  (void)!write(to_child[1], failed.empty() ? "y" : "n", 1);
  close(to_child[1]);
  // The terminal's Ctrl-C reaches the build too (same process group); a SIGTERM or SIGHUP sent
  // to this process alone is passed on, so the build cancels and cleans up.
  g_inner = child;
  struct sigaction pass {};
  pass.sa_handler = PassOn;
  sigaction(SIGTERM, &pass, nullptr);
  sigaction(SIGHUP, &pass, nullptr);
  signal(SIGINT, SIG_IGN);
  signal(SIGQUIT, SIG_IGN);
  int status = 0;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  if (!failed.empty()) {
    out.error = failed;
    return out;
  }
  out.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return out;
}

void GiveToInvoker(const std::string& dir) {
  std::error_code ec;
  auto give = [](const fs::path& p) {
    struct stat st {};
    if (lstat(p.c_str(), &st) == 0 && st.st_uid == 0) {
      (void)!lchown(p.c_str(), kInvokerIdInside, kInvokerIdInside);
    }
  };
  give(dir);
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    give(it->path());
  }
}

}  // namespace kiln::sys
