// The scripts stage: the kickstart's %post scripts, in file order, on a copy of the root.
// Every script runs in the sandbox (sys/sandbox.h): a chroot script with the image as "/",
// a --nochroot script with the host's tools read-only and the image at /mnt/sysimage
// ($INSTALL_ROOT). Output goes to the build log, and with --log to that file in the image
// (for --nochroot: a path under /mnt/sysimage). A failing script fails the build only with
// --erroronfail, as in anaconda.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/executor.h"
#include "spec/kickstart.h"

namespace kiln::stages {

struct ScriptLimits {
  std::chrono::seconds timeout{30 * 60};  // each script
  uint64_t disk_budget_bytes = 0;         // the image tree, checked every 2 s; 0 = none
  long max_processes = 2048;
  uint64_t max_memory_bytes = 0;  // per process; 0 = none
  bool outbound_network = false;  // slirp4netns instead of loopback only
};

class ScriptsStage : public engine::Stage {
 public:
  explicit ScriptsStage(std::vector<spec::Script> scripts, ScriptLimits limits = {})
      : scripts_(std::move(scripts)), limits_(limits) {}
  std::string name() const override { return "scripts"; }
  engine::StageInputs Inputs() const override;
  bool Run(const engine::StageContext& ctx, engine::StageFailure& failure) override;

 private:
  bool RunOne(const engine::StageContext& ctx, size_t index, engine::StageFailure& failure);

  std::vector<spec::Script> scripts_;
  ScriptLimits limits_;
};

// Where a script's --log goes in the image ("/root/ks-post.log"), or nullopt when it names
// no file of the image (a --nochroot log outside /mnt/sysimage).
std::optional<std::string> ScriptLogInImage(const spec::Script& s);

// Copies the root tree `from` to `to` (cp -a, reflinks where the file system has them).
bool CopyTree(const std::filesystem::path& from, const std::filesystem::path& to,
              const engine::StageContext& ctx, engine::StageFailure& failure,
              const std::string& stage);

}  // namespace kiln::stages
