// Bootable images (label slow): `kiln build` of qcow2, raw and live images against Debian's
// mirror, each started with `kiln boot-test` in QEMU until its login prompt. As root. The
// cache directory is the one the tar build tests use, so downloads are shared.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "shell.h"

namespace {

namespace fs = std::filesystem;

using kiln::testing::ReadFile;
using kiln::testing::RunResult;
using kiln::testing::Sh;

const fs::path kWork = kiln::testing::kBuildWork;
const fs::path kCache = kiln::testing::kBuildCache;
const std::string kKiln = KILN_BINARY;

const char* kServer = kiln::testing::kServerKickstart;

class BootImageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "kiln build needs root; run the slow tests as root";
    if (Sh("command -v qemu-system-x86_64 && command -v mmdebstrap").exit_code != 0) {
      GTEST_SKIP() << "qemu or mmdebstrap missing (scripts/install-deps.sh test installs them)";
    }
    fs::create_directories(kWork);
  }

  RunResult Build(const std::string& ks_text, const std::string& out, const std::string& flags) {
    fs::remove_all(kWork / out);
    return kiln::testing::KilnBuild(kKiln, ks_text, out, flags);
  }

  // Boots and expects a login prompt; returns the command's output.
  std::string Boot(const fs::path& image, const std::string& flags) {
    RunResult r = Sh(kKiln + " boot-test " + image.string() + " --timeout 400 " + flags);
    EXPECT_EQ(r.exit_code, 0) << r.out;
    EXPECT_NE(r.out.find("login prompt after"), std::string::npos) << r.out;
    return r.out;
  }
};

// A .deb the test makes, sent with the request: it reaches the image through the side
// repository.
fs::path MakeDeb() {
  fs::path tree = kWork / "deb-src";
  fs::remove_all(tree);
  fs::create_directories(tree / "DEBIAN");
  fs::create_directories(tree / "usr/share/kiln-hello");
  std::ofstream(tree / "usr/share/kiln-hello/hello.txt") << "hello from a side package\n";
  std::ofstream(tree / "DEBIAN/control")
      << "Package: kiln-hello\nVersion: 1.0\nArchitecture: all\n"
         "Maintainer: kiln tests <tests@kiln.invalid>\nDepends: jq\n"
         "Description: kiln test package\n made by a test\n";
  fs::path deb = kWork / "kiln-hello_1.0_all.deb";
  Sh("dpkg-deb --root-owner-group --build " + tree.string() + " " + deb.string());
  return deb;
}

// The byte offset of a partition of a disk image (from sfdisk's JSON dump).
uint64_t PartitionOffset(const fs::path& raw, const std::string& name) {
  auto table = nlohmann::json::parse(Sh("sfdisk --json " + raw.string()).out);
  for (const auto& p : table["partitiontable"]["partitions"]) {
    if (p.value("name", "") == name) return p["start"].get<uint64_t>() * 512;
  }
  return 0;
}

TEST_F(BootImageTest, Qcow2X86_64BootsWithBiosAndUefi) {
  fs::path deb = MakeDeb();
  RunResult r = Build(kServer, "qcow2", "--type qcow2 --package " + deb.string());
  ASSERT_EQ(r.exit_code, 0) << r.out;
  fs::path dir = kWork / "qcow2";
  fs::path image = dir / "kiln-bookworm-qcow2-x86_64.qcow2";
  ASSERT_TRUE(fs::exists(image));
  EXPECT_EQ(Sh("cd " + dir.string() + " && sha256sum -c SHA256SUMS").exit_code, 0);
  RunResult info = Sh("qemu-img info --output=json " + image.string());
  auto qinfo = nlohmann::json::parse(info.out);
  EXPECT_EQ(qinfo["format"], "qcow2");
  EXPECT_EQ(qinfo["format-specific"]["data"]["compression-type"], "zstd");
  EXPECT_EQ(Sh("qemu-img check " + image.string()).exit_code, 0);

  // The side package and its dependency are installed; the manifest says so.
  auto manifest = nlohmann::json::parse(ReadFile(dir / "manifest.json"));
  std::set<std::string> names;
  for (const auto& p : manifest["packages"]) names.insert(p["name"].get<std::string>());
  for (const char* want : {"kiln-hello", "jq", "linux-image-amd64", "systemd-sysv"}) {
    EXPECT_EQ(names.count(want), 1u) << want;
  }
  auto provenance = nlohmann::json::parse(ReadFile(dir / "provenance.json"));
  EXPECT_NE(provenance["tools"]["grub"].get<std::string>().find("GRUB"), std::string::npos);
  EXPECT_NE(provenance["tools"]["qemu-img"].get<std::string>().find("qemu-img"), std::string::npos);

  // Read the root file system back: fstab by UUID, no trace of the side repository.
  fs::path raw = kWork / "qcow2-check.raw";
  ASSERT_EQ(Sh("qemu-img convert -O raw " + image.string() + " " + raw.string()).exit_code, 0);
  std::string root = raw.string() + "?offset=" + std::to_string(PartitionOffset(raw, "root"));
  std::string fstab = Sh("debugfs -R 'cat /etc/fstab' '" + root + "'").out;
  EXPECT_NE(fstab.find("UUID="), std::string::npos) << fstab;
  EXPECT_NE(fstab.find("/boot/efi  vfat"), std::string::npos) << fstab;
  std::string sources = Sh("debugfs -R 'cat /etc/apt/sources.list' '" + root + "'").out;
  EXPECT_NE(sources.find("deb.debian.org"), std::string::npos) << sources;
  EXPECT_EQ(sources.find("copy://"), std::string::npos) << sources;
  std::string hello = Sh("debugfs -R 'cat /usr/share/kiln-hello/hello.txt' '" + root + "'").out;
  EXPECT_NE(hello.find("hello from a side package"), std::string::npos) << hello;
  fs::remove(raw);

  // BIOS with the automatic accelerator choice (KVM hangs on these hosts: TCG takes over),
  // then UEFI.
  std::string bios = Boot(image, "");
  EXPECT_TRUE(bios.find("(tcg, BIOS)") != std::string::npos ||
              bios.find("(kvm, BIOS)") != std::string::npos)
      << bios;
  std::string console = ReadFile(image.string() + ".console.log");
  EXPECT_NE(console.find("GNU GRUB"), std::string::npos);
  EXPECT_NE(console.find("kiln-boot login:"), std::string::npos) << "the kickstart's hostname";
  std::string uefi = Boot(image, "--uefi --accel tcg");
  EXPECT_NE(uefi.find("(tcg, UEFI)"), std::string::npos) << uefi;
}

