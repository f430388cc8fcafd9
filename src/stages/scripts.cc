#include "stages/scripts.h"

#include <sys/stat.h>

#include <fstream>

#include "core/sha256.h"
#include "sys/process.h"
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
  return {"scripts", 1, "", {{"%post scripts", all.HexDigest()}}};
}

bool ScriptsStage::Run(const engine::StageContext& ctx, engine::StageFailure& failure) {
  if (!CopyTree(ctx.input / "root", ctx.output / "root", ctx, failure, "scripts")) return false;
  for (size_t i = 0; i < scripts_.size(); ++i) {
    ctx.reporter->StageProgress(
        "scripts", static_cast<double>(i) / scripts_.size(),
        "%post " + std::to_string(i + 1) + "/" + std::to_string(scripts_.size()));
    if (!RunOne(ctx, i, failure)) return false;
  }
  std::error_code ec;
  fs::remove_all(ctx.output / "root/var/lib/kiln", ec);
  return true;
}

bool ScriptsStage::RunOne(const engine::StageContext& ctx, size_t index,
                          engine::StageFailure& failure) {
  const spec::Script& s = scripts_[index];
  fs::path root = ctx.output / "root";
  std::string label = "%post " + std::to_string(index + 1) + " (kickstart line " +
                      std::to_string(s.where.line) + (s.in_chroot ? "" : ", --nochroot") + ")";
  // The script file: inside the root for a chroot script, in scratch for a host script.
  std::string file_name = "post-" + std::to_string(index + 1);
  fs::path host_file;
  std::string run_path;
  if (s.in_chroot) {
    fs::create_directories(root / "var/lib/kiln");
    host_file = root / "var/lib/kiln" / file_name;
    run_path = "/var/lib/kiln/" + file_name;
  } else {
    host_file = ctx.scratch / file_name;
    run_path = host_file.string();
  }
  {
    std::ofstream out(host_file, std::ios::trunc);
    out << s.body;
  }
  chmod(host_file.c_str(), 0700);

  std::vector<std::string> output;
  sys::RunOptions run;
  run.argv = {s.interpreter, run_path};
  run.cancel = ctx.cancel;
  run.timeout = std::chrono::minutes(30);
  run.tail_lines = 20;
  run.on_line = [&](std::string_view line) {
    ctx.reporter->Log("[" + label + "] " + std::string(line));
    output.emplace_back(line);
  };
  ctx.reporter->Log("running " + label + " with " + s.interpreter);
  sys::RunResult r;
  if (s.in_chroot) {
    run.env = {{"HOME", "/root"}, {"LC_ALL", "C.UTF-8"}, {"DEBIAN_FRONTEND", "noninteractive"}};
    r = sys::RunInSandbox({root, "kiln"}, run);
  } else {
    run.env = {{"INSTALL_ROOT", root.string()}, {"LC_ALL", "C.UTF-8"}};
    run.cwd = ctx.scratch.string();
    r = sys::RunProcess(run);
  }
  if (s.log) {
    // --log names a file inside the root for chroot scripts, on the host otherwise.
    fs::path log = s.in_chroot ? root / fs::path(*s.log).relative_path() : fs::path(*s.log);
    std::error_code ec;
    fs::create_directories(log.parent_path(), ec);
    std::ofstream out(log, std::ios::app);
    for (const std::string& l : output) out << l << "\n";
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

}  // namespace kiln::stages
