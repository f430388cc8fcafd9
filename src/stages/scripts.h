// The scripts stage: the kickstart's %post scripts, in file order, on a copy of the root.
// A chroot script runs inside the root in the sandbox; a --nochroot script runs on the host
// with $INSTALL_ROOT naming the root. Output goes to the build log (and to --log). A failing
// script fails the build only with --erroronfail, as in anaconda.
#pragma once

#include <vector>

#include "engine/executor.h"
#include "spec/kickstart.h"

namespace kiln::stages {

class ScriptsStage : public engine::Stage {
 public:
  explicit ScriptsStage(std::vector<spec::Script> scripts) : scripts_(std::move(scripts)) {}
  std::string name() const override { return "scripts"; }
  engine::StageInputs Inputs() const override;
  bool Run(const engine::StageContext& ctx, engine::StageFailure& failure) override;

 private:
  bool RunOne(const engine::StageContext& ctx, size_t index, engine::StageFailure& failure);

  std::vector<spec::Script> scripts_;
};

// Copies the root tree `from` to `to` (cp -a, reflinks where the file system has them).
bool CopyTree(const std::filesystem::path& from, const std::filesystem::path& to,
              const engine::StageContext& ctx, engine::StageFailure& failure,
              const std::string& stage);

}  // namespace kiln::stages
