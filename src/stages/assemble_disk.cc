#include "stages/assemble_disk.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <set>
#include <sstream>

#include "core/text.h"
#include "stages/grub.h"
#include "stages/tools.h"
#include "sys/files.h"
#include "sys/process.h"

namespace kiln::stages {
namespace fs = std::filesystem;

namespace {

constexpr uint64_t kMiB = 1024 * 1024;
constexpr uint64_t kSectorsPerMiB = kMiB / 512;

std::string EfiPlatform(Arch arch) { return arch == Arch::kX86_64 ? "x86_64-efi" : "i386-efi"; }
std::string EfiBootFile(Arch arch) {
  return arch == Arch::kX86_64 ? "BOOTX64.EFI" : "BOOTIA32.EFI";
}

engine::StageFailure Internal(const std::string& message) {
  return {engine::FailureClass::kInternal, "assemble-failed", "assemble: " + message,
          "see build.log"};
}

// A partition with its place on the disk, once the files' sizes are known.
struct Placed {
  const Partition* part;
  fs::path content;  // the directory its files come from ("" for none)
  uint64_t start_sector = 0;
  uint64_t size_mib = 0;
};

// Chooses each partition's size: the requested size, or what its files need when larger and
// the partition may grow. Fails when a fixed-size partition cannot hold its files.
bool SizePartition(Placed& p, engine::StageFailure& failure) {
  const Partition& part = *p.part;
  if (part.fs == FsKind::kBiosBoot || part.fs == FsKind::kSwap || part.fs == FsKind::kVfat) {
    p.size_mib = part.size_mib;
    if (part.fs == FsKind::kVfat && !p.content.empty()) {
      uint64_t need = BytesOnFilesystem(p.content) / kMiB + 8;
      if (need > part.size_mib) {
        failure = {engine::FailureClass::kInput, "partition-too-small",
                   "assemble: /boot/efi is " + std::to_string(part.size_mib) +
                       " MiB but its files need about " + std::to_string(need) + " MiB",
                   "raise part /boot/efi --size"};
        return false;
      }
    }
    return true;
  }
  // ext4: the files plus 15% for metadata and 16 MiB for the journal at least; a partition
  // that may grow also gets room to work in (30% and 256 MiB more).
  uint64_t files = BytesOnFilesystem(p.content);
  uint64_t need = (files + files * 15 / 100) / kMiB + 16;
  uint64_t roomy = (files + files * 3 / 10) / kMiB + 256;
  if (part.size_mib == 0 && !part.grow) {
    p.size_mib = need;
  } else if (part.grow) {
    p.size_mib = std::max(part.size_mib, roomy);
  } else {
    p.size_mib = part.size_mib;
  }
  if (part.grow && part.max_mib && p.size_mib > *part.max_mib) {
    p.size_mib = std::max(*part.max_mib, need);
  }
  if (p.size_mib < need) {
    failure = {engine::FailureClass::kInput, "partition-too-small",
               "assemble: partition " + part.mountpoint + " is " + std::to_string(part.size_mib) +
                   " MiB but its files need about " + std::to_string(need) + " MiB",
               "raise its --size or add --grow (kickstart line " + std::to_string(part.line) + ")"};
    return false;
  }
  if (part.max_mib && need > *part.max_mib) {
    failure = {engine::FailureClass::kInput, "partition-too-small",
               "assemble: partition " + part.mountpoint + " needs about " + std::to_string(need) +
                   " MiB, more than its --maxsize of " + std::to_string(*part.max_mib) + " MiB",
               "raise --maxsize (kickstart line " + std::to_string(part.line) + ")"};
    return false;
  }
  return true;
}

std::string SfdiskScript(const DiskLayout& layout, const std::vector<Placed>& placed) {
  std::ostringstream out;
  out << "label: gpt\nlabel-id: " << layout.disk_guid << "\nfirst-lba: 2048\n";
  for (const Placed& p : placed) {
    out << "start=" << p.start_sector << ", size=" << p.size_mib * kSectorsPerMiB
        << ", type=" << p.part->type_guid << ", uuid=" << p.part->part_uuid << ", name=\""
        << p.part->name << "\"\n";
  }
  return out.str();
}

// Moves the files of a mounted partition out of the root view into their own directory,
// leaving an empty mount point behind with the same mode.
bool SplitOut(const fs::path& tree, const std::string& mountpoint, const fs::path& dest,
              std::string& error) {
  fs::path src = tree / mountpoint.substr(1);
  std::error_code ec;
  if (!fs::exists(src, ec)) {
    fs::create_directories(src, ec);
    fs::create_directories(dest, ec);
    return !ec;
  }
  struct stat st {};
  if (lstat(src.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    error = mountpoint + " is not a directory in the image";
    return false;
  }
  fs::rename(src, dest, ec);
  if (ec || mkdir(src.c_str(), st.st_mode & 07777) != 0) {
    error = "moving " + mountpoint + " out of the root: " + ec.message();
    return false;
  }
  return true;
}

// mkfs.ext4 -d copies each file's access and change times from the tree, and those are the
// times of this build (the change time of a hard link is when it was made). For the same
// bytes from the same inputs, set every inode's atime and ctime to SOURCE_DATE_EPOCH and clamp
// later mtimes to it, with debugfs on the finished file system: one pass lists the inode of
// every entry, a second sets the times.
bool StabilizeInodeTimes(const engine::StageContext& ctx, const std::string& device,
                         const fs::path& tree, long long epoch, engine::StageFailure& failure) {
  std::vector<std::string> dirs = {"/"};
  std::set<std::string> newer;  // paths whose mtime is after the epoch
  std::error_code ec;
  struct stat st {};
  if (lstat(tree.c_str(), &st) == 0 && st.st_mtime > epoch) newer.insert("/");
  for (auto it = fs::recursive_directory_iterator(tree, ec);
       it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) break;
    std::string rel = "/" + it->path().lexically_relative(tree).string();  // no symlink resolving
    if (lstat(it->path().c_str(), &st) != 0) continue;
    if (st.st_mtime > epoch) newer.insert(rel);
    if (S_ISDIR(st.st_mode) && rel.find_first_of("\"\n") == std::string::npos) dirs.push_back(rel);
  }
  std::string list;
  for (const std::string& d : dirs) list += "ls -p \"" + d + "\"\n";
  fs::path list_file = ctx.scratch / "debugfs-ls.txt";
  sys::WriteFileAtomic(list_file, list);
  std::map<std::string, std::string> inode_of = {{"/", "2"}};
  std::string current;
  sys::RunOptions run;
  run.argv = {"debugfs", "-f", list_file.string(), device};
  run.env = {{"E2FSPROGS_FAKE_TIME", std::to_string(epoch)}};  // the superblock's write time
  run.cancel = ctx.cancel;
  run.timeout = std::chrono::minutes(10);
  run.on_line = [&](std::string_view line) {
    constexpr std::string_view kEcho = "debugfs: ls -p \"";
    if (line.substr(0, kEcho.size()) == kEcho) {
      current = std::string(line.substr(kEcho.size(), line.size() - kEcho.size() - 1));
      if (current.back() != '/') current += '/';
      return;
    }
    // "/inode/mode/uid/gid/name/size/"
    std::vector<std::string> f = SplitNonEmpty(line, '/');
    if (line.empty() || line[0] != '/' || f.size() < 5 || f[4] == "." || f[4] == "..") return;
    inode_of[current + f[4]] = f[0];
  };
  sys::RunResult r = sys::RunProcess(run);
  if (!r.ok() || inode_of.size() < 2) {
    failure = Internal("listing the file system's inodes: debugfs " + r.Describe());
    return false;
  }
  std::string e = "@" + std::to_string(epoch);
  std::string set;
  std::set<std::string> inodes;
  for (const auto& [path, ino] : inode_of) {
    if (inodes.insert(ino).second) {
      set += "sif <" + ino + "> atime " + e + "\nsif <" + ino + "> ctime " + e + "\n";
    }
  }
  for (const std::string& path : newer) {
    auto it = inode_of.find(path);
    if (it != inode_of.end()) set += "sif <" + it->second + "> mtime " + e + "\n";
  }
  fs::path set_file = ctx.scratch / "debugfs-set.txt";
  sys::WriteFileAtomic(set_file, set);
  ctx.reporter->Log("fixing the times of " + std::to_string(inodes.size()) + " inodes (" +
                    std::to_string(newer.size()) + " clamped to SOURCE_DATE_EPOCH)");
  size_t errors = 0;
  run.argv = {"debugfs", "-w", "-f", set_file.string(), device};
  run.on_line = [&](std::string_view line) {
    if (line.substr(0, 9) != "debugfs: " && line.substr(0, 8) != "debugfs ") ++errors;
  };
  r = sys::RunProcess(run);
  if (!r.ok() || errors > 0) {
    failure =
        Internal("setting inode times: debugfs " + r.Describe() + ", " + std::to_string(errors) +
                 " errors" + (r.tail.empty() ? "" : ": " + r.tail.back()));
    return false;
  }
  return true;
}

// Version-aware comparison of kernel file names ("6.1.0-9" < "6.1.0-10").
bool OlderVersion(const std::string& a, const std::string& b) {
  return strverscmp(a.c_str(), b.c_str()) < 0;
}

}  // namespace

bool FindKernel(const fs::path& root, KernelFiles& out) {
  std::vector<std::string> versions;
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(root / "boot", ec)) {
    std::string name = e.path().filename().string();
    if (!StartsWith(name, "vmlinuz-")) continue;
    std::string version = name.substr(8);
    if (fs::exists(root / "boot" / ("initrd.img-" + version))) versions.push_back(version);
  }
  if (versions.empty()) return false;
  std::sort(versions.begin(), versions.end(), OlderVersion);
  out.version = versions.back();
  out.kernel = "boot/vmlinuz-" + out.version;
  out.initrd = "boot/initrd.img-" + out.version;
  return true;
}

