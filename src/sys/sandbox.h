// Running code inside an image root: private mount, PID, IPC and UTS namespaces, a chroot
// into the root, only the API file systems it needs (/proc, /dev, /sys, a fresh /tmp and
// /run), a time limit, and the whole tree killed on timeout or cancel. Every mount lives in
// the sandbox's own mount namespace, so none survives it, however it ends.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "sys/process.h"

namespace kiln::sys {

struct SandboxOptions {
  std::filesystem::path root;     // the image root to chroot into
  std::string hostname = "kiln";  // the UTS namespace's host name
};

// Runs `run.argv` inside `sandbox.root` (argv[0] is looked up in the root's PATH). Other
// RunOptions fields (env, timeout, cancel, on_line) apply as for RunProcess; `run.cwd` is a
// path inside the root ("" = "/").
RunResult RunInSandbox(const SandboxOptions& sandbox, RunOptions run);

// The command line RunInSandbox runs on the host (exposed for tests and logs).
std::vector<std::string> SandboxCommand(const SandboxOptions& sandbox, const RunOptions& run);

}  // namespace kiln::sys
