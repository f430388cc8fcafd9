#include "sys/sandbox.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <ifaddrs.h>
#include <linux/capability.h>
#include <linux/nsfs.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "sys/build_namespace.h"
#include "sys/cgroup.h"

namespace kiln::sys {
namespace fs = std::filesystem;

namespace {

// One step of building the sandbox's file system view, done by its PID 1 before pivot_root.
// Every path is made before fork: the child only reads them.
struct ViewStep {
  enum Kind {
    kDir,         // mkdir (if missing) and insist on a real directory, never a symlink
    kFile,        // an empty file to bind a device or host file onto (in our own tmpfs)
    kSymlink,     // target -> path (in our own tmpfs)
    kBind,        // bind source onto path
    kBindRead,    // bind source onto path, read-only
    kMount,       // mount fstype with data onto path
    kUnmount,     // lazily unmount path
    kResolvConf,  // write data to source (in our tmpfs) and bind it over path if a file
    kTree,        // tree number `flags` onto path: a mount made outside (id-mapped or
                  // read-only), or, where no tree could be made, a bind of `source`
  };
  Kind kind;
  std::string path;
  std::string source;  // kBind*: host path; kSymlink: target; kMount: fstype
  std::string data;    // kMount: options
  unsigned long flags = 0;
};

struct Plan {
  std::string new_root;  // becomes "/"
  std::string hostname;
  std::string cwd;
  std::vector<ViewStep> steps;
  // The id maps, written by a helper outside the new user namespace.
  std::string uid_map, gid_map;
  bool deny_setgroups = false;
  // Root on the host maps the sandbox to the foreign id range, so root inside is nobody
  // outside; the image is then attached through an id-mapped mount (made by the helper,
  // which keeps the host's rights) in which its files keep their owners. Host paths the
  // sandbox must see again under its own tmpfs are read-only trees made the same way.
  struct Tree {
    std::string source;
    bool idmap = false;
    bool read_only = false;
  };
  std::vector<Tree> trees;
  bool host_network = false;
  // Outbound network through slirp4netns (a user-mode TCP/IP stack run outside, host
  // loopback disabled): its argv, the sandbox PID 1's pid filled in at run time.
  bool outbound = false;
  std::vector<std::string> slirp_args;
  size_t slirp_pid_slot = 0;
  // Outbound: destinations PID 1 makes unreachable before the program starts (the host's own
  // addresses, link-local ones such as a cloud's metadata service); the program then lacks
  // CAP_NET_ADMIN to change the routes back.
  struct Ipv4Net {
    uint32_t address = 0;  // network byte order
    uint8_t prefix = 32;
  };
  std::vector<Ipv4Net> unreachable;
  std::string resolv_conf;  // the image's /etc/resolv.conf is covered by this text
  bool make_trees = false;  // false: no rights to make mounts outside; trees become binds
  bool pivot = true;        // false (host view): no pivot_root, the host's / stays
  std::string image;        // the image root on the host
  SandboxLimits limits;
  // The sandbox's own cgroup (sys/cgroup.h), joined first thing in the child; -1 = none.
  int cgroup_procs_fd = -1;
  std::string cgroup_dir;
  bool memory_by_cgroup = false;  // memory.max bounds it: no RLIMIT_AS
};

// --- async-signal-safe helpers for the child ---------------------------------------------

// One line of the sandbox's own on the program's output (the caller ends it with "\n").
void Say(const char* a, const char* b = "", const char* c = "", const char* d = "",
         const char* e = "") {
  for (const char* s : {"kiln sandbox: ", a, b, c, d, e}) {
    if (*s != '\0') (void)!write(STDERR_FILENO, s, strlen(s));
  }
}

// Reports a failed set-up step (name, path, errno) on the output and the start-error pipe.
[[noreturn]] void Fail(int err_fd, const char* step, const char* path) {
  int e = errno;
  const char* name = strerrorname_np(e);
  Say(step, " ", path, ": ", name != nullptr ? name : "error");
  (void)!write(STDERR_FILENO, "\n", 1);
  (void)!write(err_fd, &e, sizeof e);
  _exit(126);
}

void FormatInt(long long v, char* out) {
  char tmp[24];
  int n = 0;
  bool neg = v < 0;
  unsigned long long u = neg ? 0ULL - static_cast<unsigned long long>(v) : v;
  do {
    tmp[n++] = static_cast<char>('0' + u % 10);
    u /= 10;
  } while (u != 0);
  int i = 0;
  if (neg) out[i++] = '-';
  while (n > 0) out[i++] = tmp[--n];
  out[i] = '\0';
}

bool WriteProcFile(pid_t pid, const char* name, const std::string& text) {
  char path[64] = "/proc/";
  FormatInt(pid, path + strlen(path));
  strcat(path, "/");
  strcat(path, name);
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  close(fd);
  return ok;
}

constexpr int kMaxTrees = 8;

void BuildView(const Plan& plan, const int* trees, int err_fd) {
  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    Fail(err_fd, "make mounts private", "/");
  }
  for (const ViewStep& s : plan.steps) {
    const char* p = s.path.c_str();
    switch (s.kind) {
      case ViewStep::kDir: {
        if (mkdir(p, 0755) != 0 && errno != EEXIST) Fail(err_fd, "mkdir", p);
        struct stat st {};
        if (lstat(p, &st) != 0) Fail(err_fd, "lstat", p);
        if (!S_ISDIR(st.st_mode)) {
          errno = ENOTDIR;
          Fail(err_fd, "not a directory (a symlink?) in the image:", p);
        }
        break;
      }
      case ViewStep::kFile: {
        int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0) Fail(err_fd, "create", p);
        close(fd);
        break;
      }
      case ViewStep::kSymlink:
        if (symlink(s.source.c_str(), p) != 0) Fail(err_fd, "symlink", p);
        break;
      case ViewStep::kBind:
      case ViewStep::kBindRead:
        if (mount(s.source.c_str(), p, nullptr, MS_BIND | MS_REC, nullptr) != 0) {
          Fail(err_fd, "bind", p);
        }
        if (s.kind == ViewStep::kBindRead &&
            mount(nullptr, p, nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | s.flags,
                  nullptr) != 0) {
          Fail(err_fd, "remount read-only", p);
        }
        break;
      case ViewStep::kTree: {
        int tree = trees[s.flags];
        if (tree >= 0) {
          if (move_mount(tree, "", AT_FDCWD, p, MOVE_MOUNT_F_EMPTY_PATH) != 0) {
            Fail(err_fd, "attach the mount made outside at", p);
          }
        } else if (mount(s.source.c_str(), p, nullptr, MS_BIND | MS_REC, nullptr) != 0) {
          Fail(err_fd, "bind", p);
        }
        break;
      }
      case ViewStep::kResolvConf: {
        // Only over a regular file of the image (a symlink is left as it is).
        struct stat st {};
        if (lstat(p, &st) != 0 || !S_ISREG(st.st_mode)) break;
        int fd =
            open(s.source.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0) Fail(err_fd, "create", s.source.c_str());
        (void)!write(fd, s.data.data(), s.data.size());
        close(fd);
        if (mount(s.source.c_str(), p, nullptr, MS_BIND, nullptr) != 0) Fail(err_fd, "bind", p);
        break;
      }
      case ViewStep::kUnmount:
        if (umount2(p, MNT_DETACH) != 0) Fail(err_fd, "unmount", p);
        break;
      case ViewStep::kMount:
        if (mount(s.source.c_str(), p, s.source.c_str(), s.flags,
                  s.data.empty() ? nullptr : s.data.c_str()) != 0) {
          Fail(err_fd, "mount", p);
        }
        break;
    }
  }
}