bool LinkTree(const fs::path& from, const fs::path& to, const engine::StageContext& ctx,
              engine::StageFailure& failure, const std::string& stage) {
  ToolRun link{{"cp", "-a", "--link", from.string(), to.string()}, {}, "linking the root", 30};
  engine::StageFailure ignored;
  if (RunTool(ctx, stage, link, ignored)) return true;
  std::error_code ec;
  fs::remove_all(to, ec);
  ToolRun copy{
      {"cp", "-a", "--reflink=auto", from.string(), to.string()}, {}, "copying the root", 30};
  return RunTool(ctx, stage, copy, failure);
}

engine::StageInputs DiskImageStage::Inputs() const {
  return {"assemble-disk",
          1,
          "",
          {{"file name", options_.file_name},
           {"layout", options_.layout.Describe()},
           {"arch", std::string(ToString(options_.arch))},
           {"menu title", options_.menu_title},
           {"SOURCE_DATE_EPOCH", std::to_string(options_.source_date_epoch)},
           {"grub", ToolVersion({"grub-mkimage", "--version"})},
           {"e2fsprogs", ToolVersion({"mkfs.ext4", "-V"})},
           {"dosfstools", ToolVersion({"mkfs.vfat", "--help"})},
           {"mtools", ToolVersion({"mcopy", "--version"})}}};
}

