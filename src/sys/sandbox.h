// Running a stranger's code (a kickstart's %post, tools inside an image root) so that it
// cannot touch the build host:
//   - its own user namespace: root inside has capabilities only over the namespace's own
//     objects (no mknod of devices, no module loading, no clock, no host mount), the ids of
//     the image mapped one to one (so chown in the image works);
//   - its own mount namespace, entered with pivot_root into the image root and the old root
//     unmounted (not a chroot: there is nothing left to escape to), with /proc of its own PID
//     namespace, a minimal /dev (null, zero, full, random, urandom, tty, pts/ptmx, shm — no
//     block device, nothing of the host's /dev), fresh /tmp and /run, no /sys;
//   - its own PID, IPC, UTS and network namespaces (only loopback: nothing of the host's
//     loopback, no master API, no broker);
//   - no_new_privs, a process limit (a fork bomb fails fork, not the host), optional memory
//     and file size limits; when its first process ends, every process of it ends.
// Every mount lives in the sandbox's namespaces, so nothing outlives it however it ends.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "sys/process.h"

namespace kiln::sys {

struct SandboxLimits {
  long max_processes = 2048;  // RLIMIT_NPROC in the sandbox's user namespace (and pids.max)
  // The sandbox's memory.max where the host delegates a cgroup to kiln (sys/cgroup.h), else
  // RLIMIT_AS per process; 0 = none.
  long long max_memory_bytes = 0;
  long long max_file_bytes = 0;  // RLIMIT_FSIZE; 0 = none
};

struct SandboxOptions {
  std::filesystem::path root;     // the image root: "/" inside, or /mnt/sysimage (host_tools)
  std::string hostname = "kiln";  // the UTS namespace's host name
  // For %post --nochroot: "/" is an empty tmpfs with the host's /usr (and the /bin, /lib...
  // links or directories) read-only and a few harmless /etc files (the loader cache,
  // alternatives, passwd/group) — no host secrets, nothing host-writable — and the image at
  // /mnt/sysimage, read-write.
  bool host_tools = false;
  // For the host's own image tools (mmdebstrap): no pivot_root — the host's file system as
  // it is (read-only to the sandbox's root, which is nobody outside, as root on the host),
  // with private /run, /tmp, /var/tmp, /dev and /proc; the image at `image_at`; host paths
  // the sandbox could not reach (under /run, /tmp, /var/tmp, or a directory only root may
  // enter: file:// mirrors, kiln's side repositories) attached read-only at `at`.
  bool host_view = false;
  std::string image_at = "/run/kiln/image";
  struct HostPath {
    std::filesystem::path source;
    std::string at;  // "" = the source's own path (it must then be under /run, /tmp, /var/tmp)
  };
  std::vector<HostPath> host_paths;
  // Loopback only (kNone), outbound through slirp4netns with the host's loopback out of reach
  // (kOutbound: %post of `kiln build`), or the host's network namespace (kHost: the
  // bootstrap's downloads).
  enum class Network { kNone, kOutbound, kHost } network = Network::kNone;
  SandboxLimits limits;
};

// Runs `run.argv` in the sandbox (argv[0] is looked up in PATH inside it, unless absolute).
// Other RunOptions fields (env, timeout, cancel, on_line) apply as for RunProcess;
// `run.cwd` is a path inside the sandbox ("" = "/"). A set-up step that fails (the host has no
// user namespaces, the image's /dev is a symlink) ends it as kFailedToStart, with the step
// named in the output.
// What the sandbox saw of a run beyond the program's own result.
struct SandboxReport {
  std::string cgroup;             // the cgroup it ran in (removed now), or ""
  std::string no_cgroup;          // else why it had none (the host delegates none to kiln)
  bool memory_by_cgroup = false;  // its memory was bounded by memory.max, not RLIMIT_AS
  bool out_of_memory = false;     // the kernel killed a process of it at memory.max
};

RunResult RunInSandbox(const SandboxOptions& sandbox, RunOptions run,
                       SandboxReport* report = nullptr);

// "" if this host can run sandboxes, else what is missing and how to get it.
std::string SandboxUnavailableReason();

}  // namespace kiln::sys
