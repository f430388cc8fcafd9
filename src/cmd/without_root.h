// kiln without root. `kiln build` and `kiln job` not run by root: the build runs as root of a
// user namespace of its own (sys/build_namespace.h); the directories the user owns are made
// first, by the user; after the build, what it wrote to the output directory is given back to
// the user. `kiln serve` and `kiln worker` started by root: they become their service user
// (sys/service_user.h) before anything else.
#pragma once

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <iostream>
#include <string>

#include "sys/build_namespace.h"
#include "sys/cgroup.h"
#include "sys/service_user.h"

namespace kiln::cmd {

// A cache made by builds as root holds files of the host's ids, which a build namespace cannot
// write: the first of its directories that is not writable, or "".
inline std::string RootsCacheDirectory(const std::string& cache_dir) {
  std::error_code ec;
  if (access(cache_dir.c_str(), W_OK) != 0) return cache_dir;
  for (const auto& e : std::filesystem::directory_iterator(cache_dir, ec)) {
    if (e.is_directory(ec) && access(e.path().c_str(), W_OK) != 0) return e.path().string();
  }
  return "";
}

// Runs `build` here when this process is root, else inside a build namespace; returns its exit
// code, or 1 after saying (prefixed with `command`) why no namespace could be made.
inline int RunBuildWithoutRoot(const std::string& command, const std::string& cache_dir,
                               const std::string& output, const std::function<int()>& build) {
  // An image's files must not depend on who builds it: the tools in it get the usual umask
  // (a service runs with 077 for its own files).
  umask(022);
  // A cgroup the host delegates to this build (a systemd-run --user -p Delegate=yes scope)
  // bounds its sandboxes; a job of a service is in the service's already.
  if (sys::CgroupClaim claim = sys::ClaimDelegatedCgroup();
      claim.delegated && !claim.note.empty()) {
    std::cerr << command << ": " << claim.note << "\n";
  }
  if (!sys::NeedsBuildNamespace()) return build();
  for (const std::string& dir : {cache_dir, output}) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) {
      std::cerr << command << ": cannot make " << dir << ": " << ec.message() << "\n";
      return 1;
    }
  }
  sys::BuildNamespace ns = sys::EnterBuildNamespace();
  if (!ns.error.empty()) {
    std::cerr << command << ": " << ns.error << "\n";
    return 1;
  }
  if (!ns.inside) return ns.exit_code;
  if (std::string dir = RootsCacheDirectory(cache_dir); !dir.empty()) {
    std::cerr << command << ": the cache " << cache_dir
              << " was made by builds as root; a build without root cannot write " << dir
              << ": give it a cache of its own (--cache-dir), or remove that one as root\n";
    return 1;
  }
  int code = build();
  sys::GiveToInvoker(output);
  return code;
}

// For a service started as root: becomes `run_as` ("" = kiln, or root with a warning when there
// is no such account). A service that is not root (then, or from the start) checks that it
// can build (`builds`). False after saying why not.
inline bool DropRoot(const std::string& command, std::string run_as,
                     const sys::ServiceDirectories& dirs, bool builds) {
  if (geteuid() == 0) {
    bool chosen = !run_as.empty();
    if (!chosen) run_as = sys::kServiceUser;
    if (!chosen && getpwnam(run_as.c_str()) == nullptr) {
      std::cerr << command << ": warning: running as root, so its builds do too (in their "
                << "sandboxes); make the service's own user (as root: "
                << sys::ServiceUserFix(run_as, dirs) << ") or say --run-as root\n";
    } else if (std::string error = sys::BecomeServiceUser(run_as, dirs); !error.empty()) {
      std::cerr << command << ": " << error << "\n";
      return false;
    }
    if (geteuid() != 0) std::cerr << command << ": running as " << run_as << "\n";
  }
  if (builds && geteuid() != 0) {
    if (std::string why = sys::BuildNamespaceUnavailableReason(); !why.empty()) {
      std::cerr << command << ": cannot build without root: " << why << "\n";
      return false;
    }
  }
  if (builds) {
    // Memory bounds per build where the host delegates a cgroup (sys/cgroup.h), else per
    // process: the admin sees which.
    sys::CgroupClaim claim = sys::ClaimDelegatedCgroup();
    if (!claim.note.empty()) {
      std::cerr << command << ": cgroup: " << claim.note
                << (claim.delegated ? "" : "; sandboxes are bounded by RLIMITs") << "\n";
    }
  }
  return true;
}

}  // namespace kiln::cmd