namespace {

// DiskImageStage::Run's steps, in the order they run; the members are what they share. Each
// step returns false with `failure_` filled (or, as before, left as the tool left it).
class DiskAssembler {
 public:
  DiskAssembler(const DiskImageOptions& options, const engine::StageContext& ctx,
                engine::StageFailure& failure)
      : options_(options),
        layout_(options.layout),
        ctx_(ctx),
        failure_(failure),
        epoch_(std::to_string(options.source_date_epoch)),
        env_({{"SOURCE_DATE_EPOCH", epoch_},
              {"E2FSPROGS_FAKE_TIME", epoch_},
              {"MTOOLS_SKIP_CHECK", "1"}}),
        boot_fs_(layout_.BootFs()),
        grub_dir_(&boot_fs_ != layout_.Find("/") ? "/grub" : "/boot/grub") {}

  bool Run() {
    uint64_t disk_bytes = 0;
    if (!PrepareTree() || !SplitPartitions() || !PlacePartitions(disk_bytes) ||
        !WritePartitionTable(disk_bytes) || !WriteFileSystems()) {
      return false;
    }
    ctx_.reporter->StageProgress(kStage, 0.95, "checking the partition table");
    return RunTool(ctx_, kStage,
                   {{"sfdisk", "--verify", image_.string()}, env_, "checking the disk"}, failure_);
  }

 private:
  static constexpr const char* kStage = "assemble";

