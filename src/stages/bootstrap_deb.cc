#include "stages/bootstrap_deb.h"

#include <sys/stat.h>
#include <unistd.h>

#include <regex>

#include "core/grammar.h"
#include "core/text.h"
#include "sys/process.h"
#include "sys/root_dir.h"
#include "sys/sandbox.h"

namespace kiln::stages {
namespace fs = std::filesystem;

namespace {

// mmdebstrap's progress lines and how far along the bootstrap is when it prints them.
struct Phase {
  const char* prefix;
  double fraction;
};
constexpr Phase kPhases[] = {
    {"I: running apt-get update", 0.05},
    {"I: downloading packages", 0.15},
    {"I: extracting archives", 0.3},
    {"I: installing essential packages", 0.4},
    {"I: installing remaining packages inside the chroot", 0.6},
    {"I: running --customize-hook", 0.9},
    {"I: cleaning package lists and apt cache", 0.95},
};

// Puts a no-op in update-initramfs's place (a dpkg diversion, so the real one lands beside
// it) while the packages are installed.
constexpr char kDeferInitramfs[] =
    "chroot \"$1\" dpkg-divert --quiet --local --rename "
    "--divert /usr/sbin/update-initramfs.kiln --add /usr/sbin/update-initramfs && "
    "printf '#!/bin/sh\\n# kiln: the initramfs is made once, after all packages\\nexit 0\\n' "
    "> \"$1\"/usr/sbin/update-initramfs && chmod 755 \"$1\"/usr/sbin/update-initramfs";

// Takes the no-op away again and makes the initramfs of each installed kernel.
constexpr char kMakeInitramfsOnce[] =
    "rm -f \"$1\"/usr/sbin/update-initramfs && chroot \"$1\" dpkg-divert --quiet --local "
    "--rename --divert /usr/sbin/update-initramfs.kiln --remove /usr/sbin/update-initramfs && "
    "if [ -x \"$1\"/usr/sbin/update-initramfs ]; then for k in \"$1\"/boot/vmlinuz-*; do "
    "[ -e \"$k\" ] || continue; chroot \"$1\" update-initramfs -c -k \"${k##*/vmlinuz-}\" "
    "|| exit 1; done; fi";

// Where the bootstrap's sandbox sees a side repository (kiln's cache is root's alone).
std::string SideRepoMount(size_t index) { return "/run/kiln/repo-" + std::to_string(index); }

bool IsLocalUri(const std::string& uri) {
  return StartsWith(uri, "copy://") || StartsWith(uri, "file://");
}

std::string UriPath(const std::string& uri) { return uri.substr(uri.find("://") + 3); }

}  // namespace

std::string DebianBootstrapStage::Repositories() const {
  std::string out;
  for (const ExtraRepository& r : options_.repositories) {
    out += r.SourcesLine() + " @" + r.state + "\n";
  }
  return out;
}

engine::StageInputs DebianBootstrapStage::Inputs() const {
  // 5: no device nodes in /dev, whoever builds (4 had those of a root build).
  return {"bootstrap",
          5,
          "",
          {{"suite", options_.suite},
           {"variant", options_.variant},
           {"arch", options_.arch},
           {"mirror", options_.mirror},
           {"mirror state (InRelease)", options_.mirror_state},
           {"packages", Join(options_.packages, " ")},
           {"excluded packages", Join(options_.excluded, " ")},
           {"docs excluded", options_.exclude_docs ? "yes" : "no"},
           {"SOURCE_DATE_EPOCH", std::to_string(options_.source_date_epoch)},
           {"repositories", Repositories()}}};
}

std::string DebianBootstrapStage::SandboxUri(size_t index) const {
  const ExtraRepository& r = options_.repositories[index];
  return r.build_only && IsLocalUri(r.uri) ? "copy://" + SideRepoMount(index) : r.uri;
}

std::vector<sys::SandboxOptions::HostPath> DebianBootstrapStage::LocalSources() const {
  std::vector<sys::SandboxOptions::HostPath> out;
  // The mirror is a URI or a whole sources line ("deb [trusted=yes] copy:///... ./").
  for (const std::string& word : SplitNonEmpty(options_.mirror, ' ')) {
    if (IsLocalUri(word)) out.push_back({UriPath(word), ""});
  }
  for (size_t i = 0; i < options_.repositories.size(); ++i) {
    const ExtraRepository& r = options_.repositories[i];
    if (!IsLocalUri(r.uri)) continue;
    out.push_back({UriPath(r.uri), r.build_only ? SideRepoMount(i) : ""});
  }
  return out;
}

std::vector<std::string> DebianBootstrapStage::Command(const fs::path& target) const {
  // Run in the sandbox's host view (RunOnce): root inside is nobody outside, and whatever
  // mmdebstrap mounts goes away with the sandbox's mount namespace, even if it is killed.
  std::vector<std::string> cmd = {"mmdebstrap", "--mode=root", "--variant=" + options_.variant,
                                  "--arch=" + options_.arch,
                                  // dpkg's fsync calls are most of an install's time; a failed
                                  // build is thrown away, so they buy nothing here.
                                  "--dpkgopt=force-unsafe-io"};
  if (!options_.packages.empty()) cmd.push_back("--include=" + Join(options_.packages, ","));
  if (options_.exclude_docs) {
    cmd.push_back("--dpkgopt=path-exclude=/usr/share/doc/*");
    cmd.push_back("--dpkgopt=path-include=/usr/share/doc/*/copyright");
    cmd.push_back("--dpkgopt=path-exclude=/usr/share/man/*");
    cmd.push_back("--dpkgopt=path-exclude=/usr/share/info/*");
  }
  if (!options_.proxy.empty()) {
    // Only a URL that RFC 3986's grammar allows (so no '"', ';' or line break can end the
    // apt option), as the grammar re-serialises it.
    if (std::optional<std::string> proxy = NormalizeUrl(options_.proxy, {"http", "https"})) {
      cmd.push_back("--aptopt=Acquire::http::Proxy \"" + *proxy + "\"");
    }
  }
  if (!options_.package_cache.empty()) {
    // Downloads are shared between builds: RunOnce puts the cached .deb files into the
    // target's archive directory before (so the target is not empty), the essential packages
    // stay in the archive after their install, and the last hook links the new ones (one
    // link: not the cache's) into the target's /.kiln-downloads, which RunOnce takes into
    // the cache after, outside the sandbox; mmdebstrap's apt-get clean empties the archive.
    cmd.push_back("--skip=check/empty");
    cmd.push_back("--skip=essential/unlink");
  }
  // Names and URIs from the request never become shell text: the hooks read them from the
  // environment (HookEnvironment), inside double quotes, one per line, and hand them to
  // programs as arguments (xargs -d '\n'), so no character in them means anything to sh.
  if (!options_.excluded.empty()) {
    cmd.push_back(
        "--customize-hook=printf '%s\\n' \"$KILN_EXCLUDED\" | "
        "xargs -r -d '\\n' chroot \"$1\" apt-get -y purge");
  }
  bool build_only = false;
  for (const ExtraRepository& r : options_.repositories) build_only = build_only || r.build_only;
  if (build_only) {
    // Their files live in kiln's cache, not in the image: the image must not point at them.
    cmd.push_back(
        "--customize-hook=printf '%s\\n' \"$KILN_BUILD_ONLY_URIS\" | "
        "{ grep -v -F -f /dev/stdin \"$1\"/etc/apt/sources.list || true; } "
        "> \"$1\"/etc/apt/sources.list.kiln && "
        "mv \"$1\"/etc/apt/sources.list.kiln \"$1\"/etc/apt/sources.list");
  }
  if (options_.variant != "extract") {
    // Installing a kernel with initramfs-tools makes the initramfs twice (the kernel's
    // postinst, then the trigger every later hook package sets off): ~15 s each. It is
    // made once, after everything is installed (and excluded packages are purged).
    cmd.push_back(std::string("--essential-hook=") + kDeferInitramfs);
    cmd.push_back(std::string("--customize-hook=") + kMakeInitramfsOnce);
  }
  if (!options_.package_cache.empty()) {
    cmd.push_back(
        "--customize-hook=mkdir -p \"$1\"/.kiln-downloads && find \"$1\"/var/cache/apt/archives "
        "-maxdepth 1 -name '*.deb' -links 1 -exec ln -t \"$1\"/.kiln-downloads {} +");
  }
  cmd.push_back(options_.suite);
  cmd.push_back(target.string());
  cmd.push_back(options_.mirror);
  // Each extra repository is one more "mirror" argument in sources.list form; they all end
  // up in the image's sources.list too.
  for (size_t i = 0; i < options_.repositories.size(); ++i) {
    ExtraRepository seen = options_.repositories[i];
    seen.uri = SandboxUri(i);
    cmd.push_back(seen.SourcesLine());
  }
  return cmd;
}

std::vector<std::pair<std::string, std::string>> DebianBootstrapStage::HookEnvironment() const {
  std::string excluded, uris;
  for (const std::string& p : options_.excluded) excluded += (excluded.empty() ? "" : "\n") + p;
  for (size_t i = 0; i < options_.repositories.size(); ++i) {
    if (options_.repositories[i].build_only) uris += (uris.empty() ? "" : "\n") + SandboxUri(i);
  }
  return {{"KILN_EXCLUDED", excluded}, {"KILN_BUILD_ONLY_URIS", uris}};
}

engine::StageFailure ClassifyAptFailure(const std::vector<std::string>& tail,
                                        const std::string& stage) {
  static const std::regex kMissing(R"(E: Unable to locate package (\S+))");
  static const std::regex kNoVersion(R"(E: Version '([^']+)' for '([^']+)' was not found)");
  static const std::regex kUnmet(R"(^\s*(\S+) : Depends: (.+)$)");
  static const std::regex kForeignArch(
      R"(E: (\S+) can neither be executed natively nor via qemu user emulation)");
  static const std::regex kFetch(
      R"((Failed to fetch|Could not resolve|Unable to connect to|Could not connect to)\s*(\S*))");
  std::smatch m;
  for (const std::string& line : tail) {
    if (std::regex_search(line, m, kMissing)) {
      return {engine::FailureClass::kInput, "package-not-found",
              stage + ": package " + m[1].str() + " does not exist in the release",
              "check the name in %packages or the request's extra packages "
              "(apt-cache search on a machine of that release helps)"};
    }
    if (std::regex_search(line, m, kNoVersion)) {
      return {engine::FailureClass::kInput, "package-version-not-found",
              stage + ": version " + m[1].str() + " of " + m[2].str() + " is not available",
              "pin a version the mirror has, or leave the version out"};
    }
    if (std::regex_search(line, m, kUnmet)) {
      return {
          engine::FailureClass::kInput, "unmet-dependency",
          stage + ": " + m[1].str() + " depends on " + m[2].str() + ", which cannot be installed",
          "remove the exclusion or pin that breaks it, or add the missing package"};
    }
    if (std::regex_search(line, m, kForeignArch)) {
      // Some kernels (a VM without 32-bit compat mode) cannot run i386 programs at all.
      return {engine::FailureClass::kResource, "arch-not-runnable",
              stage + ": this build host cannot run " + m[1].str() +
                  " programs (its kernel does not, and no qemu user emulation is registered)",
              "build this architecture on a host that runs its programs (`arch-test " + m[1].str() +
                  "` says), or install qemu-user-static and binfmt-support here"};
    }
    if (line.find("No space left on device") != std::string::npos) {
      return {engine::FailureClass::kResource, "disk-full", stage + ": the disk is full",
              "free space in the cache and output directories, or lower the cache size"};
    }
  }
  for (const std::string& line : tail) {
    if (std::regex_search(line, m, kFetch)) {
      return {engine::FailureClass::kNetwork, "repository-unreachable",
              stage + ": the package repository could not be reached: " + std::string(Trim(line)),
              "check the mirror URL and the network; the build can be retried"};
    }
  }
  return {engine::FailureClass::kInternal, "bootstrap-failed",
          stage + ": mmdebstrap failed" + (tail.empty() ? "" : ": " + tail.back()),
          "see build.log for the full output"};
}

bool DebianBootstrapStage::Run(const engine::StageContext& ctx, engine::StageFailure& failure) {
  if (!options_.package_cache.empty()) fs::create_directories(options_.package_cache);
  // A mirror that times out or drops connections now and then should not fail a build:
  // network failures are retried with a growing pause before the stage gives up.
  for (int attempt = 1;; ++attempt) {
    if (RunOnce(ctx, failure)) return true;
    bool canceled = ctx.cancel != nullptr && ctx.cancel->load();
    if (canceled || failure.cls != engine::FailureClass::kNetwork ||
        attempt >= options_.network_attempts) {
      return false;
    }
    int pause_s = attempt * options_.retry_pause_s;
    ctx.reporter->Log("warning: bootstrap: " + failure.message + "; retrying in " +
                      std::to_string(pause_s) + " s (attempt " + std::to_string(attempt + 1) +
                      " of " + std::to_string(options_.network_attempts) + ")");
    std::error_code ec;
    fs::remove_all(ctx.output / "root", ec);
    for (int i = 0; i < pause_s * 10 && !(ctx.cancel != nullptr && ctx.cancel->load()); ++i) {
      usleep(100 * 1000);
    }
  }
}

namespace {

// The .deb files of the shared package cache into the target's archive directory. Hard links
// when every package comes from signed Debian archives; copies when the request brings its
// own package files, whose maintainer scripts could otherwise change the cache's files.
void PutCachedPackages(const fs::path& cache, const fs::path& archives, bool copy) {
  fs::create_directories(archives / "partial");
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(cache, ec)) {
    if (e.path().extension() != ".deb" || !e.is_regular_file(ec)) continue;
    fs::path to = archives / e.path().filename();
    if (copy) {
      fs::copy_file(e.path(), to, fs::copy_options::skip_existing, ec);
    } else {
      fs::create_hard_link(e.path(), to, ec);
      if (ec) fs::copy_file(e.path(), to, fs::copy_options::skip_existing, ec);
    }
  }
}

// After a bootstrap: the packages it downloaded (the hook's /.kiln-downloads) into the
// cache, unless they came with a request's own package files; the directory goes.
void TakeNewPackages(const fs::path& target, const fs::path& cache, bool keep) {
  fs::path downloads = target / ".kiln-downloads";
  std::error_code ec;
  struct stat st {};
  // The image's own directory, not a link the packages' scripts put there.
  if (lstat(downloads.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    fs::remove(downloads, ec);
    return;
  }
  for (const fs::directory_entry& e : fs::directory_iterator(downloads, ec)) {
    if (!keep || e.path().extension() != ".deb") continue;
    if (lstat(e.path().c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    if (!fs::exists(cache / e.path().filename(), ec)) {
      fs::create_hard_link(e.path(), cache / e.path().filename(), ec);
      if (ec) fs::copy_file(e.path(), cache / e.path().filename(), ec);
    }
  }
  fs::remove_all(downloads, ec);
}

// /dev as mmdebstrap makes it as root of the host, less the device nodes, which no build
// can make without root (the sandbox cannot mknod, nor can an ordinary user's build) and no
// image needs: a booted kernel mounts devtmpfs there, container runtimes their own /dev. So
// every build, as root or not, makes the same image. /dev's times are those the packages left
// (/proc's, from the same base-files entry).
void MakeDevTree(const fs::path& target) {
  sys::RootDir root(target);
  if (!root.IsDirectory("/dev")) return;
  // Best effort, as ever: what cannot be made is left out.
  for (const char* dir : {"/dev/pts", "/dev/shm"}) (void)root.MakeDirs(dir, 0755);
  (void)root.Symlink("/proc/self/fd", "/dev/fd");
  (void)root.Symlink("/proc/self/fd/2", "/dev/stderr");
  (void)root.Symlink("/proc/self/fd/0", "/dev/stdin");
  (void)root.Symlink("/proc/self/fd/1", "/dev/stdout");
  root.CopyTimes("/proc", "/dev");
}

}  // namespace

bool DebianBootstrapStage::RunOnce(const engine::StageContext& ctx, engine::StageFailure& failure) {
  fs::path target = ctx.output / "root";
  fs::create_directories(target);
  bool own_packages = false;
  for (const ExtraRepository& r : options_.repositories) own_packages |= r.build_only;
  fs::path archives = target / "var/cache/apt/archives";
  if (!options_.package_cache.empty()) {
    PutCachedPackages(options_.package_cache, archives, own_packages);
  }
  sys::SandboxOptions sandbox;
  sandbox.root = target;
  sandbox.host_view = true;
  sandbox.network = sys::SandboxOptions::Network::kHost;  // the downloads
  sandbox.host_paths = LocalSources();
  sys::RunOptions run;
  run.argv = Command(sandbox.image_at);
  run.cancel = ctx.cancel;
  run.timeout = std::chrono::minutes(60);
  run.tail_lines = 60;
  run.env = HookEnvironment();
  run.env.insert(run.env.end(),
                 {{"DEBIAN_FRONTEND", "noninteractive"},
                  {"LC_ALL", "C.UTF-8"},
                  {"HOME", "/run/kiln"},
                  {"SOURCE_DATE_EPOCH", std::to_string(options_.source_date_epoch)}});
  // The host's proxy settings are the admin's: apt inside uses them too.
  for (const char* name : {"http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY"}) {
    if (const char* v = getenv(name)) run.env.emplace_back(name, v);
  }
  run.on_line = [&](std::string_view line) {
    ctx.reporter->Log(line);
    for (const Phase& p : kPhases) {
      if (StartsWith(line, p.prefix)) {
        ctx.reporter->StageProgress("bootstrap", p.fraction, line.substr(3));
      }
    }
  };
  ctx.reporter->Log("$ " + Join(run.argv, " "));
  sys::RunResult r = sys::RunInSandbox(sandbox, run);
  if (r.ok()) {
    if (!options_.package_cache.empty()) {
      TakeNewPackages(target, options_.package_cache, !own_packages);
    }
    if (options_.variant != "extract") MakeDevTree(target);
    return true;
  }
  if (r.kind == sys::ExitKind::kTimedOut) {
    failure = {engine::FailureClass::kTimeout, "timeout", "bootstrap: mmdebstrap " + r.Describe(),
               "the mirror may be slow; retry, or use a closer mirror"};
  } else if (r.kind == sys::ExitKind::kFailedToStart) {
    failure = {engine::FailureClass::kInternal, "tool-missing",
               "bootstrap: cannot run mmdebstrap: " + r.error +
                   (r.tail.empty() ? "" : " (" + r.tail.back() + ")"),
               "install it: scripts/install-deps.sh build"};
  } else {
    failure = ClassifyAptFailure(r.tail, "bootstrap");
  }
  return false;
}

}  // namespace kiln::stages
