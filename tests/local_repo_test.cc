// The build pipeline against a tiny package repository this test makes itself (dpkg-deb,
// apt-ftparchive): the side repository for request .deb files, then real mmdebstrap runs
// (variant extract: the packages' files only, so no network and seconds, not minutes)
// through the executor and the stage cache — stage order, cache keys and hits, a rerun of
// only the changed stage, and a missing package failing with its name. Needs root.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "engine/executor.h"
#include "stages/assemble_tar.h"
#include "stages/bootstrap_deb.h"
#include "stages/side_repo.h"
#include "sys/files.h"
#include "sys/process.h"
#include "testing/recording_reporter.h"
#include "tool_output.h"

namespace kiln::stages {
namespace {
namespace fs = std::filesystem;

using kiln::testing::Output;

// Builds a .deb holding /usr/share/NAME/hello.txt, in `dir`.
fs::path MakeDeb(const fs::path& dir, const std::string& name, const std::string& version,
                 const std::string& arch, const std::string& depends = "") {
  fs::path tree = dir / ("src-" + name + "-" + arch);
  fs::remove_all(tree);
  sys::WriteFileAtomic(tree / "usr/share" / name / "hello.txt", name + " " + version + "\n");
  std::string control = "Package: " + name + "\nVersion: " + version + "\nArchitecture: " + arch +
                        "\nMaintainer: kiln tests <tests@kiln.invalid>\n" +
                        (depends.empty() ? "" : "Depends: " + depends + "\n") +
                        "Description: kiln test package\n a package made by a test\n";
  sys::WriteFileAtomic(tree / "DEBIAN/control", control);
  fs::path deb = dir / (name + "_" + version + "_" + arch + ".deb");
  Output({"dpkg-deb", "--root-owner-group", "-Zgzip", "--build", tree.string(), deb.string()});
  return deb;
}

using Events = testing::RecordingReporter;

class LocalRepoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "mmdebstrap --mode=root needs root";
    dir_ = fs::temp_directory_path() / ("kiln-local-repo-" + std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "debs");
    hello_ = MakeDeb(dir_ / "debs", "kiln-hello", "1.0", "all");
    tool_ = MakeDeb(dir_ / "debs", "kiln-tool", "2.1-1", "amd64", "kiln-hello");
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  PackageFile File(const fs::path& deb, const std::string& sha = "") {
    return {deb.filename().string(), deb.string(), sha};
  }

  // The bootstrap options for the side repository as the only package source.
  DebianBootstrapOptions Bootstrap(const SideRepository& side,
                                   const std::vector<std::string>& packages) {
    DebianBootstrapOptions o;
    o.suite = "bookworm";
    o.arch = "amd64";
    o.variant = "extract";
    o.mirror = side.repository.SourcesLine();
    o.mirror_state = side.repository.state;
    o.packages = packages;
    o.source_date_epoch = 1700000000;
    o.package_cache = dir_ / "cache/packages";
    o.network_attempts = 1;
    return o;
  }