  // 1. A hard-linked view of the root with the image's boot files added: its fstab and
  // GRUB's menu for the newest kernel.
  bool PrepareTree() {
    ctx_.reporter->StageProgress(kStage, 0.02, "preparing the root");
    tree_ = ctx_.scratch / "tree";
    if (!LinkTree(ctx_.input / "root", tree_, ctx_, failure_, kStage)) return false;
    KernelFiles kernel;
    if (!FindKernel(tree_, kernel)) {
      failure_ = {
          engine::FailureClass::kInput, "no-kernel",
          "assemble: the image has no kernel and initramfs in /boot",
          "do not exclude the kernel; kiln adds the arch's kernel when %packages lists none"};
      return false;
    }
    ctx_.reporter->Log("kernel " + kernel.version);
    const Partition& root = *layout_.Find("/");
    bool separate_boot = &boot_fs_ != &root;
    GrubMenuEntry entry;
    entry.title = options_.menu_title;
    if (separate_boot) {
      entry.kernel = "/" + kernel.kernel.substr(5);
      entry.initrd = "/" + kernel.initrd.substr(5);
    } else if (fs::is_symlink(tree_ / "vmlinuz") && fs::is_symlink(tree_ / "initrd.img")) {
      // Debian keeps these links on the newest kernel, so upgrades inside the image boot.
      entry.kernel = "/vmlinuz";
      entry.initrd = "/initrd.img";
    } else {
      entry.kernel = "/" + kernel.kernel;
      entry.initrd = "/" + kernel.initrd;
    }
    entry.cmdline = "root=UUID=" + root.fs_uuid + " ro " + layout_.kernel_append;
    std::string search = "search --no-floppy --fs-uuid --set=root " + boot_fs_.fs_uuid;
    std::error_code ec;
    fs::remove(tree_ / "etc/fstab", ec);
    sys::WriteFileAtomic(tree_ / "etc/fstab", FstabText(layout_));
    fs::create_directories(tree_ / "boot/grub");
    sys::WriteFileAtomic(tree_ / "boot/grub/grub.cfg", GrubMenu(search, layout_.timeout_s, entry));
    return true;
  }

  // 2. Each mounted partition's files in a directory of their own (deepest first, so /boot
  // keeps an empty /boot/efi mount point).
  bool SplitPartitions() {
    for (const Partition& p : layout_.partitions) placed_.push_back({&p, {}, 0, 0});
    std::vector<Placed*> by_depth;
    for (Placed& p : placed_) {
      if (!p.part->mountpoint.empty()) by_depth.push_back(&p);
    }
    std::sort(by_depth.begin(), by_depth.end(), [](const Placed* a, const Placed* b) {
      return a->part->mountpoint.size() > b->part->mountpoint.size();
    });
    for (Placed* p : by_depth) {
      if (p->part->mountpoint == "/") {
        p->content = tree_;
        continue;
      }
      p->content = ctx_.scratch / ("part-" + p->part->name);
      std::string error;
      if (!SplitOut(tree_, p->part->mountpoint, p->content, error)) {
        failure_ = Internal(error);
        return false;
      }
    }
    return true;
  }

  // 3. Sizes and places, 1 MiB aligned; `disk_bytes` leaves 1 MiB at the end for the backup
  // GPT.
  bool PlacePartitions(uint64_t& disk_bytes) {
    ctx_.reporter->StageProgress(kStage, 0.1, "sizing partitions");
    uint64_t next = kSectorsPerMiB;  // partitions start 1 MiB in, 1 MiB aligned
    for (Placed& p : placed_) {
      if (!SizePartition(p, failure_)) return false;
      p.start_sector = next;
      next += p.size_mib * kSectorsPerMiB;
      ctx_.reporter->Log("partition " + p.part->name + " " + std::string(ToString(p.part->fs)) +
                         " " + std::to_string(p.size_mib) + " MiB at sector " +
                         std::to_string(p.start_sector));
    }
    disk_bytes = (next + kSectorsPerMiB) * 512;  // 1 MiB at the end: the backup GPT
    return true;
  }

