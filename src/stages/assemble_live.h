// The live image stage: a hybrid ISO 9660 image that boots from a CD and from a USB/hard disk,
// with BIOS and UEFI. The root tree becomes live/filesystem.squashfs (mksquashfs, zstd), the
// kernel and the live-boot initramfs sit beside it, and grub-mkrescue (xorriso underneath)
// writes the ISO with GRUB for both firmwares. Nothing is mounted.
#pragma once

#include <string>

#include "engine/executor.h"

namespace kiln::stages {

struct LiveImageOptions {
  std::string file_name;      // "name.iso"
  std::string volume_id;      // ISO volume id: the request's label (checked by the spec)
  std::string menu_title;     // the GRUB menu entry (the request's title)
  std::string kernel_append;  // bootloader --append, or the serial console default
  int timeout_s = 5;
  long long source_date_epoch = 0;
};

class LiveImageStage : public engine::Stage {
 public:
  explicit LiveImageStage(LiveImageOptions options) : options_(std::move(options)) {}
  std::string name() const override { return "assemble"; }
  engine::StageInputs Inputs() const override;
  bool Run(const engine::StageContext& ctx, engine::StageFailure& failure) override;

 private:
  LiveImageOptions options_;
};

}  // namespace kiln::stages
