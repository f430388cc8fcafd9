// BuildSpec from a kickstart + request fields, from the seed's imagebuild.conf, and from JSON.
#include "spec/spec_builder.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "spec/kickstart_parser.h"
#include "test_util.h"

namespace kiln::spec {
namespace {

namespace fs = std::filesystem;
using testing::AllMessages;
using testing::HasMessage;

const std::string kExamples = std::string(KILN_SOURCE_DIR) + "/examples/";
const std::string kSharedExamples = std::string(KILN_SHARED_DIR) + "/examples/";

TEST(SpecBuilderTest, KickstartWithRequestFields) {
  RequestFields f;
  f.type = "qcow2";
  f.arch = "amd64";
  f.release = "Trixie";
  f.extra_packages = {"htop", "jq=1.6-2.1"};
  FileResolver files;
  Diagnostics diags;
  auto spec = SpecFromKickstart(kExamples + "debian-minimal.ks", f, files, diags);
  ASSERT_TRUE(spec) << AllMessages(diags);
  EXPECT_EQ(spec->type, ImageType::kQcow2);
  EXPECT_EQ(spec->arch, Arch::kX86_64);
  EXPECT_EQ(spec->release, "trixie");
  EXPECT_EQ(spec->kickstart_name, "debian-minimal.ks");
  ASSERT_EQ(spec->extra_packages.size(), 2u);
  EXPECT_EQ(spec->extra_packages[1].version, "1.6-2.1");
  // The kickstart travels flattened: no %include left, commands canonical.
  EXPECT_NE(spec->kickstart.find("\nrootpw --plaintext kiln\n"), std::string::npos)
      << spec->kickstart;
  EXPECT_NE(spec->name.find("trixie"), std::string::npos);
}

TEST(SpecBuilderTest, ProjectImagebuildConfs) {
  struct Case {
    const char* file;
    ImageType type;
    Arch arch;
    const char* release;
    size_t ignored;
  };
  const Case cases[] = {
      {"live_imagebuild.conf", ImageType::kLive, Arch::kX86_64, "bookworm", 3},
      {"qcow2_imagebuild.conf", ImageType::kQcow2, Arch::kI686, "bookworm", 0},
      {"dvd_imagebuild.conf", ImageType::kDvd, Arch::kX86_64, "trixie", 9},
      {"boot_imagebuild.conf", ImageType::kBoot, Arch::kX86_64, "bookworm", 4},
  };
  for (const Case& c : cases) {
    FileResolver files;
    Diagnostics diags;
    auto spec = SpecFromImagebuildConf(kExamples + c.file, {}, files, diags);
    ASSERT_TRUE(spec) << c.file << "\n" << AllMessages(diags);
    EXPECT_EQ(spec->type, c.type) << c.file;
    EXPECT_EQ(spec->arch, c.arch) << c.file;
    EXPECT_EQ(spec->release, c.release) << c.file;
    EXPECT_EQ(spec->ignored.size(), c.ignored) << c.file;
    EXPECT_EQ(spec->notify.email, std::vector<std::string>{"builder@example.org"}) << c.file;
  }
}

TEST(SpecBuilderTest, LiveConfDetails) {
  FileResolver files;
  Diagnostics diags;
  auto spec = SpecFromImagebuildConf(kExamples + "live_imagebuild.conf", {}, files, diags);
  ASSERT_TRUE(spec) << AllMessages(diags);
  EXPECT_EQ(spec->label, "KilnLive");
  EXPECT_EQ(spec->title, "Kiln Live");
  EXPECT_EQ(spec->staging, std::vector<std::string>{"file:///srv/kiln/staging"});
  EXPECT_EQ(spec->kickstart_name, "debian-live.ks");
  // config= is relative to the .conf file, and its %include to the kickstart.
  EXPECT_NE(spec->kickstart.find("timezone Europe/Paris"), std::string::npos) << spec->kickstart;
  EXPECT_NE(spec->kickstart.find("%post --nochroot"), std::string::npos);
  EXPECT_EQ(spec->ignored,
            (std::vector<std::string>{"live.cachedir", "live.logfile", "live.tmpdir"}));
}

TEST(SpecBuilderTest, QcowConfPinsPackages) {
  FileResolver files;
  Diagnostics diags;
  auto spec = SpecFromImagebuildConf(kExamples + "qcow2_imagebuild.conf", {}, files, diags);
  ASSERT_TRUE(spec) << AllMessages(diags);
  ASSERT_EQ(spec->extra_packages.size(), 2u);
  EXPECT_EQ(spec->extra_packages[0], (ExtraPackage{"jq", ""}));
  EXPECT_EQ(spec->extra_packages[1], (ExtraPackage{"htop", "3.2.2-2"}));
  EXPECT_EQ(spec->name, "kiln-server");
}

TEST(SpecBuilderTest, SeedExamplesFromShared) {
  if (!fs::exists(kSharedExamples)) GTEST_SKIP() << kSharedExamples << " is absent";
  for (const char* name : {"live_imagebuild.conf", "raw_imagebuild.conf", "dvd_imagebuild.conf",
                           "boot_imagebuild.conf"}) {
    FileResolver files;
    Diagnostics diags;
    auto spec = SpecFromImagebuildConf(kSharedExamples + name, {}, files, diags);
    EXPECT_TRUE(spec) << name << "\n" << AllMessages(diags);
  }
  FileResolver files;
  Diagnostics diags;
  auto raw = SpecFromImagebuildConf(kSharedExamples + "raw_imagebuild.conf", {}, files, diags);
  ASSERT_TRUE(raw);
  EXPECT_EQ(raw->arch, Arch::kI686);
  EXPECT_EQ(raw->extra_packages.size(), 2u);
}

// The seed's own files say staging=localhost or staging=10.0.0.27: anonymous FTP to that host,
// into pub/ (its transfer.py). Such a value is that URL, and a warning says so.
TEST(SpecBuilderTest, TheSeedsBareStagingHostIsAnonymousFtpIntoPub) {
  MemoryResolver files;
  files.Add("x.ks", "lang C\n%packages\njq\n%end\n");
  Diagnostics diags;
  auto spec = SpecFromImagebuildConfText(
      "[DEFAULT]\ntype=tar\narch=x86_64\nrelease=bookworm\n"
      "staging=localhost;10.0.0.27:2121;ftp.example.org;file:///srv/stage\n[tar]\nconfig=x.ks\n",
      "seed.conf", {}, files, diags);
  ASSERT_TRUE(spec) << AllMessages(diags);
  EXPECT_EQ(spec->staging,
            (std::vector<std::string>{"ftp://localhost/pub/", "ftp://10.0.0.27:2121/pub/",
                                      "ftp://ftp.example.org/pub/", "file:///srv/stage"}));
  EXPECT_TRUE(HasMessage(diags, Severity::kWarning,
                         "staging: 'localhost' is the seed's spelling of ftp://localhost/pub/"))
      << AllMessages(diags);

  for (const char* bad : {"not a host", "host:99999", "host:", "..", "-x.example.org"}) {
    Diagnostics refused;
    auto none = SpecFromImagebuildConfText(
        "[DEFAULT]\ntype=tar\narch=x86_64\nrelease=bookworm\nstaging=" + std::string(bad) +
            "\n[tar]\nconfig=x.ks\n",
        "seed.conf", {}, files, refused);
    EXPECT_FALSE(none) << bad;
    EXPECT_TRUE(HasMessage(refused, Severity::kError, "staging:")) << bad << AllMessages(refused);
  }
}

TEST(SpecBuilderTest, ConfErrorsAreAllReported) {
  MemoryResolver files;
  files.Add("x.ks", "lang C\nbogus\n");
  Diagnostics diags;
  auto spec = SpecFromImagebuildConfText(
      "[DEFAULT]\ntype=live\narch=sparc\nrelease=bookworm\n[live]\nlabl=x\nnvr=Bad!\nbid=123\n"
      "config=x.ks\n",
      "req.conf", {}, files, diags);
  EXPECT_FALSE(spec);
  EXPECT_TRUE(HasMessage(diags, Severity::kError, "req.conf:3: arch: unknown architecture 'sparc'"))
      << AllMessages(diags);
  EXPECT_TRUE(HasMessage(diags, Severity::kError,
                         "req.conf:6: unknown key 'labl' in [live] (did you mean label?)"))
      << AllMessages(diags);
  EXPECT_TRUE(HasMessage(diags, Severity::kError, "req.conf:7: nvr:")) << AllMessages(diags);
  EXPECT_TRUE(HasMessage(diags, Severity::kError, "Koji")) << AllMessages(diags);
  EXPECT_TRUE(HasMessage(diags, Severity::kError, "x.ks:2: Unknown command: bogus"))
      << AllMessages(diags);
}

TEST(SpecBuilderTest, MissingTypeSection) {
  MemoryResolver files;
  Diagnostics diags;
  auto spec = SpecFromImagebuildConfText("[DEFAULT]\ntype=raw\n", "r.conf", {}, files, diags);
  EXPECT_FALSE(spec);
  EXPECT_TRUE(HasMessage(diags, Severity::kError, "no [raw] section"));
}

TEST(SpecBuilderTest, PartitionSizesAreChecked) {
  MemoryResolver files;
  Diagnostics diags;
  RequestFields f;
  f.type = "raw";
  auto spec = SpecFromKickstartText("part /home --size=3000000\npart /var --size=0\n", "ks.cfg", f,
                                    files, diags);
  EXPECT_FALSE(spec);
  EXPECT_TRUE(HasMessage(diags, Severity::kError, "2 TiB")) << AllMessages(diags);
  EXPECT_TRUE(HasMessage(diags, Severity::kError, "no root file system")) << AllMessages(diags);
  EXPECT_TRUE(HasMessage(diags, Severity::kError, "--size must be a positive"))
      << AllMessages(diags);
}

TEST(SpecBuilderTest, FromJsonRequest) {
  FileResolver files;
  Diagnostics diags;
  std::string json = R"({"type": "tar", "arch": "i386", "release": "12",
                         "kickstart": "lang C\n%packages\nvim\n%end\n",
                         "extra_packages": ["htop"]})";
  auto spec = SpecFromJson(json, "request.json", files, diags);
  ASSERT_TRUE(spec) << AllMessages(diags);
  EXPECT_EQ(spec->release, "bookworm") << "a version number names its release";
  diags = {};
  json = R"({"type": "tar", "arch": "i386", "release": "bookworm",
             "kickstart": "lang C\n%packages\nvim\n%end\n", "extra_packages": ["htop"]})";
  spec = SpecFromJson(json, "request.json", files, diags);
  ASSERT_TRUE(spec) << AllMessages(diags);
  EXPECT_EQ(spec->arch, Arch::kI686);
  EXPECT_NE(spec->kickstart.find("%packages\nvim\n"), std::string::npos);
  diags = {};
  EXPECT_FALSE(SpecFromJson(R"({"kickstart": "lang\n"})", "r.json", files, diags));
  EXPECT_TRUE(HasMessage(diags, Severity::kError, "r.json#kickstart:1:")) << AllMessages(diags);
  diags = {};
  EXPECT_FALSE(SpecFromJson("{not json", "r.json", files, diags));
}

TEST(SpecBuilderTest, LooksLikeIni) {
  EXPECT_TRUE(LooksLikeIni("# c\n\n[DEFAULT]\n"));
  EXPECT_FALSE(LooksLikeIni("lang C\n"));
}

}  // namespace
}  // namespace kiln::spec