  // 4. The image file, emptied and sized, and its partition table.
  bool WritePartitionTable(uint64_t disk_bytes) {
    image_ = ctx_.output / options_.file_name;
    if (truncate(image_.c_str(), 0) != 0 && errno != ENOENT) {
      failure_ = Internal("cannot create " + image_.string());
      return false;
    }
    sys::WriteFileAtomic(image_, "");
    if (truncate(image_.c_str(), static_cast<off_t>(disk_bytes)) != 0) {
      failure_ = Internal("cannot size " + image_.string() + ": " + std::strerror(errno));
      return false;
    }
    fs::path script = ctx_.scratch / "sfdisk.txt";
    sys::WriteFileAtomic(script, SfdiskScript(layout_, placed_));
    return RunTool(ctx_, kStage,
                   {{"bash", "-c", "sfdisk -q --no-reread --no-tell-kernel \"$1\" < \"$2\"",
                     "sfdisk", image_.string(), script.string()},
                    env_,
                    "writing the partition table"},
                   failure_);
  }

  // 5. The file systems, in partition order. Both GRUB images start from the same early
  // configuration.
  bool WriteFileSystems() {
    early_config_ = ctx_.scratch / "early.cfg";
    sys::WriteFileAtomic(early_config_, GrubEarlyConfig(boot_fs_.fs_uuid, grub_dir_));
    double done = 0.15;
    for (const Placed& p : placed_) {
      const Partition& part = *p.part;
      std::string what = "writing partition " + part.name;
      ctx_.reporter->StageProgress(kStage, done, what);
      done += 0.7 / placed_.size();
      bool ok = true;
      if (part.fs == FsKind::kExt4 || part.fs == FsKind::kExt3 || part.fs == FsKind::kExt2) {
        ok = WriteExt(p, what);
      } else if (part.fs == FsKind::kVfat) {
        ok = WriteEsp(p);
      } else if (part.fs == FsKind::kSwap) {
        ok = WriteSwap(p);
      } else if (part.fs == FsKind::kBiosBoot) {
        ok = WriteBiosBoot(p);
      }
      if (!ok) return false;
    }
    return true;
  }

  // An ext2/3/4 file system made from the partition's files at its offset, with fixed inode
  // times, then checked.
  bool WriteExt(const Placed& p, const std::string& what) {
    const Partition& part = *p.part;
    uint64_t offset = p.start_sector * 512;
    std::string size_k = std::to_string(p.size_mib * 1024) + "k";
    std::vector<std::string> argv = {
        "mkfs." + std::string(ToString(part.fs)),
        "-q",
        "-F",
        "-U",
        part.fs_uuid,
        "-E",
        "offset=" + std::to_string(offset) + ",hash_seed=" + part.fs_uuid,
        "-d",
        p.content.string()};
    if (!part.label.empty()) argv.insert(argv.end(), {"-L", part.label});
    argv.insert(argv.end(), {image_.string(), size_k});
    if (!RunTool(ctx_, kStage, {argv, env_, what}, failure_)) return false;
    std::string device = image_.string() + "?offset=" + std::to_string(offset);
    return StabilizeInodeTimes(ctx_, device, p.content, options_.source_date_epoch, failure_) &&
           RunTool(ctx_, kStage, {{"e2fsck", "-f", "-n", device}, env_, "checking " + part.name},
                   failure_);
  }

  // The EFI system partition: made apart (GRUB's UEFI image and the image's own /boot/efi
  // files), then spliced into the disk at its offset.
  bool WriteEsp(const Placed& p) {
    const Partition& part = *p.part;
    fs::path esp = ctx_.scratch / "esp.img";
    fs::path efi = ctx_.scratch / EfiBootFile(options_.arch);
    std::string serial = part.fs_uuid.substr(0, 4) + part.fs_uuid.substr(5, 4);
    std::string label = part.label.empty() ? "EFI" : part.label;
    std::vector<std::string> mkimage =
        GrubMkimageCommand(EfiPlatform(options_.arch), efi, early_config_, grub_dir_);
    std::string i = "-i";
    if (!RunTool(ctx_, kStage, {mkimage, env_, "making GRUB's UEFI image"}, failure_) ||
        !RunTool(ctx_, kStage,
                 {{"mkfs.vfat", "-C", "--invariant", "-F", "32", "-i", serial, "-n", label,
                   esp.string(), std::to_string(p.size_mib * 1024)},
                  env_,
                  "making the EFI system partition"},
                 failure_) ||
        !RunTool(ctx_, kStage,
                 {{"mmd", i, esp.string(), "::/EFI", "::/EFI/BOOT"}, env_, "filling the ESP"},
                 failure_) ||
        !RunTool(
            ctx_, kStage,
            {{"mcopy", i, esp.string(), efi.string(), "::/EFI/BOOT/" + EfiBootFile(options_.arch)},
             env_,
             "filling the ESP"},
            failure_)) {
      return false;
    }
    // Whatever the image itself put under /boot/efi.
    std::error_code ec;
    for (const fs::directory_entry& e : fs::directory_iterator(p.content, ec)) {
      if (!RunTool(ctx_, kStage,
                   {{"mcopy", "-s", "-m", "-o", i, esp.string(), e.path().string(), "::/"},
                    env_,
                    "filling the ESP"},
                   failure_)) {
        return false;
      }
    }
    return Splice(esp, p.start_sector * 512);
  }

