#include "stages/scripts.h"

#include <sys/stat.h>

#include <fstream>

#include "core/sha256.h"
#include "core/text.h"
#include "sys/files.h"
#include "sys/process.h"
#include "sys/root_dir.h"
#include "sys/sandbox.h"

namespace kiln::stages {
namespace fs = std::filesystem;

bool CopyTree(const fs::path& from, const fs::path& to, const engine::StageContext& ctx,
              engine::StageFailure& failure, const std::string& stage) {
  sys::RunOptions run;
  run.argv = {"cp", "-a", "--reflink=auto", from.string(), to.string()};
  run.cancel = ctx.cancel;
  run.on_line = [&](std::string_view line) { ctx.reporter->Log(line); };
  sys::RunResult r = sys::RunProcess(run);
  if (r.ok()) return true;
  bool full = false;
  for (const std::string& l : r.tail) full = full || l.find("No space left") != std::string::npos;
  failure = full ? engine::StageFailure{engine::FailureClass::kResource, "disk-full",
                                        stage + ": the disk is full while copying the root",
                                        "free space in the cache directory"}
                 : engine::StageFailure{engine::FailureClass::kInternal, "copy-failed",
                                        stage + ": copying the root failed: " + r.Describe(),
                                        "see build.log"};
  return false;
}

engine::StageInputs ScriptsStage::Inputs() const {
  Sha256 all;
  for (const spec::Script& s : scripts_) {
    all.Update(std::string(spec::ScriptSectionName(s.kind)) + "\n" + s.interpreter + "\n" +
               (s.in_chroot ? "chroot" : "nochroot") + "\n" + s.log.value_or("") + "\n" +
               (s.error_on_fail ? "erroronfail" : "") + "\n" + std::to_string(s.body.size()) +
               "\n" + s.body);
  }
  // What the scripts could reach changes what they may make (a download, or none).
  return {"scripts",
          2,
          "",
          {{"%post scripts", all.HexDigest()},
           {"script network", limits_.outbound_network ? "outbound" : "none"}}};
}

bool ScriptsStage::Run(const engine::StageContext& ctx, engine::StageFailure& failure) {
  if (!CopyTree(ctx.input / "root", ctx.output / "root", ctx, failure, "scripts")) return false;
  for (size_t i = 0; i < scripts_.size(); ++i) {
    ctx.reporter->StageProgress(
        "scripts", static_cast<double>(i) / scripts_.size(),
        "%post " + std::to_string(i + 1) + "/" + std::to_string(scripts_.size()));
    if (!RunOne(ctx, i, failure)) return false;
  }
  sys::RootDir root(ctx.output / "root");
  for (size_t i = 0; i < scripts_.size(); ++i)
    root.Remove("/var/lib/kiln/post-" + std::to_string(i + 1));
  root.Remove("/var/lib/kiln");
  return true;
}

std::optional<std::string> ScriptLogInImage(const spec::Script& s) {
  if (!s.log) return std::nullopt;
  if (s.in_chroot) return *s.log;
  // A --nochroot script sees the image at /mnt/sysimage, as in anaconda.
  constexpr std::string_view kImage = "/mnt/sysimage/";
  if (StartsWith(*s.log, kImage)) return "/" + s.log->substr(kImage.size());
  return std::nullopt;
}

namespace {

// A limit the script ran into: its processes (a fork bomb), or the disk budget.
enum class Limit { kNone, kProcesses, kDisk };

// What is watched while a script runs: its output (for --log) and the limit it ran into.
struct ScriptWatch {
  std::vector<std::string> output;
  Limit hit = Limit::kNone;
  uint64_t disk_used = 0;
  std::chrono::steady_clock::time_point next_disk_check = std::chrono::steady_clock::now();
};

// Makes `run` log each line under `label` into `watch`, and stop the script once it runs into
// a limit: a fork that fails, or the image past the disk budget (measured every 2 s).
void WatchScript(const engine::StageContext& ctx, const std::string& label,
                 const ScriptLimits& limits, const fs::path& root_path, ScriptWatch& watch,
                 sys::RunOptions& run) {
  run.on_line = [&ctx, &label, &watch](std::string_view line) {
    ctx.reporter->Log("[" + label + "] " + std::string(line));
    if (watch.output.size() < 100000) watch.output.emplace_back(line);
    // Shells say so when fork fails (dash "Cannot fork", bash "fork: retry: Resource
    // temporarily unavailable", busybox "can't fork"): the process limit is reached, and a script
    // that hits it would otherwise spin until its time limit.
    auto has = [&](std::string_view what) { return line.find(what) != std::string_view::npos; };
    if (has("Cannot fork") || has("can't fork") || has("fork: retry") ||
        (has("fork") && has("Resource temporarily unavailable"))) {
      watch.hit = Limit::kProcesses;
    }
  };
  run.stop_when = [&limits, &root_path, &watch] {
    if (watch.hit != Limit::kNone) return true;
    if (limits.disk_budget_bytes == 0 || std::chrono::steady_clock::now() < watch.next_disk_check) {
      return false;
    }
    watch.next_disk_check = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    watch.disk_used = sys::TreeAllocatedBytes(root_path);
    if (watch.disk_used > limits.disk_budget_bytes) watch.hit = Limit::kDisk;
    return watch.hit != Limit::kNone;
  };
}

// The sandbox and command line for script `s` placed at `file` in the image: in the image
// itself, or (--nochroot) on the host's tools with the image at /mnt/sysimage.
void SetUpScript(const spec::Script& s, const std::string& file, const ScriptLimits& limits,
                 const fs::path& root_path, sys::SandboxOptions& sandbox, sys::RunOptions& run) {
  sandbox.root = root_path;
  sandbox.limits.max_processes = limits.max_processes;
  sandbox.limits.max_memory_bytes = static_cast<long long>(limits.max_memory_bytes);
  if (limits.outbound_network) sandbox.network = sys::SandboxOptions::Network::kOutbound;
  if (s.in_chroot) {
    run.argv = {s.interpreter, file};
    run.env = {{"HOME", "/root"}, {"LC_ALL", "C.UTF-8"}, {"DEBIAN_FRONTEND", "noninteractive"}};
  } else {
    // On the "host": the host's tools read-only, the image at /mnt/sysimage (sandbox.h).
    sandbox.host_tools = true;
    run.argv = {s.interpreter, "/mnt/sysimage" + file};
    run.env = {{"INSTALL_ROOT", "/mnt/sysimage"}, {"HOME", "/root"}, {"LC_ALL", "C.UTF-8"}};
  }
}

// The script's output appended to its --log file in the image; a log that cannot be written
// is a warning, never a failure.
void WriteScriptLog(const engine::StageContext& ctx, const sys::RootDir& root,
                    const spec::Script& s, const std::string& label,
                    const std::vector<std::string>& output) {
  std::optional<std::string> in_image = ScriptLogInImage(s);
  std::string text;
  for (const std::string& l : output) text += l + "\n";
  // Written from here, resolved inside the image: whatever the script left at that path
  // (a symlink to a host file, "..") cannot lead out of it.
  if (!in_image) {
    ctx.reporter->Log("warning: " + label + ": --log=" + *s.log +
                      " is outside /mnt/sysimage; the output is in build.log only");
    return;
  }
  Status written = root.MakeDirs(fs::path(*in_image).parent_path().string(), 0755);
  if (written.ok()) written = root.AppendFile(*in_image, text, 0600);
  if (!written.ok()) ctx.reporter->Log("warning: " + label + ": --log: " + written.message());
}

// False with `failure` when the script ran into a limit: its processes, the disk budget, or
// memory (only a warning when the script succeeded anyway).
bool WithinLimits(const engine::StageContext& ctx, const std::string& label,
                  const ScriptLimits& limits, const ScriptWatch& watch,
                  const sys::SandboxReport& report, const sys::RunResult& r,
                  engine::StageFailure& failure) {
  if (watch.hit == Limit::kProcesses) {
    failure = {engine::FailureClass::kResource, "process-limit-exceeded",
               "scripts: " + label + " ran into the limit of " +
                   std::to_string(limits.max_processes) + " processes and was stopped",
               "a script must not start processes without end (a fork bomb?)"};
    return false;
  }
  if (watch.hit == Limit::kDisk) {
    failure = {engine::FailureClass::kResource, "disk-budget-exceeded",
               "scripts: " + label + " grew the image to " + std::to_string(watch.disk_used >> 20) +
                   " MiB, past the build's budget of " +
                   std::to_string(limits.disk_budget_bytes >> 20) + " MiB",
               "write less in %post, or ask the service's admin for a bigger budget"};
    return false;
  }
  if (report.out_of_memory && r.kind != sys::ExitKind::kCanceled) {
    std::string what = label + " went past the build's memory limit of " +
                       std::to_string(limits.max_memory_bytes >> 20) +
                       " MiB and the kernel killed a process of it";
    if (!r.ok()) {
      failure = {engine::FailureClass::kResource, "memory-limit-exceeded", "scripts: " + what,
                 "use less memory in %post, or ask the service's admin for a larger limit"};
      return false;
    }
    ctx.reporter->Log("warning: " + what + "; the script went on and succeeded");
  }
  return true;
}

// Whether the build goes on after the script's run `r`: a success, or a failure of a script
// without --erroronfail (a warning); otherwise false with `failure` saying why.
bool JudgeScriptExit(const engine::StageContext& ctx, const spec::Script& s,
                     const std::string& label, const sys::RunResult& r,
                     engine::StageFailure& failure) {
  bool no_interpreter = false;
  for (const std::string& l : r.tail) no_interpreter |= l.find("kiln sandbox: cannot run") == 0;
  if (r.kind == sys::ExitKind::kFailedToStart && no_interpreter) {
    std::string what =
        label + ": its interpreter " + s.interpreter + " is not in the image (" + r.error + ")";
    if (!s.error_on_fail) {
      ctx.reporter->Log("warning: " + what + "; going on, as it has no --erroronfail");
      return true;
    }
    failure = {engine::FailureClass::kInput, "script-failed", "scripts: " + what,
               "add the interpreter's package to %packages, or use /bin/sh"};
    return false;
  }
  if (r.kind == sys::ExitKind::kFailedToStart) {
    failure = {engine::FailureClass::kResource, "sandbox-unavailable",
               "scripts: " + label + ": the sandbox could not start: " + r.error +
                   (r.tail.empty() ? "" : " (" + r.tail.back() + ")"),
               "see docs/security.md for what the build host needs"};
    return false;
  }
  if (r.ok()) return true;
  std::string last;
  for (const std::string& l : r.tail) last += (last.empty() ? "" : " | ") + l;
  if (r.kind == sys::ExitKind::kTimedOut) {
    failure = {engine::FailureClass::kTimeout, "script-timeout",
               "scripts: " + label + " " + r.Describe(), "make the script finish sooner"};
    return false;
  }
  if (r.kind == sys::ExitKind::kCanceled) return false;
  if (!s.error_on_fail) {
    ctx.reporter->Log("warning: " + label + " failed (" + r.Describe() +
                      "); going on, as it has no --erroronfail");
    return true;
  }
  failure = {engine::FailureClass::kInput, "script-failed",
             "scripts: " + label + " failed with " + r.Describe() +
                 (last.empty() ? "" : "; last output: " + last),
             "fix the script; its whole output is in build.log"};
  return false;
}

}  // namespace

bool ScriptsStage::RunOne(const engine::StageContext& ctx, size_t index,
                          engine::StageFailure& failure) {
  const spec::Script& s = scripts_[index];
  fs::path root_path = ctx.output / "root";
  sys::RootDir root(root_path);
  std::string label = "%post " + std::to_string(index + 1) + " (kickstart line " +
                      std::to_string(s.where.line) + (s.in_chroot ? "" : ", --nochroot") + ")";
  // The script file lives in the image (removed at the end), written through RootDir: an
  // earlier script may have left symlinks there.
  std::string file = "/var/lib/kiln/post-" + std::to_string(index + 1);
  Status placed = root.MakeDirs("/var/lib/kiln", 0700);
  if (placed.ok()) placed = root.WriteFile(file, s.body, 0700);
  if (!placed.ok()) {
    failure = {engine::FailureClass::kInput, "script-failed",
               "scripts: " + label + ": cannot place the script in the image: " + placed.message(),
               "an earlier %post must not replace /var/lib/kiln"};
    return false;
  }

  ScriptWatch watch;
  sys::RunOptions run;
  run.cancel = ctx.cancel;
  run.timeout = limits_.timeout;
  run.tail_lines = 20;
  WatchScript(ctx, label, limits_, root_path, watch, run);
  sys::SandboxOptions sandbox;
  SetUpScript(s, file, limits_, root_path, sandbox, run);
  ctx.reporter->Log("running " + label + " with " + s.interpreter);
  sys::SandboxReport report;
  sys::RunResult r = sys::RunInSandbox(sandbox, run, &report);
  if (s.log) WriteScriptLog(ctx, root, s, label, watch.output);
  if (!WithinLimits(ctx, label, limits_, watch, report, r, failure)) return false;
  return JudgeScriptExit(ctx, s, label, r, failure);
}

}  // namespace kiln::stages
