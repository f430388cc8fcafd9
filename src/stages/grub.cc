#include "stages/grub.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstring>

#include "sys/files.h"

namespace kiln::stages {
namespace fs = std::filesystem;

namespace {

// Offsets from GRUB's include/grub/i386/pc/boot.h and util/setup.c.
constexpr size_t kSector = 512;
constexpr size_t kKernelSectorOffset = 0x5c;       // boot.img: LBA of core.img's first sector
constexpr size_t kDriveCheckOffset = 0x66;         // boot.img: a jump to skip for hard disks
constexpr size_t kMbrCodeBytes = 440;              // boot code before the disk signature
constexpr size_t kBlocklistOffset = kSector - 12;  // diskboot.img: {u64 start, u16 len, u16 seg}

void PutLe64(std::string& buf, size_t at, uint64_t v) {
  for (int i = 0; i < 8; ++i) buf[at + i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

bool WriteAt(int fd, const char* data, size_t len, uint64_t offset) {
  return pwrite(fd, data, len, static_cast<off_t>(offset)) == static_cast<ssize_t>(len);
}

}  // namespace

std::vector<std::string> GrubModules(const std::string& platform) {
  std::vector<std::string> mods = {
      "part_gpt",     "part_msdos", "ext2",   "fat",       "iso9660", "search", "search_fs_uuid",
      "search_label", "configfile", "normal", "linux",     "boot",    "echo",   "test",
      "serial",       "terminal",   "gzio",   "all_video", "reboot",  "halt"};
  if (platform == "i386-pc") mods.push_back("biosdisk");
  return mods;
}

std::vector<std::string> GrubMkimageCommand(const std::string& platform, const fs::path& out,
                                            const fs::path& early_config,
                                            const std::string& grub_dir) {
  std::vector<std::string> argv = {"grub-mkimage",        "-O", platform, "-o", out.string(), "-c",
                                   early_config.string(), "-p", grub_dir};
  for (const std::string& m : GrubModules(platform)) argv.push_back(m);
  return argv;
}

fs::path GrubPlatformDir(const std::string& platform) {
  return fs::path("/usr/lib/grub") / platform;
}

std::string GrubEarlyConfig(const std::string& boot_fs_uuid, const std::string& grub_dir) {
  return "search --no-floppy --fs-uuid --set=root " + boot_fs_uuid +
         "\n"
         "set prefix=($root)" +
         grub_dir +
         "\n"
         "configfile $prefix/grub.cfg\n";
}

std::string GrubMenu(const std::string& search, int timeout_s, const GrubMenuEntry& entry) {
  return "# Written by kiln.\n"
         "set default=0\n"
         "set timeout=" +
         std::to_string(timeout_s) +
         "\n"
         "serial --unit=0 --speed=115200\n"
         "terminal_input console serial\n"
         "terminal_output console serial\n"
         "menuentry '" +
         entry.title + "' {\n\t" + search + "\n\tlinux " + entry.kernel + " " + entry.cmdline +
         "\n\tinitrd " + entry.initrd + "\n}\n";
}

Status InstallBiosBoot(const fs::path& image, const fs::path& core_img, uint64_t core_sector,
                       uint64_t max_bytes) {
  std::string boot = sys::ReadFileText(GrubPlatformDir("i386-pc") / "boot.img");
  std::string core = sys::ReadFileText(core_img);
  if (boot.size() != kSector) {
    return Status::Error("GRUB's boot.img is missing or not 512 bytes (install grub-pc-bin)");
  }
  if (core.size() < kSector) {
    return Status::Error("grub-mkimage wrote no core image");
  }
  if (core.size() > max_bytes) {
    return Status::Error("GRUB's core image (" + std::to_string(core.size()) +
                         " bytes) does not fit the BIOS boot partition");
  }
  PutLe64(boot, kKernelSectorOffset, core_sector);
  boot[kDriveCheckOffset] = static_cast<char>(0x90);  // nop nop: trust the BIOS's drive number
  boot[kDriveCheckOffset + 1] = static_cast<char>(0x90);
  // diskboot.img loads the rest of core.img; grub-mkimage filled in its length.
  PutLe64(core, kBlocklistOffset, core_sector + 1);
  int fd = open(image.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    return Status::Error("cannot open " + image.string() + ": " + std::strerror(errno));
  }
  std::string error;
  bool ok = WriteAt(fd, boot.data(), kMbrCodeBytes, 0) &&
            WriteAt(fd, core.data(), core.size(), core_sector * kSector);
  if (!ok) error = "writing the boot code: " + std::string(std::strerror(errno));
  if (close(fd) != 0 && ok) {
    error = "writing the boot code: " + std::string(std::strerror(errno));
    ok = false;
  }
  return ok ? Status::Ok() : Status::Error(error);
}

}  // namespace kiln::stages