// An "unreachable" route to each of the plan's destinations (rtnetlink): a connection there
// fails at once with EHOSTUNREACH instead of leaving through slirp4netns.
void BlockDestinations(const Plan& plan, int err_fd) {
  int nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (nl < 0) Fail(err_fd, "socket", "rtnetlink");
  uint32_t seq = 0;
  for (const Plan::Ipv4Net& net : plan.unreachable) {
    struct {
      nlmsghdr header;
      rtmsg route;
      char attributes[32];
    } request{};
    request.header.nlmsg_len = NLMSG_LENGTH(sizeof(rtmsg));
    request.header.nlmsg_type = RTM_NEWROUTE;
    request.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_REPLACE | NLM_F_ACK;
    request.header.nlmsg_seq = ++seq;
    request.route.rtm_family = AF_INET;
    request.route.rtm_dst_len = net.prefix;
    request.route.rtm_table = RT_TABLE_MAIN;
    request.route.rtm_protocol = RTPROT_STATIC;
    request.route.rtm_scope = RT_SCOPE_UNIVERSE;
    request.route.rtm_type = RTN_UNREACHABLE;
    auto* dst = reinterpret_cast<rtattr*>(reinterpret_cast<char*>(&request) +
                                          NLMSG_ALIGN(request.header.nlmsg_len));
    dst->rta_type = RTA_DST;
    dst->rta_len = RTA_LENGTH(sizeof net.address);
    memcpy(RTA_DATA(dst), &net.address, sizeof net.address);
    request.header.nlmsg_len = NLMSG_ALIGN(request.header.nlmsg_len) + RTA_ALIGN(dst->rta_len);
    if (send(nl, &request, request.header.nlmsg_len, 0) < 0) Fail(err_fd, "send", "rtnetlink");
    alignas(nlmsghdr) char reply[512];
    ssize_t got = recv(nl, reply, sizeof reply, 0);
    auto* answer = reinterpret_cast<nlmsghdr*>(reply);
    if (got < static_cast<ssize_t>(NLMSG_LENGTH(sizeof(nlmsgerr))) ||
        answer->nlmsg_type != NLMSG_ERROR) {
      errno = EPROTO;
      Fail(err_fd, "add a route", "(no answer from rtnetlink)");
    }
    int error = reinterpret_cast<nlmsgerr*>(NLMSG_DATA(answer))->error;
    if (error != 0) {
      errno = -error;
      Fail(err_fd, "add an unreachable route", "for the host's addresses");
    }
  }
  close(nl);
}

// Loopback up in the new network namespace: the only interface there is.
void LoopbackUp() {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  ifreq ifr{};
  strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  if (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0) {
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP | IFF_RUNNING);
    ioctl(fd, SIOCSIFFLAGS, &ifr);
  }
  close(fd);
}

void SetLimit(int resource, long long value) {
  rlimit r{static_cast<rlim_t>(value), static_cast<rlim_t>(value)};
  setrlimit(resource, &r);
}

