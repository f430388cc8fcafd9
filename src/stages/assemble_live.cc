#include "stages/assemble_live.h"

#include "stages/assemble_disk.h"
#include "stages/grub.h"
#include "stages/tools.h"
#include "sys/files.h"

namespace kiln::stages {
namespace fs = std::filesystem;

namespace {
// mksquashfs's zstd level. Measured on the minimal live root (677 MiB): level 15 (the
// default) 34.7 s and 152 MiB, level 8 4.7 s and 162 MiB, level 3 2.3 s and 176 MiB. Level 8
// buys back half a live build's time for 7% more squashfs.
constexpr int kSquashfsZstdLevel = 8;
}  // namespace

engine::StageInputs LiveImageStage::Inputs() const {
  return {"assemble-live",
          2,
          "",
          {{"file name", options_.file_name},
           {"volume id", options_.volume_id},
           {"menu title", options_.menu_title},
           {"kernel command line", options_.kernel_append},
           {"timeout", std::to_string(options_.timeout_s)},
           {"SOURCE_DATE_EPOCH", std::to_string(options_.source_date_epoch)},
           {"squashfs zstd level", std::to_string(kSquashfsZstdLevel)},
           {"grub", ToolVersion({"grub-mkrescue", "--version"})},
           {"squashfs-tools", ToolVersion({"mksquashfs", "-version"})},
           {"xorriso", ToolVersion({"xorriso", "-version"})}}};
}

bool LiveImageStage::Run(const engine::StageContext& ctx, engine::StageFailure& failure) {
  const std::string stage = "assemble";
  std::string epoch = std::to_string(options_.source_date_epoch);
  std::vector<std::pair<std::string, std::string>> env = {{"SOURCE_DATE_EPOCH", epoch},
                                                          {"MTOOLS_SKIP_CHECK", "1"}};
  fs::path root = ctx.input / "root";
  KernelFiles kernel;
  if (!FindKernel(root, kernel)) {
    failure = {engine::FailureClass::kInput, "no-kernel",
               "assemble: the image has no kernel and initramfs in /boot",
               "do not exclude the kernel; kiln adds the arch's kernel when %packages lists none"};
    return false;
  }
  if (!fs::exists(root / "usr/share/initramfs-tools/scripts/live")) {
    failure = {engine::FailureClass::kInput, "no-live-boot",
               "assemble: live-boot is not in the image, so it cannot boot from the ISO",
               "do not exclude live-boot"};
    return false;
  }
  ctx.reporter->Log("kernel " + kernel.version);

  // The ISO's tree: kernel, initramfs, the squashed root and grub.cfg.
  fs::path iso = ctx.scratch / "iso";
  fs::create_directories(iso / "live");
  fs::create_directories(iso / "boot/grub");
  std::error_code ec;
  fs::copy_file(root / kernel.kernel, iso / "live/vmlinuz", ec);
  if (!ec) fs::copy_file(root / kernel.initrd, iso / "live/initrd.img", ec);
  if (ec) {
    failure = {engine::FailureClass::kResource, "disk-full",
               "assemble: copying the kernel: " + ec.message(), "free space in the cache"};
    return false;
  }
  GrubMenuEntry entry;
  entry.title = options_.menu_title;
  entry.kernel = "/live/vmlinuz";
  entry.initrd = "/live/initrd.img";
  entry.cmdline = "boot=live " + options_.kernel_append;
  // grub-mkrescue's image already has the ISO as its root; no search needed.
  sys::WriteFileAtomic(iso / "boot/grub/grub.cfg",
                       GrubMenu("# the ISO is the root", options_.timeout_s, entry));

  ctx.reporter->StageProgress(stage, 0.05, "squashing the root file system");
  // The initramfs is on the ISO already; inside the squashed root it would only take room.
  if (!RunTool(ctx, stage,
               {{"mksquashfs", root.string(), (iso / "live/filesystem.squashfs").string(),
                 "-noappend", "-no-progress", "-comp", "zstd", "-Xcompression-level",
                 std::to_string(kSquashfsZstdLevel), "-wildcards", "-e", "boot/initrd.img*",
                 "-mkfs-time", epoch},
                env,
                "making the squashfs root"},
               failure)) {
    return false;
  }
  // The ISO records each file's time: SOURCE_DATE_EPOCH for the files made here.
  if (!RunTool(ctx, stage,
               {{"find", iso.string(), "-exec", "touch", "--no-dereference", "--date=@" + epoch,
                 "{}", "+"},
                {},
                "setting file times"},
               failure)) {
    return false;
  }
  ctx.reporter->StageProgress(stage, 0.8, "writing the ISO");
  std::vector<std::string> mkrescue = {"grub-mkrescue",
                                       "-o",
                                       (ctx.output / options_.file_name).string(),
                                       "--locales=",
                                       "--themes=",
                                       "--fonts=",
                                       "--compress=xz",
                                       "--product-name=" + options_.menu_title,
                                       iso.string(),
                                       "--",
                                       "-volid",
                                       options_.volume_id};
  return RunTool(ctx, stage, {mkrescue, env, "writing the ISO (grub-mkrescue)"}, failure);
}

}  // namespace kiln::stages
