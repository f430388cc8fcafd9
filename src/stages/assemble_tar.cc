#include "stages/assemble_tar.h"

#include "core/text.h"
#include "sys/process.h"

namespace kiln::stages {

engine::StageInputs TarImageStage::Inputs() const {
  return {"assemble-tar",
          1,
          "",
          {{"file name", file_name_}, {"SOURCE_DATE_EPOCH", std::to_string(epoch_)}}};
}

bool TarImageStage::Run(const engine::StageContext& ctx, engine::StageFailure& failure) {
  std::string root = (ctx.input / "root").string();
  std::string out = (ctx.output / file_name_).string();
  std::string epoch = std::to_string(epoch_);
  // bash for pipefail: a tar failure must fail the stage even though zstd succeeds.
  std::string script = "set -euo pipefail; tar --create --directory=" + QuoteIfNeeded(root) +
                       " --sort=name --format=pax --numeric-owner --xattrs --xattrs-include='*'"
                       " --mtime=@" +
                       epoch +
                       " --clamp-mtime"
                       " --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime ."
                       " | zstd -q -T0 -6 -o " +
                       QuoteIfNeeded(out);
  sys::RunOptions run;
  run.argv = {"bash", "-c", script};
  run.cancel = ctx.cancel;
  run.timeout = std::chrono::minutes(30);
  run.on_line = [&](std::string_view line) { ctx.reporter->Log(line); };
  ctx.reporter->StageProgress("assemble", 0.1, "writing " + file_name_);
  sys::RunResult r = sys::RunProcess(run);
  if (r.ok()) return true;
  bool disk_full = false;
  for (const std::string& l : r.tail)
    disk_full = disk_full || l.find("No space left") != std::string::npos;
  if (disk_full) {
    failure = {engine::FailureClass::kResource, "disk-full", "assemble: the disk is full",
               "free space in the cache and output directories"};
  } else {
    failure = {
        engine::FailureClass::kInternal, "assemble-failed",
        "assemble: tar | zstd " + r.Describe() + (r.tail.empty() ? "" : ": " + r.tail.back()),
        "see build.log"};
  }
  return false;
}

}  // namespace kiln::stages