// execve of argv[0] along PATH from envp (inside the sandbox, not the host's).
void ExecInPath(char* const* argv, char* const* envp) {
  const char* name = argv[0];
  if (strchr(name, '/') != nullptr) {
    execve(name, argv, envp);
    return;
  }
  const char* path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  for (char* const* e = envp; *e != nullptr; ++e) {
    if (strncmp(*e, "PATH=", 5) == 0) path = *e + 5;
  }
  int last = ENOENT;
  char buf[4096];
  while (*path != '\0') {
    const char* end = strchr(path, ':');
    size_t len = end == nullptr ? strlen(path) : static_cast<size_t>(end - path);
    if (len + 1 + strlen(name) + 1 < sizeof buf && len > 0) {
      memcpy(buf, path, len);
      buf[len] = '/';
      strcpy(buf + len + 1, name);
      execve(buf, argv, envp);
      if (errno != ENOENT && errno != ENOTDIR) last = errno;
    }
    path = end == nullptr ? path + len : end + 1;
  }
  errno = last;
}

// Waits for `child`, reaping every other process that ends meanwhile (as PID 1 must); returns
// an exit code for it: its own, or 128 + the signal that killed it.
int WaitFor(pid_t child) {
  while (true) {
    int status = 0;
    pid_t w = waitpid(-1, &status, 0);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return 126;
    if (w != child) continue;
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  }
}

// In the helper: detached copies of the trees' mounts — the image's with its ids mapped
// through the sandbox's user namespace (host id N appears as N inside), host paths
// read-only — sent to the sandbox, which attaches them where its view needs them.
void SendTrees(const Plan& plan, pid_t sandbox, int channel) {
  char path[64] = "/proc/";
  FormatInt(sandbox, path + strlen(path));
  strcat(path, "/ns/user");
  int userns = open(path, O_RDONLY | O_CLOEXEC);
  if (userns < 0) _exit(10);
  int fds[kMaxTrees];
  size_t n = 0;
  for (const Plan::Tree& t : plan.trees) {
    int tree =
        open_tree(AT_FDCWD, t.source.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
    if (tree < 0) {
      Say("cannot copy the mount of ", t.source.c_str(), "\n");
      _exit(11);
    }
    mount_attr attr{};
    attr.attr_set = (t.idmap ? MOUNT_ATTR_IDMAP : 0) | (t.read_only ? MOUNT_ATTR_RDONLY : 0);
    attr.userns_fd = static_cast<unsigned long long>(userns);
    if (attr.attr_set != 0 &&
        mount_setattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) != 0) {
      const char* name = strerrorname_np(errno);
      Say("id-mapped or read-only mount of ", t.source.c_str(),
          " refused: ", name != nullptr ? name : "error",
          " (the file system must support id-mapped mounts: ext4, xfs, btrfs, tmpfs do)\n");
      _exit(12);
    }
    fds[n++] = tree;
  }
  char byte = 'x';
  iovec iov{&byte, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxTrees)] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = CMSG_SPACE(sizeof(int) * n);
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int) * n);
  memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
  if (sendmsg(channel, &msg, 0) != 1) _exit(13);
}

// Fills `fds` with the trees' descriptors; false if they did not come.
bool ReceiveTrees(int channel, int* fds, size_t n) {
  char byte;
  iovec iov{&byte, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxTrees)] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  if (recvmsg(channel, &msg, MSG_CMSG_CLOEXEC) != 1) return false;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  if (c == nullptr || c->cmsg_type != SCM_RIGHTS || c->cmsg_len != CMSG_LEN(sizeof(int) * n)) {
    return false;
  }
  memcpy(fds, CMSG_DATA(c), sizeof(int) * n);
  return true;
}

// EnterSandbox's steps below run in the child, between fork and exec: async-signal-safe,
// no allocation (everything they read was made in the parent). Each either succeeds or ends
// the process through Fail.

// Into the sandbox's cgroup before anything else starts, so every process of it is counted
// there.
void JoinCgroup(const Plan& plan, int err_fd) {
  if (plan.cgroup_procs_fd >= 0) {
    if (write(plan.cgroup_procs_fd, "0", 1) != 1) {
      Fail(err_fd, "join the sandbox's cgroup", plan.cgroup_dir.c_str());
    }
    close(plan.cgroup_procs_fd);
  }
}

// The pipes between PID 1 and the slirp4netns helper. `pid` carries PID 1's pid to the
// helper; `ready` tells PID 1 the interface is up; `exit` ends slirp4netns when PID 1 (the
// only holder of its write end) is gone.
struct SlirpPipes {
  int pid[2] = {-1, -1};
  int ready[2] = {-1, -1};
  int exit[2] = {-1, -1};
};

// The slirp4netns helper: waits for PID 1's pid, then becomes slirp4netns with its two
// descriptors at 3 and 4, as the prepared arguments say. Never returns.
[[noreturn]] void RunSlirp(const Plan& plan, char* const* envp, const SlirpPipes& slirp) {
  pid_t target = 0;
  if (read(slirp.pid[0], &target, sizeof target) != sizeof target || target <= 0) _exit(1);
  char pid_text[24];
  FormatInt(target, pid_text);
  // Its two descriptors at 3 and 4, as the prepared arguments say; nothing else of ours.
  int ready_fd = fcntl(slirp.ready[1], F_DUPFD, 10);
  int exit_fd = fcntl(slirp.exit[0], F_DUPFD, 10);
  if (ready_fd < 0 || exit_fd < 0 || dup2(ready_fd, 3) != 3 || dup2(exit_fd, 4) != 4) _exit(2);
  // Its chatter ("Starting slirp", seccomp warnings) is not the script's output: a
  // failure to start shows as the ready descriptor closing without a byte.
  int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
  if (devnull >= 0) {
    dup2(devnull, STDOUT_FILENO);
    dup2(devnull, STDERR_FILENO);
  }
  close_range(5, ~0U, 0);
  char* args[32];
  size_t n = 0;
  for (size_t i = 0; i < plan.slirp_args.size() && n < 31; ++i) {
    args[n++] = const_cast<char*>(i == plan.slirp_pid_slot ? pid_text : plan.slirp_args[i].c_str());
  }
  args[n] = nullptr;
  execve(args[0], args, envp);
  Say("cannot run slirp4netns (install it: scripts/install-deps.sh build)\n");
  _exit(127);
}

