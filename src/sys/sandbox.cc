#include "sys/sandbox.h"

namespace kiln::sys {

std::vector<std::string> SandboxCommand(const SandboxOptions& sandbox, const RunOptions& run) {
  // The setup script runs as PID 1 of the new PID namespace, in the new mount namespace:
  // it mounts the API file systems under the root, then becomes the program (exec chroot).
  // When PID 1 exits the kernel kills every other process of the namespace; when the last
  // process leaves, the mounts go with the mount namespace.
  static const char* kSetup =
      "set -e; r=\"$1\"; cwd=\"$2\"; host=\"$3\"; shift 3; "
      "mount -t proc proc \"$r/proc\"; "
      "mount -t sysfs -o ro sysfs \"$r/sys\" 2>/dev/null || true; "
      "mount --rbind /dev \"$r/dev\"; mount --make-rslave \"$r/dev\"; "
      "mount -t tmpfs -o mode=1777 tmpfs \"$r/tmp\"; "
      "mount -t tmpfs -o mode=755 tmpfs \"$r/run\"; "
      "hostname \"$host\"; "
      "exec chroot \"$r\" /bin/sh -c 'cd \"$0\" && exec \"$@\"' \"$cwd\" \"$@\"";
  std::vector<std::string> cmd = {"unshare",
                                  "--mount",
                                  "--pid",
                                  "--ipc",
                                  "--uts",
                                  "--fork",
                                  "--kill-child",
                                  "--propagation",
                                  "private",
                                  "--",
                                  "/bin/sh",
                                  "-c",
                                  kSetup,
                                  "kiln-sandbox",
                                  sandbox.root.string(),
                                  run.cwd.empty() ? "/" : run.cwd,
                                  sandbox.hostname};
  cmd.insert(cmd.end(), run.argv.begin(), run.argv.end());
  return cmd;
}

RunResult RunInSandbox(const SandboxOptions& sandbox, RunOptions run) {
  std::error_code ec;
  for (const char* dir : {"proc", "sys", "dev", "tmp", "run"}) {
    std::filesystem::create_directories(sandbox.root / dir, ec);
  }
  run.argv = SandboxCommand(sandbox, run);
  run.cwd.clear();
  // A sane PATH inside the root, whatever the host's is.
  bool has_path = false;
  for (const auto& [k, v] : run.env) has_path = has_path || k == "PATH";
  if (!has_path)
    run.env.emplace_back("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  return RunProcess(run);
}

}  // namespace kiln::sys
