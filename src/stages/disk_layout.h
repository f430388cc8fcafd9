// The partition layout of a disk image (raw, qcow2), planned from the kickstart's `part`,
// `autopart`, `reqpart`, `clearpart` and `bootloader` lines before anything is built, with
// every UUID fixed in advance (derived from the build's seed) so fstab and the boot loader
// can name file systems by UUID and two builds of one spec give the same bytes.
//
// A disk always has, in this order: a 1 MiB BIOS boot partition (GRUB's core image for
// BIOS), an EFI system partition (GRUB for UEFI, mounted at /boot/efi), then the
// kickstart's partitions in the order written. Without part/autopart: just "/" (ext4).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/build_spec.h"
#include "core/status.h"
#include "spec/kickstart_parser.h"

namespace kiln::stages {

enum class FsKind { kExt4, kExt3, kExt2, kVfat, kSwap, kBiosBoot };

std::string_view ToString(FsKind fs);

struct Partition {
  std::string mountpoint;  // "/", "/boot", "/boot/efi", "/home"; "" for BIOS boot and swap
  FsKind fs = FsKind::kExt4;
  uint64_t size_mib = 0;  // the requested size (0: just what the files need)
  bool grow = false;      // may be larger: sized to the files plus headroom
  std::optional<uint64_t> max_mib;
  std::string label;      // file system label ("" = none)
  std::string fsoptions;  // fstab options ("" = the file system's default)
  std::string type_guid;  // GPT partition type
  std::string name;       // GPT partition name
  std::string part_uuid;  // GPT partition UUID
  std::string fs_uuid;    // file system UUID; for vfat its serial as "ABCD-1234"
  int line = 0;           // kickstart line that asked for it (0 = kiln's default)
};

struct DiskLayout {
  std::string disk_guid;
  std::vector<Partition> partitions;  // in disk order
  std::string kernel_append;          // bootloader --append (or kiln's serial console default)
  int timeout_s = 5;                  // bootloader --timeout

  // The partition mounted at `mountpoint`, or nullptr.
  const Partition* Find(std::string_view mountpoint) const;
  // The partition holding /boot (a separate /boot, else "/").
  const Partition& BootFs() const;
  // A canonical one-line-per-partition description: the assemble stage's cache input and log.
  std::string Describe() const;
};

// A UUID (version 4 layout) derived from `seed` and `what`: the same inputs, the same UUID.
std::string DerivedUuid(std::string_view seed, std::string_view what);

// Plans the layout of a disk image for `arch` from the kickstart. `seed` (the spec's hash)
// fixes the UUIDs. Requests kiln cannot honour are errors naming the line and what to write
// instead; requests it honours differently (clearpart, --ondisk, ...) are warnings.
// `warnings` gets the latter.
Result<DiskLayout> PlanDiskLayout(const spec::Kickstart& ks, Arch arch, std::string_view seed,
                                  std::vector<std::string>& warnings);

// The kernel command line and menu timeout from the kickstart's bootloader line; without
// --append, the kernel talks on the screen and the first serial port.
struct BootSettings {
  std::string kernel_append = "console=tty0 console=ttyS0,115200";
  int timeout_s = 5;
};
Result<BootSettings> ReadBootSettings(const spec::Kickstart& ks,
                                      std::vector<std::string>& warnings);

// The fstab for a layout.
std::string FstabText(const DiskLayout& layout);

}  // namespace kiln::stages
