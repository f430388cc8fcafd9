// Stage pieces that need no network or root: mirror discovery, failure classification,
// the bootstrap command line.
#include <gtest/gtest.h>

#include <algorithm>

#include "stages/bootstrap_deb.h"
#include "stages/debian_mirror.h"

namespace kiln::stages {
namespace {

bool Has(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

TEST(DebianMirrorTest, FromDeb822Sources) {
  const char* text =
      "Types: deb\n# snapshot comment\nURIs: http://deb.debian.org/debian-security\n"
      "Suites: bookworm-security\n\n"
      "Types: deb-src deb\nURIs: http://mirror.example.org/debian\nSuites: bookworm\n";
  EXPECT_EQ(MirrorFromDeb822(text), "http://mirror.example.org/debian");
  EXPECT_EQ(MirrorFromDeb822("Types: deb-src\nURIs: http://x/debian\n"), "");
}

TEST(DebianMirrorTest, FromSourcesList) {
  EXPECT_EQ(
      MirrorFromSourcesList("# c\ndeb [signed-by=/k.gpg] https://m.example/debian bookworm main\n"),
      "https://m.example/debian");
  EXPECT_EQ(MirrorFromSourcesList("deb http://security.debian.org/ bookworm-security main\n"), "");
}

TEST(DebianMirrorTest, ReleaseDate) {
  EXPECT_EQ(ReleaseDate("Origin: Debian\nDate: Sat, 10 May 2025 09:13:27 UTC\n"), 1746868407);
  EXPECT_EQ(ReleaseDate("Origin: Debian\n"), 0);
}

TEST(ExtraRepositoryTest, SourcesLineFromBaseurl) {
  Result<ExtraRepository> r = ParseRepository(
      "backports", "http://deb.debian.org/debian bookworm-backports main contrib", "bookworm");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->SourcesLine(), "deb http://deb.debian.org/debian bookworm-backports main contrib");
  r = ParseRepository("plain", "https://repo.example.org/debian", "trixie");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->SourcesLine(), "deb https://repo.example.org/debian trixie main")
      << "suite defaults to the release, components to main";
  r = ParseRepository("bad", "mirror.example.org/debian", "bookworm");
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.message().find("--baseurl must start with"), std::string::npos);
}

TEST(ClassifyAptFailureTest, NamesWhatWentWrong) {
  auto missing = ClassifyAptFailure(
      {"Reading package lists...", "E: Unable to locate package no-such-pkg"}, "bootstrap");
  EXPECT_EQ(missing.cls, engine::FailureClass::kInput);
  EXPECT_EQ(missing.code, "package-not-found");
  EXPECT_NE(missing.message.find("no-such-pkg"), std::string::npos);

  auto version = ClassifyAptFailure({"E: Version '9.9' for 'jq' was not found"}, "bootstrap");
  EXPECT_EQ(version.code, "package-version-not-found");
  EXPECT_NE(version.message.find("9.9 of jq"), std::string::npos);

  auto unmet =
      ClassifyAptFailure({" foo : Depends: libbar (>= 2) but it is not installable"}, "bootstrap");
  EXPECT_EQ(unmet.code, "unmet-dependency");
  EXPECT_NE(unmet.message.find("foo depends on libbar"), std::string::npos);

  auto net = ClassifyAptFailure({"W: Failed to fetch http://x/debian/dists/bookworm/InRelease"},
                                "bootstrap");
  EXPECT_EQ(net.cls, engine::FailureClass::kNetwork);

  auto disk = ClassifyAptFailure({"tar: write error: No space left on device"}, "bootstrap");
  EXPECT_EQ(disk.cls, engine::FailureClass::kResource);
  EXPECT_EQ(disk.code, "disk-full");

  auto other = ClassifyAptFailure({"something odd"}, "bootstrap");
  EXPECT_EQ(other.cls, engine::FailureClass::kInternal);
}