// Outbound network: a helper outside every new namespace becomes slirp4netns once PID 1's
// pid is known. Leaves this process the ends it needs of `slirp`.
void StartSlirp(const Plan& plan, char* const* envp, int err_fd, SlirpPipes& slirp) {
  if (pipe2(slirp.pid, O_CLOEXEC) != 0 || pipe2(slirp.ready, O_CLOEXEC) != 0 ||
      pipe2(slirp.exit, O_CLOEXEC) != 0) {
    Fail(err_fd, "pipe", "slirp4netns");
  }
  pid_t net = fork();
  if (net < 0) Fail(err_fd, "fork", "slirp4netns");
  if (net == 0) RunSlirp(plan, envp, slirp);
  close(slirp.pid[0]);
  close(slirp.ready[1]);
  close(slirp.exit[0]);
}

// A new user namespace with this process as its root: the id maps (and the trees, sent over
// `tree_channel`) come from a helper that stays outside, with the rights to make them; `ready`
// tells the helper the namespace exists.
void EnterUserNamespace(const Plan& plan, int err_fd, int* ready, const int* tree_channel) {
  pid_t self = getpid();
  pid_t helper = fork();
  if (helper < 0) Fail(err_fd, "fork", "id map helper");
  if (helper == 0) {
    // Outside the new namespace, with the rights to map ids into it.
    close(ready[1]);
    char byte;
    if (read(ready[0], &byte, 1) != 1) _exit(1);
    if (plan.deny_setgroups && !WriteProcFile(self, "setgroups", "deny")) _exit(2);
    if (!WriteProcFile(self, "uid_map", plan.uid_map)) _exit(3);
    if (!WriteProcFile(self, "gid_map", plan.gid_map)) _exit(4);
    if (plan.make_trees && !plan.trees.empty()) SendTrees(plan, self, tree_channel[0]);
    _exit(0);
  }
  close(ready[0]);
  if (unshare(CLONE_NEWUSER) != 0) {
    Say("cannot make a user namespace: inside a chroot the kernel refuses them (run kiln in "
        "the machine's own root or a container's), or user.max_user_namespaces is 0, or "
        "kernel.unprivileged_userns_clone is off\n");
    Fail(err_fd, "unshare", "CLONE_NEWUSER");
  }
  (void)!write(ready[1], "x", 1);
  close(ready[1]);
  int status = 0;
  while (waitpid(helper, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    errno = EPERM;
    Fail(
        err_fd,
        WIFEXITED(status) && WEXITSTATUS(status) >= 10 ? "id-map the image at"
                                                       : "write the id maps of",
        WIFEXITED(status) && WEXITSTATUS(status) >= 10 ? plan.image.c_str() : "the user namespace");
  }
  // Become the namespace's root (with a foreign map, our host ids are not mapped in it).
  if (setresgid(0, 0, 0) != 0) Fail(err_fd, "setresgid", "0");
  if (!plan.deny_setgroups && setgroups(0, nullptr) != 0) Fail(err_fd, "setgroups", "none");
  if (setresuid(0, 0, 0) != 0) Fail(err_fd, "setresuid", "0");
}

// In PID 1, outbound: waits until slirp4netns has the interface up, then makes the
// destinations scripts must not reach unreachable.
void AwaitOutboundNetwork(const Plan& plan, int err_fd, SlirpPipes& slirp) {
  close(slirp.pid[1]);
  char byte = 0;
  ssize_t got;
  do {
    got = read(slirp.ready[0], &byte, 1);
  } while (got < 0 && errno == EINTR);
  if (got != 1) {
    errno = ENETUNREACH;
    Fail(err_fd, "start the outbound network (slirp4netns)", "tap0");
  }
  close(slirp.ready[0]);
  // slirp.exit[1] stays open here, in PID 1 only, until the sandbox ends.
  BlockDestinations(plan, err_fd);
}

// In PID 1: the view becomes "/". pivot_root(".", ".") stacks the old root on the new one;
// unmounting it leaves nothing of the host in this mount namespace.
void PivotIntoView(const Plan& plan, int err_fd) {
  if (chdir(plan.new_root.c_str()) != 0) Fail(err_fd, "chdir", plan.new_root.c_str());
  if (syscall(SYS_pivot_root, ".", ".") != 0) Fail(err_fd, "pivot_root", plan.new_root.c_str());
  if (umount2(".", MNT_DETACH) != 0) Fail(err_fd, "unmount the old root", "/");
  if (chdir("/") != 0) Fail(err_fd, "chdir", "/");
}

// The program, a child of PID 1: default signals, its limits, its directory, then exec.
[[noreturn]] void ExecProgram(const Plan& plan, char* const* argv, char* const* envp, int err_fd) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  signal(SIGTERM, SIG_DFL);
  signal(SIGINT, SIG_DFL);
  // Routes stay as PID 1 made them (no CAP_NET_ADMIN after exec, whoever runs).
  if (plan.outbound && prctl(PR_CAPBSET_DROP, CAP_NET_ADMIN, 0, 0, 0) != 0) {
    Fail(err_fd, "drop CAP_NET_ADMIN", "");
  }
  SetLimit(RLIMIT_NPROC, plan.limits.max_processes);
  SetLimit(RLIMIT_CORE, 0);
  if (plan.limits.max_memory_bytes > 0 && !plan.memory_by_cgroup) {
    SetLimit(RLIMIT_AS, plan.limits.max_memory_bytes);
  }
  if (plan.limits.max_file_bytes > 0) SetLimit(RLIMIT_FSIZE, plan.limits.max_file_bytes);
  if (chdir(plan.cwd.c_str()) != 0) Fail(err_fd, "chdir", plan.cwd.c_str());
  ExecInPath(argv, envp);
  int e = errno;
  Say("cannot run ", argv[0], "\n");
  (void)!write(err_fd, &e, sizeof e);
  _exit(127);
}