  // The swap area: made apart with mkswap, then spliced into the disk at its offset.
  bool WriteSwap(const Placed& p) {
    const Partition& part = *p.part;
    fs::path swap = ctx_.scratch / "swap.img";
    if (truncate(swap.c_str(), 0) != 0 && errno != ENOENT) return false;
    sys::WriteFileAtomic(swap, "");
    if (truncate(swap.c_str(), static_cast<off_t>(p.size_mib * kMiB)) != 0) {
      failure_ = Internal("cannot size the swap area");
      return false;
    }
    std::vector<std::string> argv = {"mkswap", "-U", part.fs_uuid};
    if (!part.label.empty()) argv.insert(argv.end(), {"-L", part.label});
    argv.push_back(swap.string());
    if (!RunTool(ctx_, kStage, {argv, env_, "making the swap area"}, failure_)) return false;
    return Splice(swap, p.start_sector * 512);
  }

  // GRUB's BIOS core image in the BIOS boot partition, and boot.img in the MBR pointing at it.
  bool WriteBiosBoot(const Placed& p) {
    fs::path core = ctx_.scratch / "core.img";
    std::vector<std::string> mkimage =
        GrubMkimageCommand("i386-pc", core, early_config_, grub_dir_);
    if (!RunTool(ctx_, kStage, {mkimage, env_, "making GRUB's BIOS core image"}, failure_)) {
      return false;
    }
    if (Status installed = InstallBiosBoot(image_, core, p.start_sector, p.size_mib * kMiB);
        !installed.ok()) {
      failure_ = Internal(installed.message());
      return false;
    }
    return true;
  }

  // Copies a file system made apart into the disk image at byte `offset`.
  bool Splice(const fs::path& from, uint64_t offset) {
    if (Status spliced = SpliceFile(from, image_, offset); !spliced.ok()) {
      failure_ = Internal(spliced.message());
      return false;
    }
    return true;
  }

  const DiskImageOptions& options_;
  const DiskLayout& layout_;
  const engine::StageContext& ctx_;
  engine::StageFailure& failure_;
  const std::string epoch_;
  const std::vector<std::pair<std::string, std::string>> env_;  // every tool's
  const Partition& boot_fs_;                                    // the partition holding /boot
  const std::string grub_dir_;                                  // GRUB's directory on boot_fs_
  fs::path tree_, image_, early_config_;
  std::vector<Placed> placed_;
};

}  // namespace

bool DiskImageStage::Run(const engine::StageContext& ctx, engine::StageFailure& failure) {
  return DiskAssembler(options_, ctx, failure).Run();
}

engine::StageInputs Qcow2ConvertStage::Inputs() const {
  return {"convert-qcow2",
          1,
          "",
          {{"raw", raw_name_},
           {"qcow2", qcow2_name_},
           {"qemu-img", ToolVersion({"qemu-img", "--version"})}}};
}

bool Qcow2ConvertStage::Run(const engine::StageContext& ctx, engine::StageFailure& failure) {
  ctx.reporter->StageProgress("convert", 0.05, "compressing to qcow2 (zstd)");
  return RunTool(
      ctx, "convert",
      {{"qemu-img", "convert", "-f", "raw", "-O", "qcow2", "-c", "-o", "compression_type=zstd",
        (ctx.input / raw_name_).string(), (ctx.output / qcow2_name_).string()},
       {},
       "converting to qcow2"},
      failure);
}

}  // namespace kiln::stages