TEST(DebianBootstrapTest, CommandLine) {
  DebianBootstrapOptions o;
  o.suite = "bookworm";
  o.arch = "i386";
  o.mirror = "http://deb.debian.org/debian";
  o.packages = {"jq", "openssh-server=1:9.2p1-2+deb12u3"};
  o.excluded = {"nano"};
  o.exclude_docs = true;
  o.package_cache = "/var/cache/kiln/packages/bookworm-i386";
  DebianBootstrapStage stage(o);
  std::vector<std::string> cmd = stage.Command("/tmp/target");
  EXPECT_EQ(cmd[0], "mmdebstrap") << "run in the sandbox's host view, not as root of the host";
  EXPECT_TRUE(Has(cmd, "--mode=root"));
  EXPECT_TRUE(Has(cmd, "--arch=i386"));
  EXPECT_TRUE(Has(cmd, "--dpkgopt=force-unsafe-io"));
  EXPECT_TRUE(Has(cmd, "--include=jq,openssh-server=1:9.2p1-2+deb12u3"));
  EXPECT_TRUE(Has(cmd, "--dpkgopt=path-exclude=/usr/share/doc/*"));
  for (const std::string& arg : cmd) {
    EXPECT_EQ(arg.find("nano"), std::string::npos)
        << "a request's name is never shell text: " << arg;
  }
  auto env = stage.HookEnvironment();
  EXPECT_NE(std::find(env.begin(), env.end(),
                      std::pair<std::string, std::string>{"KILN_EXCLUDED", "nano"}),
            env.end());
  EXPECT_TRUE(Has(cmd, "--skip=essential/unlink")) << "essential packages reach the cache too";
  EXPECT_TRUE(Has(cmd, "--skip=check/empty")) << "the cached packages are put in first";
  auto hook_with = [&](std::string_view prefix, std::string_view part) {
    return std::any_of(cmd.begin(), cmd.end(), [&](const std::string& arg) {
      return arg.rfind(prefix, 0) == 0 && arg.find(part) != std::string::npos;
    });
  };
  EXPECT_TRUE(hook_with("--customize-hook=", "-links 1 -exec ln -t \"$1\"/.kiln-downloads"))
      << "new downloads are set aside in the image for kiln to take into the cache";
  for (const std::string& arg : cmd) {
    EXPECT_EQ(arg.find("/var/cache/kiln"), std::string::npos) << "the sandbox never sees the cache";
  }
  EXPECT_TRUE(hook_with("--essential-hook=", "dpkg-divert"))
      << "update-initramfs waits until everything is installed";
  EXPECT_TRUE(hook_with("--customize-hook=", "update-initramfs -c -k"));
  EXPECT_TRUE(hook_with("--customize-hook=", "xargs -r -d '\\n' chroot \"$1\" apt-get -y purge"))
      << "exclusions reach apt-get as arguments";
  EXPECT_EQ(cmd[cmd.size() - 3], "bookworm");
  EXPECT_EQ(cmd.back(), "http://deb.debian.org/debian");
  Result<ExtraRepository> extra =
      ParseRepository("updates", "http://deb.debian.org/debian bookworm-updates", "bookworm");
  ASSERT_TRUE(extra.ok());
  o.repositories = {*extra};
  std::vector<std::string> with_repo = DebianBootstrapStage(o).Command("/tmp/target");
  EXPECT_EQ(with_repo.back(), "deb http://deb.debian.org/debian bookworm-updates main");
  // A side repository lives in kiln's cache, which only root may enter: the sandbox sees it
  // at /run/kiln/repo-N, and only there.
  ExtraRepository side;
  side.uri = "copy:///var/cache/kiln/side-repos/abc";
  side.suite = "./";
  side.trusted = true;
  side.build_only = true;
  o.repositories = {*extra, side};
  DebianBootstrapStage with_side(o);
  EXPECT_EQ(with_side.Command("/run/kiln/image").back(),
            "deb [trusted=yes] copy:///run/kiln/repo-1 ./");
  auto sources = with_side.LocalSources();
  ASSERT_EQ(sources.size(), 1u);
  EXPECT_EQ(sources[0].source, "/var/cache/kiln/side-repos/abc");
  EXPECT_EQ(sources[0].at, "/run/kiln/repo-1");
  auto side_env = with_side.HookEnvironment();
  EXPECT_NE(std::find(side_env.begin(), side_env.end(),
                      std::pair<std::string, std::string>{"KILN_BUILD_ONLY_URIS",
                                                          "copy:///run/kiln/repo-1"}),
            side_env.end());
}

TEST(DebianBootstrapTest, InputsCoverWhatChangesTheTree) {
  DebianBootstrapOptions o;
  o.suite = "bookworm";
  o.arch = "amd64";
  o.mirror_state = "aaa";
  std::string base = DebianBootstrapStage(o).Inputs().Key();
  DebianBootstrapOptions newer = o;
  newer.mirror_state = "bbb";
  EXPECT_NE(DebianBootstrapStage(newer).Inputs().Key(), base) << "a new mirror state is a miss";
  DebianBootstrapOptions more = o;
  more.packages = {"jq"};
  EXPECT_NE(DebianBootstrapStage(more).Inputs().Key(), base);
  DebianBootstrapOptions repo = o;
  repo.repositories = {{"x", "http://r/debian", "bookworm", {"main"}, "s1"}};
  EXPECT_NE(DebianBootstrapStage(repo).Inputs().Key(), base);
  DebianBootstrapOptions repo_moved = repo;
  repo_moved.repositories[0].state = "s2";
  EXPECT_NE(DebianBootstrapStage(repo_moved).Inputs().Key(),
            DebianBootstrapStage(repo).Inputs().Key())
      << "a new state of an extra repository is a miss too";
  DebianBootstrapOptions cached = o;
  cached.package_cache = "/elsewhere";
  EXPECT_EQ(DebianBootstrapStage(cached).Inputs().Key(), base)
      << "where downloads are kept does not change the result";
}

}  // namespace
}  // namespace kiln::stages