// PID 1 of the sandbox (it dies with the process above it): builds the view, names the host,
// brings the network up, pivots, then starts the program and waits for it.
[[noreturn]] void RunPid1(const Plan& plan, char* const* argv, char* const* envp, int err_fd,
                          int* trees, SlirpPipes& slirp) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  BuildView(plan, trees, err_fd);
  for (int i = 0; i < kMaxTrees; ++i) {
    if (trees[i] >= 0) close(trees[i]);
  }
  if (sethostname(plan.hostname.data(), plan.hostname.size()) != 0) {
    Fail(err_fd, "sethostname", plan.hostname.c_str());
  }
  if (!plan.host_network) LoopbackUp();
  if (plan.outbound) AwaitOutboundNetwork(plan, err_fd, slirp);
  if (plan.pivot) PivotIntoView(plan, err_fd);
  prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  pid_t program = fork();
  if (program < 0) Fail(err_fd, "fork", "the program");
  if (program == 0) ExecProgram(plan, argv, envp, err_fd);
  close(err_fd);
  _exit(WaitFor(program));
}

// The child of RunProcess: the user namespace (maps written by a helper that stays outside),
// the other namespaces, then PID 1 of the new PID namespace builds the view, pivots into it,
// and starts the program.
[[noreturn]] void EnterSandbox(const Plan& plan, char* const* argv, char* const* envp, int err_fd) {
  // Stopping is done by SIGKILL after the grace period or by PID 1's end; this process only
  // waits and passes the exit code on.
  signal(SIGTERM, SIG_IGN);
  signal(SIGINT, SIG_IGN);
  JoinCgroup(plan, err_fd);
  int ready[2];
  if (pipe2(ready, O_CLOEXEC) != 0) Fail(err_fd, "pipe", "");
  int tree_channel[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, tree_channel) != 0) {
    Fail(err_fd, "socketpair", "");
  }
  SlirpPipes slirp;
  if (plan.outbound) StartSlirp(plan, envp, err_fd, slirp);
  EnterUserNamespace(plan, err_fd, ready, tree_channel);
  int trees[kMaxTrees] = {-1, -1, -1, -1, -1, -1, -1, -1};
  if (plan.make_trees && !plan.trees.empty() &&
      !ReceiveTrees(tree_channel[1], trees, plan.trees.size())) {
    Fail(err_fd, "receive the mounts made for", plan.image.c_str());
  }
  close(tree_channel[0]);
  close(tree_channel[1]);
  if (unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS |
              (plan.host_network ? 0 : CLONE_NEWNET)) != 0) {
    Fail(err_fd, "unshare", "mount, PID, IPC, UTS and network namespaces");
  }
  pid_t init = fork();
  if (init < 0) Fail(err_fd, "fork", "PID 1");
  if (init == 0) RunPid1(plan, argv, envp, err_fd, trees, slirp);
  close(err_fd);
  if (plan.outbound) {
    (void)!write(slirp.pid[1], &init, sizeof init);
    close(slirp.pid[1]);
    close(slirp.ready[0]);
    close(slirp.exit[1]);
  }
  _exit(WaitFor(init));
}

// --- the plan, made in the parent -------------------------------------------------------

// `devices`: where the host's device nodes are seen while the view is built.
void AddApiFileSystems(std::vector<ViewStep>& steps, const std::string& r,
                       const std::string& devices = "/dev/") {
  for (const char* d : {"/proc", "/dev", "/tmp", "/run", "/sys"}) {
    steps.push_back({ViewStep::kDir, r + d, "", "", 0});
  }
  steps.push_back({ViewStep::kMount, r + "/proc", "proc", "", MS_NOSUID | MS_NODEV | MS_NOEXEC});
  steps.push_back({ViewStep::kMount, r + "/dev", "tmpfs", "mode=755,size=1m", MS_NOSUID});
  for (const char* d : {"null", "zero", "full", "random", "urandom", "tty"}) {
    steps.push_back({ViewStep::kFile, r + "/dev/" + d, "", "", 0});
    steps.push_back({ViewStep::kBind, r + "/dev/" + d, devices + d, "", 0});
  }
  steps.push_back({ViewStep::kDir, r + "/dev/pts", "", "", 0});
  steps.push_back({ViewStep::kMount, r + "/dev/pts", "devpts", "newinstance,ptmxmode=0666,mode=620",
                   MS_NOSUID | MS_NOEXEC});
  steps.push_back({ViewStep::kSymlink, r + "/dev/ptmx", "pts/ptmx", "", 0});
  steps.push_back({ViewStep::kDir, r + "/dev/shm", "", "", 0});
  steps.push_back({ViewStep::kMount, r + "/dev/shm", "tmpfs", "mode=1777", MS_NOSUID | MS_NODEV});
  steps.push_back({ViewStep::kSymlink, r + "/dev/fd", "/proc/self/fd", "", 0});
  steps.push_back({ViewStep::kSymlink, r + "/dev/stdin", "/proc/self/fd/0", "", 0});
  steps.push_back({ViewStep::kSymlink, r + "/dev/stdout", "/proc/self/fd/1", "", 0});
  steps.push_back({ViewStep::kSymlink, r + "/dev/stderr", "/proc/self/fd/2", "", 0});
  steps.push_back({ViewStep::kMount, r + "/tmp", "tmpfs", "mode=1777", MS_NOSUID | MS_NODEV});
  steps.push_back({ViewStep::kMount, r + "/run", "tmpfs", "mode=755", MS_NOSUID | MS_NODEV});
}