  fs::path dir_, hello_, tool_;
};

TEST_F(LocalRepoTest, SideRepositoryIsContentAddressedAndChecksFiles) {
  Result<SideRepository> a =
      MakeSideRepository({File(hello_), File(tool_)}, "amd64", dir_ / "repos");
  ASSERT_TRUE(a.ok()) << a.message();
  EXPECT_EQ(a->packages, (std::vector<std::string>{"kiln-hello=1.0", "kiln-tool=2.1-1"}));
  EXPECT_EQ(a->repository.SourcesLine().substr(0, 26), "deb [trusted=yes] copy:///");
  EXPECT_TRUE(a->repository.build_only);
  std::string dir = a->repository.uri.substr(7);
  std::string packages = sys::ReadFileText(fs::path(dir) / "Packages");
  EXPECT_NE(packages.find("Package: kiln-tool"), std::string::npos) << packages;
  EXPECT_NE(packages.find("Depends: kiln-hello"), std::string::npos);
  Result<SideRepository> b =
      MakeSideRepository({File(hello_), File(tool_)}, "amd64", dir_ / "repos");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(a->repository.uri, b->repository.uri) << "the same files, the same repository";
  EXPECT_EQ(a->repository.state, b->repository.state);

  b = MakeSideRepository({File(hello_, std::string(64, '0'))}, "amd64", dir_ / "repos");
  EXPECT_FALSE(b.ok());
  EXPECT_NE(b.message().find("kiln-hello_1.0_all.deb: its SHA-256 is"), std::string::npos)
      << b.message();

  fs::path arm = MakeDeb(dir_ / "debs", "kiln-arm", "1", "arm64");
  b = MakeSideRepository({File(arm)}, "amd64", dir_ / "repos");
  EXPECT_FALSE(b.ok());
  EXPECT_NE(b.message().find("is for arm64, the image is amd64"), std::string::npos) << b.message();

  sys::WriteFileAtomic(dir_ / "debs/broken_1_all.deb", "not an archive");
  b = MakeSideRepository({File(dir_ / "debs/broken_1_all.deb")}, "amd64", dir_ / "repos");
  EXPECT_FALSE(b.ok());
  EXPECT_NE(b.message().find("broken_1_all.deb is not a Debian package"), std::string::npos)
      << b.message();

  b = MakeSideRepository({{"gone.deb", (dir_ / "gone.deb").string(), ""}}, "amd64", dir_ / "repos");
  EXPECT_FALSE(b.ok());
  EXPECT_NE(b.message().find("no such file"), std::string::npos) << b.message();
}

TEST_F(LocalRepoTest, PlanRunsInOrderHitsTheCacheAndRerunsOnlyWhatChanged) {
  Result<SideRepository> made =
      MakeSideRepository({File(hello_), File(tool_)}, "amd64", dir_ / "repos");
  ASSERT_TRUE(made.ok()) << made.message();
  const SideRepository& side = *made;
  engine::StageCache cache(dir_ / "cache/stages", 0);

  auto plan = [&](const std::string& tar_name) {
    std::vector<std::unique_ptr<engine::Stage>> stages;
    stages.push_back(std::make_unique<DebianBootstrapStage>(Bootstrap(side, {"kiln-tool"})));
    stages.push_back(std::make_unique<TarImageStage>(tar_name, 1700000000));
    return stages;
  };

  Events first;
  engine::PlanResult r1 = engine::RunPlan(plan("image.tar.zst"), cache, first);
  ASSERT_TRUE(r1.ok) << r1.failure.message << "\n"
                     << [&] {
                          std::string all;
                          for (const std::string& l : first.log) all += l + "\n";
                          return all;
                        }();
  ASSERT_EQ(first.started.size(), 2u);
  EXPECT_EQ(first.started[0].substr(0, 10), "bootstrap:");
  EXPECT_EQ(first.started[1].substr(0, 9), "assemble:");
  EXPECT_EQ(first.finished, (std::vector<std::string>{"bootstrap built", "assemble built"}));
  // The dependency came along from the side repository.
  fs::path root = r1.outputs[0] / "root";
  EXPECT_EQ(sys::ReadFileText(root / "usr/share/kiln-tool/hello.txt"), "kiln-tool 2.1-1\n");
  EXPECT_EQ(sys::ReadFileText(root / "usr/share/kiln-hello/hello.txt"), "kiln-hello 1.0\n");
  std::string listing = Output({"tar", "--zstd", "-tf", (r1.output / "image.tar.zst").string()});
  EXPECT_NE(listing.find("./usr/share/kiln-tool/hello.txt"), std::string::npos) << listing;

  Events again;
  engine::PlanResult r2 = engine::RunPlan(plan("image.tar.zst"), cache, again);
  ASSERT_TRUE(r2.ok);
  EXPECT_EQ(again.finished,
            (std::vector<std::string>{"bootstrap cache hit", "assemble cache hit"}));
  EXPECT_EQ(r1.keys, r2.keys);

  Events renamed;
  engine::PlanResult r3 = engine::RunPlan(plan("other.tar.zst"), cache, renamed);
  ASSERT_TRUE(r3.ok);
  EXPECT_EQ(renamed.finished, (std::vector<std::string>{"bootstrap cache hit", "assemble built"}));
  EXPECT_EQ(renamed.started[1], "assemble: miss because file name changed");
  EXPECT_EQ(r3.keys[0], r1.keys[0]);
  EXPECT_NE(r3.keys[1], r1.keys[1]);
}

TEST_F(LocalRepoTest, AMissingPackageFailsNamingIt) {
  Result<SideRepository> made = MakeSideRepository({File(hello_)}, "amd64", dir_ / "repos");
  ASSERT_TRUE(made.ok()) << made.message();
  const SideRepository& side = *made;
  engine::StageCache cache(dir_ / "cache/stages", 0);
  std::vector<std::unique_ptr<engine::Stage>> stages;
  stages.push_back(
      std::make_unique<DebianBootstrapStage>(Bootstrap(side, {"kiln-hello", "kiln-nonesuch"})));
  Events events;
  engine::PlanResult r = engine::RunPlan(stages, cache, events);
  ASSERT_FALSE(r.ok);
  EXPECT_EQ(r.failed_stage, "bootstrap");
  EXPECT_EQ(r.failure.code, "package-not-found");
  EXPECT_EQ(r.failure.cls, engine::FailureClass::kInput);
  EXPECT_NE(r.failure.message.find("kiln-nonesuch"), std::string::npos) << r.failure.message;
  EXPECT_TRUE(cache.Entries().empty()) << "nothing half-built is kept";
}

}  // namespace
}  // namespace kiln::stages
