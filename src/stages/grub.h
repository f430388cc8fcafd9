// GRUB without grub-install: images made with grub-mkimage from the host's GRUB platform
// files (grub-pc-bin, grub-efi-amd64-bin, grub-efi-ia32-bin) and written into the disk image
// by offset, the way grub-setup would, so nothing is mounted and no device is touched.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/status.h"

namespace kiln::stages {

// The modules built into every kiln GRUB image: enough for kiln's grub.cfg with nothing
// loaded from disk afterwards. `platform` is "i386-pc", "x86_64-efi", "i386-efi".
std::vector<std::string> GrubModules(const std::string& platform);

// The grub-mkimage command that writes `platform`'s image to `out` with `early_config` built
// in, GRUB's prefix at `grub_dir` and GrubModules(platform).
std::vector<std::string> GrubMkimageCommand(const std::string& platform,
                                            const std::filesystem::path& out,
                                            const std::filesystem::path& early_config,
                                            const std::string& grub_dir);

// Where the host keeps a platform's GRUB files.
std::filesystem::path GrubPlatformDir(const std::string& platform);

// The early configuration built into the image: find the file system holding grub.cfg by
// UUID and read it.
std::string GrubEarlyConfig(const std::string& boot_fs_uuid, const std::string& grub_dir);

struct GrubMenuEntry {
  std::string title;
  std::string kernel, initrd;  // paths on the boot file system
  std::string cmdline;         // everything after the kernel's path
};

// A grub.cfg with one entry, on the serial console and the screen.
std::string GrubMenu(const std::string& search, int timeout_s, const GrubMenuEntry& entry);

// Makes BIOS boot from a GPT disk image: GRUB's boot.img into the protective MBR's code area
// (the partition table is kept) pointing at `core_img`, which is written at `core_sector`
// with its block list patched to load itself from there.
Status InstallBiosBoot(const std::filesystem::path& image, const std::filesystem::path& core_img,
                       uint64_t core_sector, uint64_t max_bytes);

}  // namespace kiln::stages