// The flags a bind of `path` must keep when remounted read-only: in a user namespace the
// host mount's nosuid/nodev/noexec/atime flags are locked and a remount without them fails.
unsigned long LockedFlagsOf(const std::string& path) {
  struct statvfs st {};
  if (statvfs(path.c_str(), &st) != 0) return 0;
  unsigned long flags = 0;
  if (st.f_flag & ST_NOSUID) flags |= MS_NOSUID;
  if (st.f_flag & ST_NODEV) flags |= MS_NODEV;
  if (st.f_flag & ST_NOEXEC) flags |= MS_NOEXEC;
  if (st.f_flag & ST_NOATIME) flags |= MS_NOATIME;
  if (st.f_flag & ST_NODIRATIME) flags |= MS_NODIRATIME;
  if (st.f_flag & ST_RELATIME) flags |= MS_RELATIME;
  return flags;
}

// The host's /usr and friends, read-only, for %post --nochroot.
void AddHostTools(std::vector<ViewStep>& steps, const std::string& v, const std::string& image) {
  steps.push_back({ViewStep::kMount, v, "tmpfs", "mode=755", MS_NOSUID | MS_NODEV});
  steps.push_back({ViewStep::kDir, v + "/usr", "", "", 0});
  steps.push_back({ViewStep::kBindRead, v + "/usr", "/usr", "", LockedFlagsOf("/usr")});
  for (const char* top : {"bin", "sbin", "lib", "lib32", "lib64", "libx32"}) {
    fs::path host = fs::path("/") / top;
    std::error_code ec;
    fs::file_status st = fs::symlink_status(host, ec);
    if (ec || !fs::exists(st)) continue;
    if (fs::is_symlink(st)) {
      steps.push_back(
          {ViewStep::kSymlink, v + "/" + top, fs::read_symlink(host, ec).string(), "", 0});
    } else if (fs::is_directory(st)) {
      steps.push_back({ViewStep::kDir, v + "/" + top, "", "", 0});
      steps.push_back(
          {ViewStep::kBindRead, v + "/" + top, host.string(), "", LockedFlagsOf(host.string())});
    }
  }
  steps.push_back({ViewStep::kDir, v + "/etc", "", "", 0});
  // What programs need to start and to name users; nothing secret (no shadow, no keys).
  for (const char* name :
       {"ld.so.cache", "ld.so.conf", "ld.so.conf.d", "alternatives", "passwd", "group",
        "nsswitch.conf", "localtime", "debian_version", "os-release", "profile"}) {
    fs::path host = fs::path("/etc") / name;
    std::error_code ec;
    fs::file_status st = fs::symlink_status(host, ec);
    if (ec || !fs::exists(st)) continue;
    std::string at = v + "/etc/" + name;
    if (fs::is_symlink(st)) {
      steps.push_back({ViewStep::kSymlink, at, fs::read_symlink(host, ec).string(), "", 0});
    } else {
      steps.push_back({fs::is_directory(st) ? ViewStep::kDir : ViewStep::kFile, at, "", "", 0});
      steps.push_back({ViewStep::kBindRead, at, host.string(), "", LockedFlagsOf(host.string())});
    }
  }
  steps.push_back({ViewStep::kDir, v + "/mnt", "", "", 0});
  steps.push_back({ViewStep::kDir, v + "/mnt/sysimage", "", "", 0});
  steps.push_back({ViewStep::kTree, v + "/mnt/sysimage", image, "", 0});
  steps.push_back({ViewStep::kDir, v + "/root", "", "", 0});
}

// systemd's "foreign" id range (0x7FFE0000, 65536 ids), meant for trees of other machines'
// ids: no account of the host has these.
constexpr unsigned long kForeignIdBase = 0x7FFE0000UL;

// The program's path along the host's PATH, or "".
std::string FindProgram(const std::string& name) {
  const char* path = getenv("PATH");
  for (const std::string& dir :
       {std::string(path != nullptr ? path : ""), std::string("/usr/sbin:/usr/bin:/sbin:/bin")}) {
    size_t start = 0;
    while (start <= dir.size()) {
      size_t colon = dir.find(':', start);
      std::string d =
          dir.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
      if (!d.empty() && access((d + "/" + name).c_str(), X_OK) == 0) return d + "/" + name;
      if (colon == std::string::npos) break;
      start = colon + 1;
    }
  }
  return "";
}

