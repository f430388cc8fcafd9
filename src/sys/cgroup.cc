#include "sys/cgroup.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

namespace kiln::sys {
namespace {

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Writes `text` to a cgroup file in one write (the kernel takes each write as one command);
// "" or why not.
std::string WriteText(const std::string& path, const std::string& text) {
  int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return path + ": " + strerror(errno);
  ssize_t n = write(fd, text.data(), text.size());
  std::string error = n == static_cast<ssize_t>(text.size()) ? "" : path + ": " + strerror(errno);
  close(fd);
  return error;
}

bool HasWord(const std::string& text, const std::string& word) {
  std::istringstream in(text);
  for (std::string w; in >> w;) {
    if (w == word) return true;
  }
  return false;
}

// Where the cgroup v2 hierarchy is mounted (/sys/fs/cgroup, or /sys/fs/cgroup/unified on a
// host that keeps v1 beside it), or "".
std::string Cgroup2Mount() {
  std::ifstream in("/proc/self/mountinfo");
  for (std::string line; std::getline(in, line);) {
    size_t dash = line.find(" - cgroup2 ");
    if (dash == std::string::npos) continue;
    std::istringstream fields(line.substr(0, dash));
    std::string id, parent, device, root, mount_point;
    if (fields >> id >> parent >> device >> root >> mount_point && root == "/") return mount_point;
  }
  return "";
}

// This process's cgroup v2 path ("/system.slice/kiln.service"), or "".
std::string OwnCgroupPath() {
  std::ifstream in("/proc/self/cgroup");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("0::", 0) == 0) return line.substr(3);
  }
  return "";
}

bool Writable(const std::string& dir) {
  return access(dir.c_str(), W_OK | X_OK) == 0 &&
         access((dir + "/cgroup.procs").c_str(), W_OK) == 0;
}

}  // namespace

DelegatedCgroup FindDelegatedCgroup() {
  DelegatedCgroup out;
  std::string mount = Cgroup2Mount();
  std::string path = OwnCgroupPath();
  if (mount.empty() || path.empty()) {
    out.why_not = "this host has no cgroup v2 hierarchy";
    return out;
  }
  size_t slash = path.rfind('/');
  if (path.substr(slash + 1) != kSupervisorCgroup) {
    out.why_not = "kiln runs in cgroup " + path + ", not in one delegated to it";
    return out;
  }
  std::string parent = mount + path.substr(0, slash);
  if (!Writable(parent)) {
    out.why_not = "kiln may not write " + parent + ", the cgroup delegated to it";
    return out;
  }
  out.dir = parent;
  out.controllers = ReadText(parent + "/cgroup.subtree_control");
  while (!out.controllers.empty() && out.controllers.back() == '\n') out.controllers.pop_back();
  return out;
}

CgroupClaim ClaimDelegatedCgroup() {
  std::string mount = Cgroup2Mount();
  std::string path = OwnCgroupPath();
  if (mount.empty() || path.empty()) return {false, "this host has no cgroup v2 hierarchy"};
  if (path.substr(path.rfind('/') + 1) == kSupervisorCgroup) return {true, ""};
  if (path == "/") return {false, "kiln runs in the root cgroup, which is delegated to no one"};
  std::string own = mount + path;
  if (!Writable(own) || access((own + "/cgroup.subtree_control").c_str(), W_OK) != 0) {
    return {false, "its cgroup " + path + " is not delegated to it (Delegate=yes in a unit)"};
  }
  std::istringstream procs(ReadText(own + "/cgroup.procs"));
  for (pid_t pid; procs >> pid;) {
    if (pid != getpid()) return {false, "its cgroup " + path + " holds other processes too"};
  }
  std::string supervisor = own + "/" + kSupervisorCgroup;
  if (mkdir(supervisor.c_str(), 0755) != 0 && errno != EEXIST) {
    return {false, "cannot make " + supervisor + ": " + strerror(errno)};
  }
  if (std::string error = WriteText(supervisor + "/cgroup.procs", std::to_string(getpid()));
      !error.empty()) {
    return {false, "cannot move into " + supervisor + ": " + error};
  }
  std::string available = ReadText(own + "/cgroup.controllers"), enabled;
  for (const char* controller : {"memory", "pids"}) {
    if (!HasWord(available, controller)) continue;
    if (WriteText(own + "/cgroup.subtree_control", std::string("+") + controller).empty()) {
      enabled += std::string(enabled.empty() ? "" : " ") + controller;
    }
  }
  return {true, "moved into cgroup " + path + "/" + kSupervisorCgroup +
                    "; each sandbox gets a cgroup of its own, with " +
                    (enabled.empty() ? "no controller (memory stays bounded by RLIMIT_AS)"
                                     : "the " + enabled + " controllers")};
}

std::unique_ptr<SandboxCgroup> SandboxCgroup::Make(const CgroupLimits& limits,
                                                   std::string* why_not) {
  DelegatedCgroup base = FindDelegatedCgroup();
  if (base.dir.empty()) {
    *why_not = base.why_not;
    return nullptr;
  }
  static std::atomic<unsigned> serial{0};
  std::unique_ptr<SandboxCgroup> cgroup(new SandboxCgroup());
  cgroup->dir_ = base.dir + "/sandbox-" + std::to_string(getpid()) + "-" + std::to_string(++serial);
  if (mkdir(cgroup->dir_.c_str(), 0755) != 0) {
    *why_not = "cannot make " + cgroup->dir_ + ": " + strerror(errno);
    cgroup->dir_.clear();
    return nullptr;
  }
  std::string error;
  if (limits.memory_bytes > 0 && HasWord(base.controllers, "memory")) {
    error = WriteText(cgroup->dir_ + "/memory.max", std::to_string(limits.memory_bytes));
    // Without swap accounting there is no memory.swap.max: then there is nothing to bound.
    if (error.empty() && access((cgroup->dir_ + "/memory.swap.max").c_str(), F_OK) == 0) {
      error = WriteText(cgroup->dir_ + "/memory.swap.max", "0");
    }
    cgroup->limits_memory_ = error.empty();
  }
  if (error.empty() && limits.processes > 0 && HasWord(base.controllers, "pids")) {
    error = WriteText(cgroup->dir_ + "/pids.max", std::to_string(limits.processes));
  }
  if (error.empty()) {
    cgroup->procs_fd_ = open((cgroup->dir_ + "/cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC);
    if (cgroup->procs_fd_ < 0) error = cgroup->dir_ + "/cgroup.procs: " + strerror(errno);
  }
  if (!error.empty()) {
    *why_not = "cannot set up " + cgroup->dir_ + ": " + error;
    return nullptr;  // the destructor removes it
  }
  return cgroup;
}

SandboxCgroup::~SandboxCgroup() {
  if (procs_fd_ >= 0) close(procs_fd_);
  if (dir_.empty()) return;
  // Nothing of a sandbox outlives it: its PID namespace ends with its PID 1, and cgroup.kill
  // ends what a run left behind in it on every other path (the helpers, slirp4netns).
  bool killed = WriteText(dir_ + "/cgroup.kill", "1").empty();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(killed ? 5 : 1);
  // rmdir fails with EBUSY until the last process of it is gone.
  while (rmdir(dir_.c_str()) != 0 && errno == EBUSY &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

bool SandboxCgroup::OutOfMemory() const {
  std::istringstream events(ReadText(dir_ + "/memory.events"));
  for (std::string key; events >> key;) {
    long long count = 0;
    if (!(events >> count)) break;
    if (key == "oom_kill" && count > 0) return true;
  }
  return false;
}

}  // namespace kiln::sys
