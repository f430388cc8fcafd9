// The disk image stages: `assemble` writes a GPT disk image (raw) from the root tree without
// mounting anything — the partition table with sfdisk, each ext4 file system with
// `mkfs.ext4 -d` at its offset, the ESP with mkfs.vfat and mtools, GRUB for BIOS and UEFI by
// offset — and `convert` turns it into a zstd-compressed qcow2.
#pragma once

#include <string>

#include "core/build_spec.h"
#include "engine/executor.h"
#include "stages/disk_layout.h"

namespace kiln::stages {

struct DiskImageOptions {
  std::string file_name;  // "name.raw"
  DiskLayout layout;
  Arch arch = Arch::kX86_64;
  std::string menu_title;  // the GRUB menu entry
  long long source_date_epoch = 0;
};

class DiskImageStage : public engine::Stage {
 public:
  explicit DiskImageStage(DiskImageOptions options) : options_(std::move(options)) {}
  std::string name() const override { return "assemble"; }
  engine::StageInputs Inputs() const override;
  bool Run(const engine::StageContext& ctx, engine::StageFailure& failure) override;

 private:
  DiskImageOptions options_;
};

class Qcow2ConvertStage : public engine::Stage {
 public:
  Qcow2ConvertStage(std::string raw_name, std::string qcow2_name)
      : raw_name_(std::move(raw_name)), qcow2_name_(std::move(qcow2_name)) {}
  std::string name() const override { return "convert"; }
  engine::StageInputs Inputs() const override;
  bool Run(const engine::StageContext& ctx, engine::StageFailure& failure) override;

 private:
  std::string raw_name_, qcow2_name_;
};

// The kernel and initramfs of a root tree (the newest version in /boot), or false.
struct KernelFiles {
  std::string version;         // "6.1.0-50-amd64"
  std::string kernel, initrd;  // "boot/vmlinuz-6.1.0-50-amd64", relative to the root
};
bool FindKernel(const std::filesystem::path& root, KernelFiles& out);

// A view of `from` at `to` made of hard links (a copy where links cannot be made), cheap to
// change by replacing files: the cached tree underneath stays as it was.
bool LinkTree(const std::filesystem::path& from, const std::filesystem::path& to,
              const engine::StageContext& ctx, engine::StageFailure& failure,
              const std::string& stage);

}  // namespace kiln::stages