// What outbound scripts must not reach though slirp4netns would carry them there: the host's
// own IPv4 addresses (its services listen on them: the master's API on 0.0.0.0) and the
// link-local range (169.254.0.0/16: a cloud's metadata service). Its loopback slirp4netns
// refuses itself; addresses in slirp's own 10.0.2.0/24 stay, or the sandbox's network would
// break.
std::vector<Plan::Ipv4Net> UnreachableFromScripts() {
  std::vector<Plan::Ipv4Net> out = {{htonl(0xA9FE0000U), 16}};  // 169.254.0.0/16
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return out;
  for (ifaddrs* a = list; a != nullptr; a = a->ifa_next) {
    if (a->ifa_addr == nullptr || a->ifa_addr->sa_family != AF_INET) continue;
    uint32_t address = reinterpret_cast<sockaddr_in*>(a->ifa_addr)->sin_addr.s_addr;
    uint32_t host_order = ntohl(address);
    if ((host_order >> 24) == 127 || (host_order & 0xFFFFFF00U) == 0x0A000200U) continue;
    if ((host_order & 0xFFFF0000U) == 0xA9FE0000U) continue;  // in the range already
    out.push_back({address, 32});
  }
  freeifaddrs(list);
  return out;
}

// True when this process's mount namespace belongs to its own user namespace (so it may
// copy mounts: open_tree).
bool OwnsMountNamespace() {
  int mnt = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
  if (mnt < 0) return false;
  int owner = ioctl(mnt, NS_GET_USERNS);
  close(mnt);
  if (owner < 0) return false;
  struct stat a {
  }, b{};
  bool same = fstat(owner, &a) == 0 && stat("/proc/self/ns/user", &b) == 0 &&
              a.st_dev == b.st_dev && a.st_ino == b.st_ino;
  close(owner);
  return same;
}

}  // namespace

std::string SandboxUnavailableReason() {
  std::ifstream in("/proc/sys/user/max_user_namespaces");
  long n = -1;
  if (in >> n && n == 0) {
    return "user namespaces are off on this host (user.max_user_namespaces = 0): "
           "sysctl -w user.max_user_namespaces=15000";
  }
  std::ifstream clone("/proc/sys/kernel/unprivileged_userns_clone");
  int allowed = 1;
  if (geteuid() != 0 && clone >> allowed && allowed == 0) {
    return "unprivileged user namespaces are off on this host: "
           "sysctl -w kernel.unprivileged_userns_clone=1";
  }
  return "";
}

