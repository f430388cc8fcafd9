// A cgroup v2 of its own for each sandbox, where the host delegates a cgroup to kiln: then a
// sandbox's memory is bounded as a whole (memory.max, no swap) rather than per process
// (RLIMIT_AS, which also breaks programs that reserve address space), its processes by
// pids.max, and whatever is left of it is killed with cgroup.kill.
//
// Delegation is the host's choice, never taken: kiln uses a cgroup only when it runs in one
// named kiln-supervisor whose parent it may write. A service started by systemd with
// `Delegate=yes` gets there by itself: ClaimDelegatedCgroup moves the process, alone in the
// unit's cgroup, into kiln-supervisor and hands the memory and pids controllers down. Each
// sandbox is then a sibling, `sandbox-PID-N`. Anywhere else (a cgroup v1 host, a login
// shell's cgroup) the sandboxes keep their RLIMITs (sys/sandbox.h).
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

namespace kiln::sys {

constexpr const char* kSupervisorCgroup = "kiln-supervisor";

struct CgroupLimits {
  long long memory_bytes = 0;  // memory.max for the whole sandbox (swap 0); 0 = none
  long processes = 0;          // pids.max; 0 = none
};

// Where sandboxes' cgroups go: the parent of this process's kiln-supervisor cgroup, and the
// controllers it hands down ("memory pids"); or, in `why_not`, why there is none.
struct DelegatedCgroup {
  std::string dir;
  std::string controllers;
  std::string why_not;
};
DelegatedCgroup FindDelegatedCgroup();

// At the start of a service (or `kiln build`): when this process is alone in a cgroup v2 it
// may write, it moves into <that>/kiln-supervisor and enables the memory and pids controllers
// for its children.
struct CgroupClaim {
  bool delegated = false;  // kiln now runs in kiln-supervisor (moved there now, or before)
  std::string note;        // what it did, or why the host's cgroup is not kiln's ("" = nothing)
};
CgroupClaim ClaimDelegatedCgroup();

class SandboxCgroup {
 public:
  // A new cgroup under the delegated one with `limits` set where its controllers allow;
  // nullptr (and why in `why_not`) when the host delegates none.
  static std::unique_ptr<SandboxCgroup> Make(const CgroupLimits& limits, std::string* why_not);
  // Kills whatever is still in it and removes it.
  ~SandboxCgroup();
  SandboxCgroup(const SandboxCgroup&) = delete;
  SandboxCgroup& operator=(const SandboxCgroup&) = delete;

  // Its cgroup.procs, open for writing (close-on-exec): a process that writes "0" to it moves
  // itself in, with every child it starts after.
  int procs_fd() const { return procs_fd_; }
  // True when memory.max holds the limit (so per-process RLIMIT_AS is not needed).
  bool limits_memory() const { return limits_memory_; }
  // True when the kernel killed a process of it for going past memory.max.
  bool OutOfMemory() const;
  const std::string& dir() const { return dir_; }

 private:
  SandboxCgroup() = default;
  std::string dir_;
  int procs_fd_ = -1;
  bool limits_memory_ = false;
};

}  // namespace kiln::sys
