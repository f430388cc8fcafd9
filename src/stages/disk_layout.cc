#include "stages/disk_layout.h"

#include <algorithm>
#include <cctype>
#include <sstream>

#include "core/sha256.h"
#include "spec/typed_commands.h"

namespace kiln::stages {
namespace {

// GPT partition types (the Discoverable Partitions Specification's where one exists).
constexpr const char* kBiosBootType = "21686148-6E6F-744E-6565-6446494E6F6E";
constexpr const char* kEspType = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B";
constexpr const char* kRootX86_64Type = "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709";
constexpr const char* kRootX86Type = "44479540-F297-41B2-9AF7-D131D5F0458A";
constexpr const char* kXbootldrType = "BC13C2FF-59E6-4262-A352-B275FD6F7172";
constexpr const char* kHomeType = "933AC7E1-2EB4-4F13-B844-0E14E2AEF915";
constexpr const char* kVarType = "4D21B016-B534-45C2-A9FB-5C16E091FD2D";
constexpr const char* kSwapType = "0657FD6D-A4AB-43C4-84E5-0933C84B4F4F";
constexpr const char* kLinuxDataType = "0FC63DAF-8483-4772-8E79-3D69D8477DE4";

constexpr uint64_t kDefaultEspMib = 128;

std::string TypeGuid(const Partition& p, Arch arch) {
  if (p.fs == FsKind::kBiosBoot) return kBiosBootType;
  if (p.fs == FsKind::kSwap) return kSwapType;
  if (p.mountpoint == "/boot/efi") return kEspType;
  if (p.mountpoint == "/") return arch == Arch::kX86_64 ? kRootX86_64Type : kRootX86Type;
  if (p.mountpoint == "/boot") return kXbootldrType;
  if (p.mountpoint == "/home") return kHomeType;
  if (p.mountpoint == "/var") return kVarType;
  return kLinuxDataType;
}

std::string GptName(const Partition& p) {
  if (p.fs == FsKind::kBiosBoot) return "bios";
  if (p.fs == FsKind::kSwap) return "swap";
  if (p.mountpoint == "/boot/efi") return "esp";
  if (p.mountpoint == "/") return "root";
  std::string name = p.mountpoint.substr(1);
  std::replace(name.begin(), name.end(), '/', '-');
  return name;
}

std::string Where(int line) { return "kickstart line " + std::to_string(line); }

// A kickstart part line as a Partition, or an error.
bool FromPart(const spec::PartData& d, Partition& p, std::vector<std::string>& warnings,
              std::string& error) {
  std::string where = Where(d.line) + ": part " + d.mountpoint;
  p.line = d.line;
  p.label = d.label;
  p.fsoptions = d.fsoptions;
  p.grow = d.grow;
  if (d.size) {
    if (*d.size <= 0) {
      error = where + ": --size must be a positive number of MiB";
      return false;
    }
    p.size_mib = static_cast<uint64_t>(*d.size);
  }
  if (d.maxsize && *d.maxsize > 0) p.max_mib = static_cast<uint64_t>(*d.maxsize);
  if (d.encrypted) {
    error = where + ": --encrypted is not supported in images (the key would be baked in)";
    return false;
  }
  if (d.noformat) {
    error = where + ": --noformat has no meaning for a new image; remove it";
    return false;
  }
  if (!d.ondisk.empty()) warnings.push_back(where + ": --ondisk ignored: an image has one disk");
  if (d.recommended) warnings.push_back(where + ": --recommended ignored; give --size");

  const std::string& mp = d.mountpoint;
  std::string fstype = d.fstype;
  std::transform(fstype.begin(), fstype.end(), fstype.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  if (mp == "swap" || fstype == "swap") {
    p.fs = FsKind::kSwap;
    if (p.size_mib == 0) {
      error = where + ": swap needs --size (MiB)";
      return false;
    }
    return true;
  }
  if (mp == "biosboot" || fstype == "biosboot") {
    p.fs = FsKind::kBiosBoot;
    return true;
  }
  if (mp.empty() || mp[0] != '/' || mp.find("..") != std::string::npos ||
      (mp.size() > 1 && mp.back() == '/')) {
    error = where + ": the mount point must be an absolute path such as / or /home";
    return false;
  }
  if (mp == "/boot/efi" || fstype == "efi" || fstype == "vfat") {
    if (mp != "/boot/efi") {
      error = where + ": a vfat/efi partition is only built for /boot/efi";
      return false;
    }
    p.fs = FsKind::kVfat;
    p.mountpoint = mp;
    return true;
  }
  p.mountpoint = mp;
  if (fstype.empty() || fstype == "ext4") {
    p.fs = FsKind::kExt4;
  } else if (fstype == "ext3") {
    p.fs = FsKind::kExt3;
  } else if (fstype == "ext2") {
    p.fs = FsKind::kExt2;
  } else {
    error = where + ": --fstype=" + d.fstype +
            " cannot be built without mounting; kiln builds ext4, ext3, ext2, efi and swap "
            "(write --fstype=ext4)";
    return false;
  }
  return true;
}

std::string VfatSerial(std::string_view seed) {
  std::string hex = Sha256Hex(std::string(seed) + "\nvfat-serial");
  std::string up;
  for (char c : hex.substr(0, 8)) up += static_cast<char>(std::toupper(c));
  return up.substr(0, 4) + "-" + up.substr(4, 4);
}

}  // namespace

std::string_view ToString(FsKind fs) {
  switch (fs) {
    case FsKind::kExt4:
      return "ext4";
    case FsKind::kExt3:
      return "ext3";
    case FsKind::kExt2:
      return "ext2";
    case FsKind::kVfat:
      return "vfat";
    case FsKind::kSwap:
      return "swap";
    case FsKind::kBiosBoot:
      return "biosboot";
  }
  return "?";
}

std::string DerivedUuid(std::string_view seed, std::string_view what) {
  std::string hex = Sha256Hex(std::string(seed) + "\n" + std::string(what));
  hex[12] = '4';                                                    // version 4 layout
  hex[16] = "89ab"[std::stoi(hex.substr(16, 1), nullptr, 16) & 3];  // RFC 4122 variant
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20, 12);
}

const Partition* DiskLayout::Find(std::string_view mountpoint) const {
  for (const Partition& p : partitions) {
    if (p.mountpoint == mountpoint) return &p;
  }
  return nullptr;
}

const Partition& DiskLayout::BootFs() const {
  const Partition* boot = Find("/boot");
  return boot != nullptr ? *boot : *Find("/");
}

std::string DiskLayout::Describe() const {
  std::ostringstream out;
  out << "disk " << disk_guid << "; append " << kernel_append << "; timeout " << timeout_s;
  for (const Partition& p : partitions) {
    out << "\n"
        << p.name << " " << (p.mountpoint.empty() ? "-" : p.mountpoint) << " " << ToString(p.fs)
        << " size=" << p.size_mib << (p.grow ? " grow" : "")
        << (p.max_mib ? " max=" + std::to_string(*p.max_mib) : "") << " label=" << p.label
        << " options=" << p.fsoptions << " type=" << p.type_guid << " part=" << p.part_uuid
        << " fs=" << p.fs_uuid;
  }
  return out.str();
}

namespace {

// The autopart line's checks: it excludes part lines and encryption; other types are warned
// about, since kiln builds them as plain ext4 partitions.
Status CheckAutopart(const std::optional<spec::AutopartData>& autopart, bool has_parts,
                     std::vector<std::string>& warnings) {
  if (autopart && has_parts) {
    return Status::Error("kickstart: autopart and part lines cannot be combined; keep one");
  }
  if (autopart) {
    if (autopart->encrypted) {
      return Status::Error("kickstart: autopart --encrypted is not supported in images");
    }
    if (!autopart->type.empty() && autopart->type != "plain") {
      warnings.push_back("autopart --type=" + autopart->type +
                         " is built as plain partitions (ext4 root)");
    }
    if (!autopart->fstype.empty() && autopart->fstype != "ext4") {
      warnings.push_back("autopart --fstype=" + autopart->fstype + " is built as ext4");
    }
  }
  return Status::Ok();
}

// The part lines as Partitions, in kickstart order; fails on a bad line or a second
// partition for the same mount point (or a second biosboot).
Result<std::vector<Partition>> AskedPartitions(const std::vector<spec::PartData>& parts,
                                               std::vector<std::string>& warnings) {
  std::vector<Partition> asked;
  std::string error;
  for (const spec::PartData& d : parts) {
    Partition p;
    if (!FromPart(d, p, warnings, error)) return Status::Error(error);
    for (const Partition& q : asked) {
      bool same = (!p.mountpoint.empty() && p.mountpoint == q.mountpoint) ||
                  (p.fs == FsKind::kBiosBoot && q.fs == FsKind::kBiosBoot);
      if (same) {
        return Status::Error(Where(d.line) + ": a second partition for " +
                             (p.mountpoint.empty() ? "biosboot" : p.mountpoint) + " (first at " +
                             Where(q.line) + ")");
      }
    }
    asked.push_back(p);
  }
  return asked;
}

// Fails on storage commands a disk image cannot have (LVM, RAID, btrfs); warns that a
// clearpart disk label other than GPT is ignored.
Status CheckStorageCommands(const spec::Kickstart& ks, std::vector<std::string>& warnings) {
  for (const char* unsupported : {"logvol", "volgroup", "raid", "btrfs"}) {
    for (const spec::CommandEntry& e : ks.commands) {
      if (e.spec->name == unsupported) {
        int line = e.items.empty() ? e.merged.where.line : e.items.front().where.line;
        return Status::Error(Where(line) + ": " + unsupported +
                             " is not supported in disk images; use part lines (plain partitions)");
      }
    }
  }
  if (std::optional<spec::ClearpartData> clear = spec::ReadClearpart(ks)) {
    if (!clear->disklabel.empty() && clear->disklabel != "gpt") {
      warnings.push_back("clearpart --disklabel=" + clear->disklabel +
                         " ignored: kiln writes a GPT disk, which boots from BIOS and UEFI");
    }
  }
  return Status::Ok();
}

// The disk's partitions in order: BIOS boot and ESP first (from the kickstart when it has
// them), then the rest as asked, with a growing / added when no part line was given.
Result<std::vector<Partition>> OrderedPartitions(const std::vector<Partition>& asked,
                                                 bool has_parts) {
  Partition bios;
  bios.fs = FsKind::kBiosBoot;
  bios.size_mib = 1;
  Partition esp;
  esp.fs = FsKind::kVfat;
  esp.mountpoint = "/boot/efi";
  esp.size_mib = kDefaultEspMib;
  esp.fsoptions = "umask=0077";
  std::vector<Partition> rest;
  for (const Partition& p : asked) {
    if (p.fs == FsKind::kBiosBoot) {
      bios.size_mib = std::max<uint64_t>(1, p.size_mib);
      bios.line = p.line;
    } else if (p.mountpoint == "/boot/efi") {
      esp.size_mib = p.size_mib == 0 ? kDefaultEspMib : p.size_mib;
      esp.line = p.line;
      if (!p.label.empty()) esp.label = p.label;
      if (!p.fsoptions.empty()) esp.fsoptions = p.fsoptions;
    } else {
      rest.push_back(p);
    }
  }
  if (esp.size_mib < 33) {
    return Status::Error(Where(esp.line) +
                         ": part /boot/efi needs --size of at least 33 (MiB) for FAT32");
  }
  bool has_root =
      std::any_of(rest.begin(), rest.end(), [](const Partition& p) { return p.mountpoint == "/"; });
  if (!has_root) {
    if (has_parts) {
      return Status::Error(
          "kickstart: the part lines have no / partition; add `part / --fstype=ext4 --grow`");
    }
    Partition root;
    root.mountpoint = "/";
    root.grow = true;
    rest.insert(rest.begin(), root);
  }
  std::vector<Partition> ordered = {bios, esp};
  for (const Partition& p : rest) ordered.push_back(p);
  return ordered;
}

// Fills the GPT types and names and the UUIDs, all derived from `seed`: the same spec, the
// same identifiers.
void AssignIdentities(DiskLayout& out, Arch arch, std::string_view seed) {
  out.disk_guid = DerivedUuid(seed, "disk");
  for (Partition& p : out.partitions) {
    p.type_guid = TypeGuid(p, arch);
    p.name = GptName(p);
    p.part_uuid = DerivedUuid(seed, "partition " + p.name);
    if (p.fs == FsKind::kVfat) {
      p.fs_uuid = VfatSerial(seed);
    } else if (p.fs != FsKind::kBiosBoot) {
      p.fs_uuid = DerivedUuid(seed, "filesystem " + p.name);
    }
  }
}

}  // namespace

Result<DiskLayout> PlanDiskLayout(const spec::Kickstart& ks, Arch arch, std::string_view seed,
                                  std::vector<std::string>& warnings) {
  std::vector<spec::PartData> parts = spec::ReadParts(ks);
  if (Status s = CheckAutopart(spec::ReadAutopart(ks), !parts.empty(), warnings); !s.ok()) {
    return s;
  }
  Result<std::vector<Partition>> asked = AskedPartitions(parts, warnings);
  if (!asked.ok()) return asked.status();
  if (Status s = CheckStorageCommands(ks, warnings); !s.ok()) return s;
  Result<std::vector<Partition>> ordered = OrderedPartitions(*asked, !parts.empty());
  if (!ordered.ok()) return ordered.status();

  DiskLayout out;
  out.partitions = std::move(*ordered);
  AssignIdentities(out, arch, seed);
  Result<BootSettings> boot = ReadBootSettings(ks, warnings);
  if (!boot.ok()) return boot.status();
  out.kernel_append = boot->kernel_append;
  out.timeout_s = boot->timeout_s;
  return out;
}

Result<BootSettings> ReadBootSettings(const spec::Kickstart& ks,
                                      std::vector<std::string>& warnings) {
  BootSettings out;
  std::optional<spec::BootloaderData> boot = spec::ReadBootloader(ks);
  if (!boot) return out;
  if (!boot->append.empty()) out.kernel_append = boot->append;
  if (boot->timeout) out.timeout_s = static_cast<int>(std::max(0ll, *boot->timeout));
  if (boot->location == "none") {
    return Status::Error(
        "kickstart: bootloader --location=none leaves the image unbootable; remove it");
  }
  if (!boot->password.empty()) {
    warnings.push_back("bootloader --password ignored: kiln's GRUB menu has no password");
  }
  return out;
}

std::string FstabText(const DiskLayout& layout) {
  std::ostringstream out;
  out << "# Written by kiln: file systems by UUID.\n"
         "# <file system>  <mount point>  <type>  <options>  <dump>  <pass>\n";
  // "/" first, then the others in mount order (parents before children).
  std::vector<const Partition*> mounts;
  for (const Partition& p : layout.partitions) {
    if (!p.mountpoint.empty()) mounts.push_back(&p);
  }
  std::stable_sort(mounts.begin(), mounts.end(), [](const Partition* a, const Partition* b) {
    return a->mountpoint.size() < b->mountpoint.size();
  });
  for (const Partition* p : mounts) {
    bool root = p->mountpoint == "/";
    std::string options = p->fsoptions;
    if (options.empty()) options = root ? "errors=remount-ro" : "defaults";
    out << "UUID=" << p->fs_uuid << "  " << p->mountpoint << "  " << ToString(p->fs) << "  "
        << options << "  0  " << (root ? 1 : 2) << "\n";
  }
  for (const Partition& p : layout.partitions) {
    if (p.fs == FsKind::kSwap) out << "UUID=" << p.fs_uuid << "  none  swap  sw  0  0\n";
  }
  return out.str();
}

}  // namespace kiln::stages
