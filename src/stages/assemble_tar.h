// The tar image: the root tree as a zstd-compressed tar, byte for byte the same for the same
// tree (names sorted, times clamped to SOURCE_DATE_EPOCH, numeric owners, no atime/ctime).
#pragma once

#include <string>

#include "engine/executor.h"

namespace kiln::stages {

class TarImageStage : public engine::Stage {
 public:
  // `file_name` is the image's name in the output ("kiln-bookworm-tar-x86_64.tar.zst").
  TarImageStage(std::string file_name, long long source_date_epoch)
      : file_name_(std::move(file_name)), epoch_(source_date_epoch) {}
  std::string name() const override { return "assemble"; }
  engine::StageInputs Inputs() const override;
  bool Run(const engine::StageContext& ctx, engine::StageFailure& failure) override;

 private:
  std::string file_name_;
  long long epoch_;
};

}  // namespace kiln::stages