namespace {

// Outbound network through slirp4netns: its arguments and what scripts must not reach; ""
// when the host cannot give it (and the message saying what to do).
std::string PlanOutbound(Plan& plan) {
  std::string slirp = FindProgram("slirp4netns");
  if (slirp.empty()) {
    return "outbound network for scripts needs slirp4netns: scripts/install-deps.sh build "
           "(or give the scripts no network: --script-network none)";
  }
  if (access("/dev/net/tun", R_OK | W_OK) != 0) {
    return "outbound network for scripts needs /dev/net/tun open to the build's ids (here it is "
           "root's alone; Debian's udev makes it 0666: chmod 0666 /dev/net/tun), or give the "
           "scripts no network: --script-network none";
  }
  plan.outbound = true;
  plan.unreachable = UnreachableFromScripts();
  plan.slirp_args = {slirp,
                     "--configure",
                     "--mtu=65520",
                     "--disable-host-loopback",
                     "--enable-sandbox",
                     "--enable-seccomp",
                     "--ready-fd=3",
                     "--exit-fd=4",
                     "PID",
                     "tap0"};
  plan.slirp_pid_slot = 8;
  return "";
}

// The user namespace's id maps, and whether the helper can make the trees' mounts: which
// depends on who runs the sandbox.
void PlanIdMaps(Plan& plan) {
  if (geteuid() == 0 && InInitialUserNamespace()) {
    // Root of the host: root inside must not be root outside (files in /proc/sys and
    // /proc/sysrq-trigger check the uid, not capabilities), so the sandbox lives in the foreign
    // id range and sees the image through an id-mapped mount.
    plan.uid_map = "0 " + std::to_string(kForeignIdBase) + " 65536\n";
    plan.gid_map = plan.uid_map;
    plan.make_trees = true;
  } else if (geteuid() == 0) {
    // Root of a build's user namespace (already not root outside): the image's ids one to
    // one, and nothing else (not the invoking user, sys/build_namespace.h). The helper, which
    // keeps the rights of the namespace outside, attaches the image when this namespace owns
    // its mount namespace; the sandbox could not walk the invoker's directories to it.
    plan.uid_map = "0 0 65536\n";
    plan.gid_map = plan.uid_map;
    plan.make_trees = OwnsMountNamespace();
  } else {
    // Anyone else can map only themselves, as root inside.
    plan.uid_map = "0 " + std::to_string(geteuid()) + " 1\n";
    plan.gid_map = "0 " + std::to_string(getegid()) + " 1\n";
    plan.deny_setgroups = true;
  }
}

// The host view: the host's file system as it is, with private /run, /tmp, /var/tmp and /dev;
// the image at image_at, and the host paths under the private directories as read-only trees.
// The host's device nodes are bound from a stash made before /dev is covered, then the stash
// goes.
void PlanHostView(Plan& plan, const SandboxOptions& sandbox, const std::string& root) {
  plan.pivot = false;
  plan.new_root = "/";
  std::vector<ViewStep>& st = plan.steps;
  st.push_back({ViewStep::kMount, "/run", "tmpfs", "mode=755", MS_NOSUID | MS_NODEV});
  st.push_back({ViewStep::kDir, "/run/kiln-host-dev", "", "", 0});
  st.push_back({ViewStep::kBind, "/run/kiln-host-dev", "/dev", "", 0});
  AddApiFileSystems(st, "", "/run/kiln-host-dev/");
  // That mounted a second /run over the first: off again, and the stash with it.
  st.push_back({ViewStep::kUnmount, "/run", "", "", 0});
  st.push_back({ViewStep::kUnmount, "/run/kiln-host-dev", "", "", 0});
  st.push_back({ViewStep::kMount, "/var/tmp", "tmpfs", "mode=1777", MS_NOSUID | MS_NODEV});
  st.push_back({ViewStep::kDir, "/run/kiln", "", "", 0});
  st.push_back({ViewStep::kDir, sandbox.image_at, "", "", 0});
  st.push_back({ViewStep::kTree, sandbox.image_at, root, "", 0});
  for (const SandboxOptions::HostPath& hp : sandbox.host_paths) {
    std::string source = fs::absolute(hp.source).lexically_normal().string();
    std::string at = hp.at.empty() ? source : hp.at;
    bool covered = false;
    for (const char* dir : {"/run/", "/tmp/", "/var/tmp/"}) {
      covered = covered || at.rfind(dir, 0) == 0;
    }
    if (!covered || plan.trees.size() >= kMaxTrees) continue;  // seen as it is
    std::string sofar;
    for (const fs::path& part : fs::path(at).relative_path()) {
      sofar += "/" + part.string();
      st.push_back({ViewStep::kDir, sofar, "", "", 0});
    }
    st.push_back({ViewStep::kTree, at, source, "", plan.trees.size()});
    plan.trees.push_back({source, false, true});
  }
}

// The image view, built under a fresh /run of the sandbox's own: host paths on the way to
// the image (kiln's cache, which only root may enter) are never walked from inside.
void PlanImageView(Plan& plan, const SandboxOptions& sandbox, const std::string& root) {
  plan.steps.push_back({ViewStep::kMount, "/run", "tmpfs", "mode=755", MS_NOSUID | MS_NODEV});
  if (sandbox.host_tools) {
    plan.new_root = "/run/kiln-view";
    plan.steps.push_back({ViewStep::kDir, plan.new_root, "", "", 0});
    AddHostTools(plan.steps, plan.new_root, root);
  } else {
    plan.new_root = "/run/kiln-root";
    plan.steps.push_back({ViewStep::kDir, plan.new_root, "", "", 0});
    plan.steps.push_back({ViewStep::kTree, plan.new_root, root, "", 0});
  }
  AddApiFileSystems(plan.steps, plan.new_root);
}

// The sandbox's whole plan but its cgroup; "" or why the host cannot run it.
std::string MakePlan(const SandboxOptions& sandbox, const RunOptions& run, Plan& plan) {
  std::string root = fs::absolute(sandbox.root).lexically_normal().string();
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  plan.hostname = sandbox.hostname;
  plan.cwd = run.cwd.empty() ? "/" : run.cwd;
  plan.limits = sandbox.limits;
  plan.image = root;
  plan.host_network = sandbox.network == SandboxOptions::Network::kHost;
  if (sandbox.network == SandboxOptions::Network::kOutbound) {
    if (std::string missing = PlanOutbound(plan); !missing.empty()) return missing;
  }
  PlanIdMaps(plan);
  bool idmap = InInitialUserNamespace() && plan.make_trees;
  plan.trees.push_back({root, idmap, false});  // tree 0: the image
  if (sandbox.host_view) {
    PlanHostView(plan, sandbox, root);
  } else {
    PlanImageView(plan, sandbox, root);
  }
  if (plan.outbound) {
    // slirp4netns answers DNS at 10.0.2.3; the image's own resolv.conf stays as it is.
    if (sandbox.host_tools) {
      plan.steps.push_back({ViewStep::kFile, plan.new_root + "/etc/resolv.conf", "", "", 0});
    }
    plan.steps.push_back({ViewStep::kResolvConf, plan.new_root + "/etc/resolv.conf",
                          plan.new_root + "/run/.kiln-resolv.conf", "nameserver 10.0.2.3\n", 0});
  }
  return "";
}

}  // namespace

RunResult RunInSandbox(const SandboxOptions& sandbox, RunOptions run, SandboxReport* report) {
  Plan plan;
  if (std::string missing = MakePlan(sandbox, run, plan); !missing.empty()) {
    RunResult failed;
    failed.error = missing;
    return failed;
  }
  run.cwd.clear();
  // Nothing of kiln's environment (tokens, the host's paths) reaches the sandbox.
  run.clean_env = true;
  // A sane PATH inside, whatever the host's is.
  bool has_path = false;
  for (const auto& [k, v] : run.env) has_path = has_path || k == "PATH";
  if (!has_path)
    run.env.emplace_back("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  // Where the host delegates a cgroup to kiln, one per sandbox bounds its memory as a whole;
  // elsewhere RLIMITs do (per process).
  std::string no_cgroup;
  std::unique_ptr<SandboxCgroup> cgroup =
      SandboxCgroup::Make({plan.limits.max_memory_bytes, plan.limits.max_processes}, &no_cgroup);
  if (cgroup) {
    plan.cgroup_procs_fd = cgroup->procs_fd();
    plan.cgroup_dir = cgroup->dir();
    plan.memory_by_cgroup = cgroup->limits_memory();
  }
  run.exec_in_child = [&plan](char* const* argv, char* const* envp, int err_fd) {
    EnterSandbox(plan, argv, envp, err_fd);
  };
  RunResult result = RunProcess(run);
  if (report != nullptr) {
    report->cgroup = cgroup ? cgroup->dir() : "";
    report->no_cgroup = no_cgroup;
    report->memory_by_cgroup = plan.memory_by_cgroup;
    report->out_of_memory = cgroup && cgroup->OutOfMemory();
  }
  return result;
}

}  // namespace kiln::sys