TEST_F(BootImageTest, RawI686BootsWithBiosAndReassemblesToTheSameBytes) {
  if (!kiln::testing::HostRunsI386()) {
    GTEST_SKIP() << "this host cannot run i386 programs (arch-test i386 fails), so it builds no "
                    "i686 image (BuildTest.TrixieForI686 checks the error it gives)";
  }
  RunResult r = Build(kServer, "raw-i686", "--type raw --arch i686");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  fs::path dir = kWork / "raw-i686";
  fs::path image = dir / "kiln-bookworm-raw-i686.raw";
  ASSERT_TRUE(fs::exists(image));
  auto manifest = nlohmann::json::parse(ReadFile(dir / "manifest.json"));
  bool kernel = false;
  for (const auto& p : manifest["packages"]) kernel = kernel || p["name"] == "linux-image-686";
  EXPECT_TRUE(kernel) << "the i686 kernel was added";
  std::string table = Sh("sfdisk --dump " + image.string()).out;
  EXPECT_NE(table.find("type=44479540-F297-41B2-9AF7-D131D5F0458A"), std::string::npos)
      << "x86 root partition type\n"
      << table;

  // The assemble stage again, from the same root: the same bytes.
  std::string key = manifest["stages"].back()["key"];
  fs::remove_all(kCache / "stages" / "stages" / key);
  RunResult again = Build(kServer, "raw-i686-again", "--type raw --arch i686");
  ASSERT_EQ(again.exit_code, 0) << again.out;
  EXPECT_NE(again.out.find("assemble: miss because its last result was evicted"), std::string::npos)
      << again.out;
  EXPECT_EQ(ReadFile(dir / "SHA256SUMS"), ReadFile(kWork / "raw-i686-again" / "SHA256SUMS"));

  std::string bios = Boot(image, "--accel tcg");
  EXPECT_NE(bios.find("(tcg, BIOS)"), std::string::npos) << bios;
}

TEST_F(BootImageTest, LiveX86_64BootsAsCdWithBiosAndUefi) {
  RunResult r = Build(
      "lang C\nrootpw --plaintext kiln\nbootloader --append=\"console=ttyS0,115200\"\n"
      "%packages --excludedocs\nless\n%end\n",
      "live", "--type live --label KILN_TEST_LIVE --title \"kiln test live\"");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  fs::path dir = kWork / "live";
  fs::path image = dir / "kiln-bookworm-live-x86_64.iso";
  ASSERT_TRUE(fs::exists(image));
  std::string toc = Sh("xorriso -indev " + image.string() + " -pvd_info").out;
  EXPECT_NE(toc.find("Volume Id    : KILN_TEST_LIVE"), std::string::npos) << toc;
  fs::path cfg = kWork / "live-grub.cfg";
  fs::remove(cfg);
  Sh("xorriso -osirrox on -indev " + image.string() + " -extract /boot/grub/grub.cfg " +
     cfg.string());
  std::string grub = ReadFile(cfg);
  EXPECT_NE(grub.find("menuentry 'kiln test live'"), std::string::npos) << grub;
  EXPECT_NE(grub.find("boot=live console=ttyS0,115200"), std::string::npos) << grub;
  RunResult listing = Sh("xorriso -indev " + image.string() + " -ls /live");
  EXPECT_NE(listing.out.find("filesystem.squashfs"), std::string::npos) << listing.out;

  std::string bios = Boot(image, "--accel tcg");
  EXPECT_NE(bios.find("(tcg, BIOS)"), std::string::npos);
  std::string uefi = Boot(image, "--uefi --accel tcg");
  EXPECT_NE(uefi.find("(tcg, UEFI)"), std::string::npos);
}

TEST_F(BootImageTest, BootTestFailsClearlyWithoutALoginPrompt) {
  // A disk with no boot code: QEMU finds nothing to boot and the test must say so in time.
  fs::path blank = kWork / "blank.raw";
  Sh("truncate -s 16M " + blank.string());
  RunResult r = Sh(kKiln + " boot-test " + blank.string() + " --timeout 15 --accel tcg");
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("no login prompt within 15 s"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("console log:"), std::string::npos) << r.out;
  fs::remove(blank);
}

}  // namespace
