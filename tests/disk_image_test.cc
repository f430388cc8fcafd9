// Disk images without the network: the partition plan read from kickstarts, and the assemble
// stage run for real (sfdisk, mkfs.ext4 -d, mkfs.vfat + mtools, grub-mkimage, debugfs,
// e2fsck) on a small tree with a stand-in kernel, checked by reading the image back.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "core/sha256.h"
#include "spec/kickstart_loader.h"
#include "spec/kickstart_parser.h"
#include "stages/assemble_disk.h"
#include "stages/disk_layout.h"
#include "stages/grub.h"
#include "sys/files.h"
#include "sys/process.h"
#include "testing/recording_reporter.h"
#include "tool_output.h"

namespace kiln::stages {
namespace {
namespace fs = std::filesystem;

spec::Kickstart Parse(const std::string& text) {
  spec::MemoryResolver none;
  spec::ParseResult r = spec::ParseKickstartText(text, "ks.cfg", none);
  EXPECT_TRUE(r.ok()) << text;
  return r.kickstart;
}

bool Plan(const std::string& text, DiskLayout& layout, std::string& error,
          Arch arch = Arch::kX86_64) {
  std::vector<std::string> warnings;
  Result<DiskLayout> planned = PlanDiskLayout(Parse(text), arch, "seed", warnings);
  if (!planned.ok()) {
    error = planned.message();
    return false;
  }
  layout = *planned;
  return true;
}

TEST(DiskLayoutTest, DefaultIsBiosBootEspAndAGrowingRoot) {
  DiskLayout layout;
  std::string error;
  ASSERT_TRUE(Plan("lang en_US.UTF-8\n", layout, error)) << error;
  ASSERT_EQ(layout.partitions.size(), 3u);
  EXPECT_EQ(layout.partitions[0].fs, FsKind::kBiosBoot);
  EXPECT_EQ(layout.partitions[0].type_guid, "21686148-6E6F-744E-6565-6446494E6F6E");
  EXPECT_EQ(layout.partitions[1].mountpoint, "/boot/efi");
  EXPECT_EQ(layout.partitions[1].fs, FsKind::kVfat);
  EXPECT_EQ(layout.partitions[1].size_mib, 128u);
  EXPECT_EQ(layout.partitions[2].mountpoint, "/");
  EXPECT_TRUE(layout.partitions[2].grow);
  EXPECT_EQ(layout.partitions[2].type_guid, "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709");
  EXPECT_EQ(layout.kernel_append, "console=tty0 console=ttyS0,115200");
}

TEST(DiskLayoutTest, PartLinesInOrderWithSizesAndBootloader) {
  DiskLayout layout;
  std::string error;
  ASSERT_TRUE(
      Plan("bootloader --timeout=2 --append=\"console=ttyS0 quiet\"\n"
           "part /boot --fstype=ext4 --size=300\n"
           "part / --size=2048 --grow --label=root\n"
           "part swap --size=256\n"
           "part /home --fstype ext3 --size=100 --fsoptions=noatime\n",
           layout, error, Arch::kI686))
      << error;
  ASSERT_EQ(layout.partitions.size(), 6u);
  EXPECT_EQ(layout.partitions[2].mountpoint, "/boot");
  EXPECT_EQ(layout.partitions[2].size_mib, 300u);
  EXPECT_EQ(layout.partitions[3].label, "root");
  EXPECT_EQ(layout.partitions[3].type_guid, "44479540-F297-41B2-9AF7-D131D5F0458A")
      << "i686 root uses the x86 root type";
  EXPECT_EQ(layout.partitions[4].fs, FsKind::kSwap);
  EXPECT_EQ(layout.partitions[5].fs, FsKind::kExt3);
  EXPECT_EQ(layout.BootFs().mountpoint, "/boot");
  EXPECT_EQ(layout.timeout_s, 2);
  EXPECT_EQ(layout.kernel_append, "console=ttyS0 quiet");

  std::string fstab = FstabText(layout);
  EXPECT_NE(fstab.find("UUID=" + layout.partitions[3].fs_uuid + "  /  ext4  errors=remount-ro"),
            std::string::npos)
      << fstab;
  EXPECT_NE(fstab.find("  /home  ext3  noatime  0  2"), std::string::npos) << fstab;
  EXPECT_NE(fstab.find("UUID=" + layout.partitions[4].fs_uuid + "  none  swap"), std::string::npos);
  EXPECT_NE(fstab.find("UUID=" + layout.partitions[1].fs_uuid + "  /boot/efi  vfat  umask=0077"),
            std::string::npos);
  EXPECT_LT(fstab.find("  /  "), fstab.find("  /boot  ")) << "parents are mounted first";
}

TEST(DiskLayoutTest, UuidsAreFixedBySeed) {
  std::vector<std::string> warnings;
  spec::Kickstart ks = Parse("part / --grow\n");
  Result<DiskLayout> a = PlanDiskLayout(ks, Arch::kX86_64, "spec-1", warnings);
  Result<DiskLayout> b = PlanDiskLayout(ks, Arch::kX86_64, "spec-1", warnings);
  Result<DiskLayout> c = PlanDiskLayout(ks, Arch::kX86_64, "spec-2", warnings);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(a->Describe(), b->Describe());
  EXPECT_NE(a->partitions[2].fs_uuid, c->partitions[2].fs_uuid);
  const std::string& uuid = a->partitions[2].fs_uuid;
  ASSERT_EQ(uuid.size(), 36u);
  EXPECT_EQ(uuid[14], '4') << "version 4 layout";
  EXPECT_NE(std::string("89ab").find(uuid[19]), std::string::npos) << "RFC 4122 variant";
  EXPECT_EQ(a->partitions[1].fs_uuid.size(), 9u) << "vfat serial XXXX-XXXX";
}

TEST(DiskLayoutTest, ImpossibleRequestsAreErrorsNamingTheLine) {
  struct Case {
    const char* ks;
    const char* expect;
  } cases[] = {
      {"part / --fstype=xfs --size=100\n", "kickstart line 1: part /: --fstype=xfs"},
      {"part / --size=100\npart / --size=200\n", "a second partition for /"},
      {"part /home --size=100\n", "no / partition"},
      {"part / --size=100 --encrypted\n", "--encrypted"},
      {"part swap\n", "swap needs --size"},
      {"part /boot/efi --fstype=efi --size=8\npart / --grow\n", "at least 33"},
      {"part / --grow\nvolgroup vg pv.01\n", "volgroup is not supported"},
      {"part / --grow\nbootloader --location=none\n", "unbootable"},
  };
  for (const Case& c : cases) {
    DiskLayout layout;
    std::string error;
    EXPECT_FALSE(Plan(c.ks, layout, error)) << c.ks;
    EXPECT_NE(error.find(c.expect), std::string::npos) << c.ks << " -> " << error;
  }
}

TEST(DiskLayoutTest, UnusedDetailsAreWarnings) {
  std::vector<std::string> warnings;
  Result<DiskLayout> layout = PlanDiskLayout(Parse("clearpart --all --initlabel --disklabel=msdos\n"
                                                   "autopart --type=lvm\n"),
                                             Arch::kX86_64, "s", warnings);
  ASSERT_TRUE(layout.ok()) << layout.message();
  ASSERT_EQ(warnings.size(), 2u);
  EXPECT_NE(warnings[0].find("plain partitions"), std::string::npos);
  EXPECT_NE(warnings[1].find("GPT"), std::string::npos);
}

std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

using kiln::testing::Output;

class DiskImageStageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("kiln-disk-test-" + std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::path root = dir_ / "in/root";
    for (const char* d : {"boot", "etc", "home/alice", "usr/bin", "var/log"}) {
      fs::create_directories(root / d);
    }
    // A stand-in kernel: the stage only needs the files to exist.
    sys::WriteFileAtomic(root / "boot/vmlinuz-6.1.0-9-amd64", "old kernel");
    sys::WriteFileAtomic(root / "boot/initrd.img-6.1.0-9-amd64", "old initrd");
    sys::WriteFileAtomic(root / "boot/vmlinuz-6.1.0-10-amd64", "kernel");
    sys::WriteFileAtomic(root / "boot/initrd.img-6.1.0-10-amd64", "initrd");
    fs::create_symlink("boot/vmlinuz-6.1.0-10-amd64", root / "vmlinuz");
    fs::create_symlink("boot/initrd.img-6.1.0-10-amd64", root / "initrd.img");
    // Links that lead nowhere on the build host, as in a real root's /dev.
    fs::create_directories(root / "dev");
    fs::create_symlink("/proc/self/fd/2", root / "dev/stderr");
    fs::create_symlink("/nonexistent/target", root / "etc/dangling");
    sys::WriteFileAtomic(root / "etc/fstab", "# placeholder\n");
    sys::WriteFileAtomic(root / "etc/hostname", "box\n");
    sys::WriteFileAtomic(root / "home/alice/notes.txt", std::string(100000, 'n'));
    sys::WriteFileAtomic(root / "usr/bin/tool", std::string(300000, 't'), 0755);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Runs the stage into out-N and returns the image path.
  fs::path Assemble(const DiskLayout& layout, int n, engine::StageFailure& failure, bool& ok) {
    DiskImageOptions o;
    o.file_name = "disk.raw";
    o.layout = layout;
    o.menu_title = "kiln test";
    o.source_date_epoch = 1700000000;
    DiskImageStage stage(o);
    engine::StageContext ctx;
    ctx.input = dir_ / "in";
    ctx.output = dir_ / ("out-" + std::to_string(n));
    ctx.scratch = dir_ / ("scratch-" + std::to_string(n));
    fs::create_directories(ctx.output);
    fs::create_directories(ctx.scratch);
    ctx.reporter = &log_;
    ok = stage.Run(ctx, failure);
    return ctx.output / "disk.raw";
  }

  fs::path dir_;
  testing::RecordingReporter log_;
};

TEST_F(DiskImageStageTest, WritesABootableGptDiskThatReadsBack) {
  DiskLayout layout;
  std::string error;
  ASSERT_TRUE(
      Plan("bootloader --append=\"console=ttyS0\"\n"
           "part / --size=64 --grow\npart /home --size=40\npart swap --size=8\n",
           layout, error))
      << error;
  engine::StageFailure failure;
  bool ok = false;
  fs::path image = Assemble(layout, 1, failure, ok);
  ASSERT_TRUE(ok) << failure.message;

  // The partition table, with kiln's fixed UUIDs.
  std::string table = Output({"sfdisk", "--dump", image.string()});
  EXPECT_NE(table.find("label: gpt"), std::string::npos) << table;
  EXPECT_NE(table.find("label-id: " + Upper(layout.disk_guid)), std::string::npos) << table;
  for (const Partition& p : layout.partitions) {
    EXPECT_NE(table.find("uuid=" + Upper(p.part_uuid)), std::string::npos) << p.name;
  }
  // BIOS: boot.img in the MBR points at the core image at sector 2048; the signature stays.
  std::string mbr = sys::ReadFileText(image).substr(0, 512);
  EXPECT_EQ(static_cast<unsigned char>(mbr[510]), 0x55);
  EXPECT_EQ(static_cast<unsigned char>(mbr[511]), 0xAA);
  uint64_t core_sector = 0;
  for (int i = 7; i >= 0; --i)
    core_sector = core_sector << 8 | static_cast<unsigned char>(mbr[0x5c + i]);
  EXPECT_EQ(core_sector, 2048u);
  std::string boot = sys::ReadFileText(GrubPlatformDir("i386-pc") / "boot.img");
  EXPECT_EQ(mbr.substr(0, 0x5c), boot.substr(0, 0x5c)) << "the MBR code is GRUB's boot.img";
  EXPECT_EQ(mbr.substr(0x68, 440 - 0x68), boot.substr(0x68, 440 - 0x68));

  // UEFI: GRUB on the ESP.
  std::string esp = image.string() + "@@" + std::to_string(2 * 1024 * 1024);
  std::string listing = Output({"mdir", "-i", esp, "::/EFI/BOOT"});
  EXPECT_NE(listing.find("BOOTX64  EFI"), std::string::npos) << listing;

  // The root file system: fstab by UUID, grub.cfg naming the kernel, /home split off.
  uint64_t root_offset = (1 + 1 + 128) * 1024 * 1024ull;
  std::string root_dev = image.string() + "?offset=" + std::to_string(root_offset);
  std::string fstab = Output({"debugfs", "-R", "cat /etc/fstab", root_dev});
  EXPECT_NE(fstab.find("UUID=" + layout.Find("/")->fs_uuid + "  /  ext4"), std::string::npos)
      << fstab;
  EXPECT_NE(fstab.find("  /home  ext4"), std::string::npos);
  std::string grub = Output({"debugfs", "-R", "cat /boot/grub/grub.cfg", root_dev});
  EXPECT_NE(
      grub.find("linux /vmlinuz root=UUID=" + layout.Find("/")->fs_uuid + " ro console=ttyS0"),
      std::string::npos)
      << grub;
  EXPECT_NE(grub.find("menuentry 'kiln test'"), std::string::npos);
  std::string home = Output({"debugfs", "-R", "ls -p /home", root_dev});
  EXPECT_EQ(home.find("alice"), std::string::npos) << "/home's files live on /home";
  std::string stat = Output({"debugfs", "-R", "stat /etc/hostname", root_dev});
  EXPECT_NE(stat.find("ctime: 0x6553f100"), std::string::npos) << "times are SOURCE_DATE_EPOCH";
  EXPECT_NE(stat.find("mtime: 0x6553f100"), std::string::npos) << stat;

  // The cached input was not touched: its fstab is still the placeholder.
  EXPECT_EQ(sys::ReadFileText(dir_ / "in/root/etc/fstab"), "# placeholder\n");
  EXPECT_TRUE(fs::exists(dir_ / "in/root/home/alice/notes.txt"));
}

TEST_F(DiskImageStageTest, SameInputsGiveTheSameBytes) {
  DiskLayout layout;
  std::string error;
  ASSERT_TRUE(Plan("part / --grow\n", layout, error)) << error;
  engine::StageFailure failure;
  bool ok1 = false, ok2 = false;
  fs::path a = Assemble(layout, 1, failure, ok1);
  sleep(1);  // a later clock must not show in the image
  fs::path b = Assemble(layout, 2, failure, ok2);
  ASSERT_TRUE(ok1 && ok2) << failure.message;
  std::string sha_a, sha_b;
  ASSERT_TRUE(sys::Sha256File(a, sha_a));
  ASSERT_TRUE(sys::Sha256File(b, sha_b));
  EXPECT_EQ(sha_a, sha_b);
}

TEST_F(DiskImageStageTest, AFixedPartitionTooSmallForItsFilesFails) {
  DiskLayout layout;
  std::string error;
  ASSERT_TRUE(Plan("part / --size=64\npart /home --size=1\n", layout, error)) << error;
  engine::StageFailure failure;
  bool ok = true;
  Assemble(layout, 1, failure, ok);
  ASSERT_FALSE(ok);
  EXPECT_EQ(failure.code, "partition-too-small");
  EXPECT_NE(failure.message.find("/home is 1 MiB"), std::string::npos) << failure.message;
  EXPECT_NE(failure.hint.find("kickstart line 2"), std::string::npos) << failure.hint;
}

TEST_F(DiskImageStageTest, NoKernelIsAnInputError) {
  fs::remove(dir_ / "in/root/boot/initrd.img-6.1.0-10-amd64");
  fs::remove(dir_ / "in/root/boot/initrd.img-6.1.0-9-amd64");
  DiskLayout layout;
  std::string error;
  ASSERT_TRUE(Plan("", layout, error)) << error;
  engine::StageFailure failure;
  bool ok = true;
  Assemble(layout, 1, failure, ok);
  ASSERT_FALSE(ok);
  EXPECT_EQ(failure.code, "no-kernel");
  EXPECT_EQ(failure.cls, engine::FailureClass::kInput);
}

TEST(FindKernelTest, PicksTheNewestVersion) {
  fs::path root = fs::temp_directory_path() / ("kiln-kernel-" + std::to_string(getpid()));
  fs::remove_all(root);
  for (const char* v : {"6.1.0-9-amd64", "6.1.0-10-amd64", "5.10.0-30-amd64"}) {
    sys::WriteFileAtomic(root / "boot" / (std::string("vmlinuz-") + v), "k");
    sys::WriteFileAtomic(root / "boot" / (std::string("initrd.img-") + v), "i");
  }
  KernelFiles k;
  ASSERT_TRUE(FindKernel(root, k));
  EXPECT_EQ(k.version, "6.1.0-10-amd64");
  EXPECT_EQ(k.initrd, "boot/initrd.img-6.1.0-10-amd64");
  fs::remove_all(root);
}

}  // namespace
}  // namespace kiln::stages
