#include "stages/build.h"

#include <unistd.h>

#include <cctype>
#include <chrono>
#include <ctime>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "core/build_spec_json.h"
#include "core/sha256.h"
#include "core/text.h"
#include "spec/build_values.h"
#include "spec/kickstart_parser.h"
#include "spec/typed_commands.h"
#include "stages/assemble_disk.h"
#include "stages/assemble_live.h"
#include "stages/assemble_tar.h"
#include "stages/bootstrap_deb.h"
#include "stages/configure.h"
#include "stages/debian_mirror.h"
#include "stages/scripts.h"
#include "stages/side_repo.h"
#include "stages/tools.h"
#include "sys/files.h"
#include "sys/process.h"

namespace kiln::stages {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// Forwards every report and writes it, timestamped, to build.log.
class LogFileReporter : public engine::Reporter {
 public:
  LogFileReporter(const fs::path& file, engine::Reporter& next)
      : out_(file, std::ios::trunc), next_(next) {}

  void StageStarted(int index, int count, std::string_view stage, std::string_view why) override {
    Write("== " + engine::StageStartedLine(index, count, stage, why));
    next_.StageStarted(index, count, stage, why);
  }
  void StageProgress(std::string_view stage, double fraction, std::string_view message) override {
    next_.StageProgress(stage, fraction, message);
  }
  void StageFinished(std::string_view stage, engine::StageOutcome outcome,
                     std::chrono::milliseconds elapsed) override {
    Write("== " + engine::StageFinishedLine(stage, outcome, elapsed));
    next_.StageFinished(stage, outcome, elapsed);
  }
  void Log(std::string_view line) override {
    Write(line);
    next_.Log(line);
  }

 private:
  void Write(std::string_view line) {
    std::lock_guard<std::mutex> lock(mu_);
    out_ << IsoTime(std::time(nullptr)) << ' ' << line << '\n';
    out_.flush();
  }

  std::mutex mu_;
  std::ofstream out_;
  engine::Reporter& next_;
};

struct InstalledPackage {
  std::string name, version, arch;
};

// The installed packages of a root tree, read from dpkg's status file.
std::vector<InstalledPackage> InstalledPackages(const fs::path& root) {
  std::ifstream in(root / "var/lib/dpkg/status");
  std::vector<InstalledPackage> out;
  InstalledPackage cur;
  bool installed = false;
  std::string line;
  auto flush = [&] {
    if (installed && !cur.name.empty()) out.push_back(cur);
    cur = {};
    installed = false;
  };
  while (std::getline(in, line)) {
    if (line.empty()) {
      flush();
    } else if (StartsWith(line, "Package: ")) {
      cur.name = line.substr(9);
    } else if (StartsWith(line, "Version: ")) {
      cur.version = line.substr(9);
    } else if (StartsWith(line, "Architecture: ")) {
      cur.arch = line.substr(14);
    } else if (StartsWith(line, "Status: ")) {
      installed = EndsWith(line, " installed") && line.find("not-installed") == std::string::npos;
    }
  }
  flush();
  std::sort(out.begin(), out.end(),
            [](const InstalledPackage& a, const InstalledPackage& b) { return a.name < b.name; });
  return out;
}

BuildOutcome Fail(std::string stage, engine::StageFailure failure, engine::Reporter& reporter) {
  reporter.Log("error: " + failure.message);
  BuildOutcome out;
  out.failed_stage = std::move(stage);
  out.failure = std::move(failure);
  return out;
}

bool IsDiskType(ImageType type) { return type == ImageType::kRaw || type == ImageType::kQcow2; }
bool IsBootable(ImageType type) { return IsDiskType(type) || type == ImageType::kLive; }

// What a bootable image needs besides the kickstart's packages: the arch's kernel (unless the
// kickstart names one), an init system, udev and the initramfs generator; a live image also
// live-boot. Packages the kickstart excludes are left out.
std::vector<std::string> BootPackages(const BuildSpec& spec, const spec::Kickstart& ks) {
  std::vector<std::string> out;
  bool has_kernel = std::any_of(ks.packages.packages.begin(), ks.packages.packages.end(),
                                [](const std::string& p) { return StartsWith(p, "linux-image-"); });
  if (!has_kernel) {
    out.push_back(spec.arch == Arch::kX86_64 ? "linux-image-amd64" : "linux-image-686");
  }
  // zstd: without it initramfs-tools falls back to gzip (slower, and a 20% larger initrd).
  for (const char* p : {"systemd-sysv", "udev", "initramfs-tools", "zstd"}) out.push_back(p);
  if (spec.type == ImageType::kLive) out.push_back("live-boot");
  std::set<std::string> excluded(ks.packages.excluded.begin(), ks.packages.excluded.end());
  out.erase(std::remove_if(out.begin(), out.end(),
                           [&](const std::string& p) { return excluded.count(p) != 0; }),
            out.end());
  return out;
}

// The seed of an image's fixed UUIDs: the hash of everything in the spec that shapes the
// image's content, not of where the request came from or where the image goes next.
std::string ContentSeed(const BuildSpec& spec) {
  BuildSpec content = spec;
  content.kickstart_name.clear();
  content.kickstart_url.clear();
  content.staging.clear();
  content.notify = {};
  content.ignored.clear();
  content.dry_run = false;
  return Sha256Hex(BuildSpecToJson(content).dump());
}

// Copies a finished image out of the cache, keeping a sparse disk image sparse, and hashes it
// in the same pass (a disk image is mostly holes: neither step reads them); written whole or
// not at all.
bool CopyOut(const fs::path& from, const fs::path& to, std::string& sha256, std::string& error) {
  fs::path staged = to;
  staged += ".tmp";
  if (Status copied = sys::CopySparseFile(from, staged, &sha256); !copied.ok()) {
    error = "copying the image out of the cache: " + copied.message();
    std::error_code ec;
    fs::remove(staged, ec);
    return false;
  }
  fs::rename(staged, to);
  return true;
}

// What the build's %post scripts get: the request's choice within what the build host allows
// ("none" narrows "outbound"), or "" when the request asks for more than the host gives.
std::string ScriptNetwork(const BuildSpec& spec, const BuildLimits& limits) {
  if (spec.script_network.empty()) return limits.script_network;
  if (spec.script_network == "outbound" && limits.script_network != "outbound") return "";
  return spec.script_network;
}

// Commands that this build does not apply: said in the log, never silently skipped.
void WarnUnapplied(const spec::Kickstart& ks, const BuildSpec& spec, engine::Reporter& reporter) {
  static const std::set<std::string> kApplied = {"url",     "lang",    "keyboard", "timezone",
                                                 "rootpw",  "user",    "group",    "sshkey",
                                                 "network", "services"};
  static const std::set<std::string> kDiskOnly = {"bootloader", "part",    "partition", "autopart",
                                                  "clearpart",  "zerombr", "raid",      "logvol",
                                                  "volgroup",   "btrfs"};
  static const std::set<std::string> kReported = {
      "selinux", "firewall",   "authselect", "firstboot", "xconfig",  "skipx", "eula",
      "logging", "reqpart",    "ignoredisk", "iscsi",     "zfcp",     "text",  "reboot",
      "realm",   "timesource", "repo",       "poweroff",  "shutdown", "halt"};
  for (const spec::CommandEntry& e : ks.commands) {
    std::string name(e.spec->name);
    if (kApplied.count(name) != 0 || kReported.count(name) != 0) continue;
    if (kDiskOnly.count(name) != 0) {
      if (IsDiskType(spec.type)) continue;
      if (name == "bootloader" && spec.type == ImageType::kLive) continue;
      reporter.Log("warning: kickstart command '" + name + "' applies to disk images; a " +
                   std::string(ToString(spec.type)) + " image has no disk");
      continue;
    }
    reporter.Log("warning: kickstart command '" + name +
                 "' is not applied by this kiln version (the image keeps Debian's default)");
  }
  for (const spec::Script& s : ks.scripts) {
    if (s.kind == spec::ScriptKind::kPost) continue;
    reporter.Log("warning: " + std::string(spec::ScriptSectionName(s.kind)) + " at line " +
                 std::to_string(s.where.line) +
                 " is not run: image builds have no installer to run it in");
  }
  for (const spec::PackageGroup& g : ks.packages.groups) {
    reporter.Log("warning: package group @" + g.name +
                 " ignored: groups are a Fedora (comps) notion with no Debian equivalent");
  }
  if (ks.packages.environment) {
    reporter.Log("warning: environment @^" + *ks.packages.environment + " ignored on Debian");
  }
}

// The versions of the tools that made an image of `type`, for provenance.json.
json ToolVersions(ImageType type) {
  json tools = {{"kiln", KILN_VERSION}, {"mmdebstrap", ToolVersion({"mmdebstrap", "--version"})}};
  if (type == ImageType::kTar) {
    tools["tar"] = ToolVersion({"tar", "--version"});
    tools["zstd"] = ToolVersion({"zstd", "--version"});
  }
  if (IsDiskType(type)) {
    tools["grub"] = ToolVersion({"grub-mkimage", "--version"});
    tools["e2fsprogs"] = ToolVersion({"mkfs.ext4", "-V"});
    tools["sfdisk"] = ToolVersion({"sfdisk", "--version"});
    tools["mtools"] = ToolVersion({"mcopy", "--version"});
  }
  if (type == ImageType::kQcow2) tools["qemu-img"] = ToolVersion({"qemu-img", "--version"});
  if (type == ImageType::kLive) {
    tools["grub"] = ToolVersion({"grub-mkrescue", "--version"});
    tools["squashfs-tools"] = ToolVersion({"mksquashfs", "-version"});
    tools["xorriso"] = ToolVersion({"xorriso", "-version"});
  }
  return tools;
}

// Every repository a build used, with the SHA-256 of its InRelease.
json Repositories(const std::string& mirror, const DebianBootstrapOptions& boot,
                  const std::string& mirror_state) {
  json out = json::array();
  out.push_back({{"url", mirror}, {"suite", boot.suite}, {"inrelease_sha256", mirror_state}});
  for (const ExtraRepository& r : boot.repositories) {
    out.push_back({{"name", r.name},
                   {"url", r.uri},
                   {"suite", r.suite},
                   {"components", r.components},
                   {"inrelease_sha256", r.state}});
  }
  return out;
}

// SPDX identifiers allow letters, digits, '.' and '-' only.
std::string SpdxId(const std::string& text) {
  std::string out;
  for (char c : text) out += (std::isalnum(static_cast<unsigned char>(c)) || c == '.') ? c : '-';
  return out;
}

// An SPDX 2.3 JSON document listing the image's packages, deterministic for a given build.
json SpdxDocument(const BuildSpec& spec, const std::string& spec_sha, const std::string& image,
                  const std::string& image_sha, long long epoch,
                  const std::vector<InstalledPackage>& packages, std::string_view release_version) {
  json doc;
  doc["spdxVersion"] = "SPDX-2.3";
  doc["dataLicense"] = "CC0-1.0";
  doc["SPDXID"] = "SPDXRef-DOCUMENT";
  doc["name"] = spec.name;
  doc["documentNamespace"] = "https://kiln.invalid/spdx/" + spec.name + "-" + spec_sha;
  doc["creationInfo"] = {{"created", IsoTime(epoch)}, {"creators", {"Tool: kiln-" KILN_VERSION}}};
  json pkgs = json::array();
  json rels = json::array();
  pkgs.push_back({{"name", image},
                  {"SPDXID", "SPDXRef-Image"},
                  {"downloadLocation", "NOASSERTION"},
                  {"filesAnalyzed", false},
                  {"checksums", {{{"algorithm", "SHA256"}, {"checksumValue", image_sha}}}}});
  rels.push_back({{"spdxElementId", "SPDXRef-DOCUMENT"},
                  {"relationshipType", "DESCRIBES"},
                  {"relatedSpdxElement", "SPDXRef-Image"}});
  for (const InstalledPackage& p : packages) {
    std::string id = "SPDXRef-Package-" + SpdxId(p.name + "-" + p.arch);
    pkgs.push_back(
        {{"name", p.name},
         {"SPDXID", id},
         {"versionInfo", p.version},
         {"supplier", "NOASSERTION"},
         {"downloadLocation", "NOASSERTION"},
         {"filesAnalyzed", false},
         {"externalRefs",
          {{{"referenceCategory", "PACKAGE-MANAGER"},
            {"referenceType", "purl"},
            {"referenceLocator", "pkg:deb/debian/" + p.name + "@" + p.version + "?arch=" + p.arch +
                                     "&distro=debian-" + std::string(release_version)}}}}});
    rels.push_back({{"spdxElementId", "SPDXRef-Image"},
                    {"relationshipType", "CONTAINS"},
                    {"relatedSpdxElement", id}});
  }
  doc["packages"] = pkgs;
  doc["relationships"] = rels;
  return doc;
}

// Everything a build decides before running a stage: the release, the mirror and its state,
// the bootstrap's packages and repositories, and the stages. Used by BuildImage and, without
// fetching package files or touching the cache, by PlanImage.
struct PreparedBuild {
  const ReleaseInfo* release = nullptr;
  std::string mirror;
  MirrorState state;
  DebianBootstrapOptions boot;
  std::string spec_sha, image_name;
  std::vector<std::unique_ptr<engine::Stage>> stages;
  std::vector<std::string> notes;  // what a plan cannot know
};

// The first kickstart error of `diagnostics`, formatted.
std::string FirstError(const Diagnostics& diagnostics) {
  std::string first;
  for (const Diagnostic& d : diagnostics.items()) {
    if (d.severity == Severity::kError && first.empty()) first = FormatDiagnostic(d);
  }
  return first;
}

// PrepareBuild's steps, in the order they run; the members are what they share. Each step
// either fills its part of the PreparedBuild or returns the failed outcome (already logged).
class BuildPreparer {
 public:
  BuildPreparer(const BuildSpec& spec, const BuildOptions& options, engine::Reporter& reporter,
                bool dry_run, PreparedBuild& prep)
      : spec_(spec), options_(options), reporter_(reporter), dry_run_(dry_run), prep_(prep) {}

  std::optional<BuildOutcome> Run() {
    if (std::optional<BuildOutcome> failed = CheckRequest()) return failed;
    WarnUnapplied(ks(), spec_, reporter_);
    std::vector<std::string> config_warnings;
    config_ = ReadSystemConfig(ks(), config_warnings);
    for (const std::string& w : config_warnings) reporter_.Log("warning: " + w);
    if (std::optional<BuildOutcome> failed = ResolveMirror()) return failed;
    ChoosePackages();
    if (std::optional<BuildOutcome> failed = AddRepositories()) return failed;
    if (std::optional<BuildOutcome> failed = AddSideRepository()) return failed;
    ExcludePackages();
    prep_.spec_sha = Sha256Hex(BuildSpecToJson(spec_).dump());
    if (std::optional<BuildOutcome> failed = PlanDiskAndBoot()) return failed;
    AddStages();
    return std::nullopt;
  }

 private:
  const spec::Kickstart& ks() const { return parsed_.kickstart; }

  // The request is one kiln builds, and safe to: its type and release, its kickstart (parsed
  // into parsed_) and values, and the script network the host allows (script_network_).
  std::optional<BuildOutcome> CheckRequest() {
    if (!CanBuild(spec_.type)) {
      return Fail("plan",
                  {engine::FailureClass::kInput, "type-not-supported",
                   "plan: kiln cannot build " + std::string(ToString(spec_.type)) +
                       " images yet; this version builds " + BuildableTypesText() + " images",
                   "ask for --type tar, raw, qcow2 or live"},
                  reporter_);
    }
    prep_.release = FindRelease(spec_.release);
    if (prep_.release == nullptr || prep_.release->family != "debian") {
      return Fail("plan",
                  {engine::FailureClass::kInput, "unknown-release",
                   "plan: unknown release " + spec_.release, "use bookworm or trixie"},
                  reporter_);
    }
    spec::MemoryResolver no_includes;  // the spec's kickstart is already flattened
    parsed_ = spec::ParseKickstartText(spec_.kickstart, "kickstart.ks", no_includes);
    if (!parsed_.ok()) {
      return Fail(
          "plan",
          {engine::FailureClass::kInput, "kickstart-invalid",
           "plan: " + FirstError(parsed_.diagnostics), "kiln ks validate shows every problem"},
          reporter_);
    }
    // A spec reaches a worker from a master that checked it at submit; the worker checks again
    // (another version, a hand-made job), since these values go into files and command lines.
    Diagnostics unsafe;
    ValidateBuildSpec(spec_, {"request", 0}, unsafe);
    spec::CheckBuildValues(ks(), "kickstart.ks", unsafe);
    if (unsafe.HasErrors()) {
      return Fail("plan",
                  {engine::FailureClass::kInput, "request-invalid", "plan: " + FirstError(unsafe),
                   "kiln ks validate and kiln submit show every problem"},
                  reporter_);
    }
    script_network_ = ScriptNetwork(spec_, options_.limits);
    if (script_network_.empty()) {
      return Fail("plan",
                  {engine::FailureClass::kInput, "script-network-forbidden",
                   "plan: the request asks for outbound network for its %post scripts, and this "
                   "build host gives them none (--script-network none)",
                   "leave script_network out (the scripts then get no network), or build where "
                   "the admin allows outbound"},
                  reporter_);
    }
    return std::nullopt;
  }

  // The mirror (the request's, else the kickstart's url --url, else the machine's apt
  // sources) and its current state; a dry run may use a state read a minute ago.
  std::optional<BuildOutcome> ResolveMirror() {
    std::string& mirror = prep_.mirror;
    mirror = spec_.mirror;
    if (const spec::ParsedCommand* url = ks().Single("url"); mirror.empty() && url != nullptr) {
      if (const std::string* u = url->String("url")) mirror = *u;
    }
    if (mirror.empty()) {
      mirror = dry_run_ ? DefaultDebianMirrorCached(options_.mirror_override_root)
                        : DefaultDebianMirror(options_.mirror_override_root);
    }
    std::string suite(prep_.release->name);
    reporter_.Log("mirror " + mirror + ", suite " + suite);
    // Plans are asked for often and cheaply, so a minute-old state is good enough for them.
    Result<MirrorState> state =
        dry_run_ ? FetchMirrorStateCached(mirror, suite) : FetchMirrorState(mirror, suite);
    if (!state.ok()) {
      return Fail("resolve",
                  {engine::FailureClass::kNetwork, "repository-unreachable",
                   "resolve: cannot read the release file: " + state.message(),
                   "check the mirror URL and the network; the build can be retried"},
                  reporter_);
    }
    prep_.state = *state;
    reporter_.Log("mirror state " + prep_.state.hash.substr(0, 16) + " dated " +
                  std::to_string(prep_.state.date));
    return std::nullopt;
  }

  // The bootstrap's settings and packages: the kickstart's (by name; globs are warned about),
  // the request's extra packages, and what a bootable image needs.
  void ChoosePackages() {
    DebianBootstrapOptions& boot = prep_.boot;
    boot.suite = std::string(prep_.release->name);
    boot.arch = std::string(DebianArch(spec_.arch));
    boot.mirror = prep_.mirror;
    boot.mirror_state = prep_.state.hash;
    boot.exclude_docs = ks().packages.exclude_docs;
    boot.proxy = spec_.proxy;
    boot.source_date_epoch = prep_.state.date;
    boot.package_cache = options_.cache_dir / "packages" / (boot.suite + "-" + boot.arch);
    for (const std::string& p : ks().packages.packages) {
      if (spec::IsPackageGlob(p)) {
        reporter_.Log("warning: package glob " + p + " ignored: list Debian packages by name");
        continue;
      }
      packages_.insert(p);
    }
    for (const ExtraPackage& p : spec_.extra_packages) {
      packages_.insert(p.version.empty() ? p.name : p.name + "=" + p.version);
    }
    if (IsBootable(spec_.type)) {
      std::vector<std::string> boot_packages = BootPackages(spec_, ks());
      reporter_.Log("boot packages: " + Join(boot_packages, " "));
      packages_.insert(boot_packages.begin(), boot_packages.end());
    }
    boot.packages.assign(packages_.begin(), packages_.end());
  }

  // The kickstart's repo lines (--baseurl ones), each with the state of its suite.
  std::optional<BuildOutcome> AddRepositories() {
    for (const spec::RepoData& repo : spec::ReadRepos(ks())) {
      if (repo.baseurl.empty()) {
        reporter_.Log("warning: repo " + repo.name +
                      ": only --baseurl repositories apply to Debian builds; ignored");
        continue;
      }
      Result<ExtraRepository> extra = ParseRepository(repo.name, repo.baseurl, prep_.boot.suite);
      if (!extra.ok()) {
        return Fail("resolve",
                    {engine::FailureClass::kInput, "repo-invalid", "resolve: " + extra.message(),
                     "see docs/kickstart.md (repo on Debian)"},
                    reporter_);
      }
      Result<MirrorState> repo_state = FetchMirrorState(extra->uri, extra->suite);
      if (!repo_state.ok()) {
        return Fail("resolve",
                    {engine::FailureClass::kNetwork, "repository-unreachable",
                     "resolve: repo " + repo.name +
                         ": cannot read its release file: " + repo_state.message(),
                     "check the repo's URI and suite; the build can be retried"},
                    reporter_);
      }
      extra->state = repo_state->hash;
      reporter_.Log("repo " + repo.name + ": " + extra->SourcesLine() + " (state " +
                    repo_state->hash.substr(0, 16) + ")");
      prep_.boot.repositories.push_back(*extra);
    }
    return std::nullopt;
  }

  // The request's package files as a side repository, their versions pinned; a dry run
  // fetches none and notes that the plan cannot know the bootstrap's key.
  std::optional<BuildOutcome> AddSideRepository() {
    if (spec_.package_files.empty()) return std::nullopt;
    if (dry_run_) {
      prep_.notes.push_back(
          "bootstrap: the package files are fetched only by a real build, so the "
          "plan cannot tell whether the cache has this bootstrap");
      return std::nullopt;
    }
    DebianBootstrapOptions& boot = prep_.boot;
    Result<SideRepository> side =
        MakeSideRepository(spec_.package_files, boot.arch, options_.cache_dir / "side-repos");
    if (!side.ok()) {
      return Fail(
          "resolve",
          {engine::FailureClass::kInput, "package-file-invalid", "resolve: " + side.message(),
           "send Debian package files (.deb) built for the image's architecture"},
          reporter_);
    }
    for (const DebInfo& d : side->debs) {
      reporter_.Log("side repository: " + d.package + " " + d.version + " (" + d.architecture +
                    ")");
    }
    boot.repositories.push_back(side->repository);
    // Pinned to the file's version, so a newer one in the mirror does not win.
    for (const std::string& p : side->packages) {
      packages_.erase(p.substr(0, p.find('=')));
      packages_.insert(p);
    }
    boot.packages.assign(packages_.begin(), packages_.end());
    return std::nullopt;
  }

  // The kickstart's excluded packages (by name; globs are warned about).
  void ExcludePackages() {
    for (const std::string& p : ks().packages.excluded) {
      if (spec::IsPackageGlob(p)) {
        reporter_.Log("warning: package glob -" + p + " ignored: exclude Debian packages by name");
        continue;
      }
      prep_.boot.excluded.push_back(p);
    }
  }

  // The disk layout (disk images) or the boot settings (live images), from the kickstart.
  std::optional<BuildOutcome> PlanDiskAndBoot() {
    if (IsDiskType(spec_.type)) {
      std::vector<std::string> layout_warnings;
      Result<DiskLayout> layout =
          PlanDiskLayout(ks(), spec_.arch, ContentSeed(spec_), layout_warnings);
      if (!layout.ok()) {
        return Fail("plan",
                    {engine::FailureClass::kInput, "partitioning-invalid",
                     "plan: " + layout.message(), "see docs/kickstart.md (disk images)"},
                    reporter_);
      }
      layout_ = *layout;
      for (const std::string& w : layout_warnings) reporter_.Log("warning: " + w);
    }
    if (spec_.type == ImageType::kLive) {
      std::vector<std::string> boot_warnings;
      Result<BootSettings> settings = ReadBootSettings(ks(), boot_warnings);
      if (!settings.ok()) {
        return Fail("plan",
                    {engine::FailureClass::kInput, "bootloader-invalid",
                     "plan: " + settings.message(), "see docs/kickstart.md (live images)"},
                    reporter_);
      }
      boot_settings_ = *settings;
      for (const std::string& w : boot_warnings) reporter_.Log("warning: " + w);
    }
    return std::nullopt;
  }

  // The image's file name and the stages that make it: bootstrap, configure, the %post
  // scripts if any, then the assemble stage of the image's type.
  void AddStages() {
    const long long date = prep_.state.date;
    std::string& image_name = prep_.image_name;
    image_name = spec_.name + ".tar.zst";
    if (spec_.type == ImageType::kRaw) image_name = spec_.name + ".raw";
    if (spec_.type == ImageType::kQcow2) image_name = spec_.name + ".qcow2";
    if (spec_.type == ImageType::kLive) image_name = spec_.name + ".iso";
    std::vector<std::unique_ptr<engine::Stage>>& plan = prep_.stages;
    plan.push_back(std::make_unique<DebianBootstrapStage>(prep_.boot));
    config_.source_date_epoch = date;
    plan.push_back(std::make_unique<ConfigureStage>(config_));
    std::vector<spec::Script> posts;
    for (const spec::Script& s : ks().scripts) {
      if (s.kind == spec::ScriptKind::kPost) posts.push_back(s);
    }
    if (!posts.empty()) plan.push_back(std::make_unique<ScriptsStage>(std::move(posts), Limits()));
    if (spec_.type == ImageType::kTar) {
      plan.push_back(std::make_unique<TarImageStage>(image_name, date));
    } else if (spec_.type == ImageType::kLive) {
      LiveImageOptions live;
      live.file_name = image_name;
      live.volume_id = spec_.label;
      live.menu_title = spec_.title.empty() ? spec_.name : spec_.title;
      live.kernel_append = boot_settings_.kernel_append;
      live.timeout_s = boot_settings_.timeout_s;
      live.source_date_epoch = date;
      plan.push_back(std::make_unique<LiveImageStage>(live));
    } else {
      DiskImageOptions disk;
      disk.file_name = spec_.name + ".raw";
      disk.layout = layout_;
      disk.arch = spec_.arch;
      disk.menu_title = spec_.title.empty() ? spec_.name : spec_.title;
      disk.source_date_epoch = date;
      plan.push_back(std::make_unique<DiskImageStage>(disk));
      if (spec_.type == ImageType::kQcow2) {
        plan.push_back(std::make_unique<Qcow2ConvertStage>(disk.file_name, image_name));
      }
    }
  }

  // The %post scripts' limits, from the build host's.
  ScriptLimits Limits() const {
    ScriptLimits limits;
    limits.timeout = std::chrono::seconds(options_.limits.script_timeout_s);
    limits.disk_budget_bytes =
        static_cast<uint64_t>(options_.limits.disk_budget_gib * double(1ull << 30));
    limits.max_processes = options_.limits.max_processes;
    limits.max_memory_bytes =
        static_cast<uint64_t>(options_.limits.max_memory_gib * double(1ull << 30));
    limits.outbound_network = script_network_ == "outbound";
    return limits;
  }

  const BuildSpec& spec_;
  const BuildOptions& options_;
  engine::Reporter& reporter_;
  const bool dry_run_;
  PreparedBuild& prep_;
  spec::ParseResult parsed_;
  std::string script_network_;  // what the %post scripts get (ScriptNetwork)
  SystemConfig config_;
  std::set<std::string> packages_;
  DiskLayout layout_;
  BootSettings boot_settings_;
};

// Fails (the outcome) or fills `prep`.
std::optional<BuildOutcome> PrepareBuild(const BuildSpec& spec, const BuildOptions& options,
                                         engine::Reporter& reporter, bool dry_run,
                                         PreparedBuild& prep) {
  return BuildPreparer(spec, options, reporter, dry_run, prep).Run();
}

}  // namespace

BuildOutcome BuildImage(const BuildSpec& spec, const BuildOptions& options,
                        engine::Reporter& outer) {
  fs::create_directories(options.output_dir);
  LogFileReporter reporter(options.output_dir / "build.log", outer);
  reporter.Log("kiln " KILN_VERSION ": building " + std::string(ToString(spec.type)) + " image " +
               spec.name + " of " + spec.release + " for " + std::string(ToString(spec.arch)));

  PreparedBuild prepared;
  if (std::optional<BuildOutcome> failed =
          PrepareBuild(spec, options, reporter, /*dry_run=*/false, prepared)) {
    return *failed;
  }
  const ReleaseInfo* release = prepared.release;
  const std::string& mirror = prepared.mirror;
  const MirrorState& state = prepared.state;
  const DebianBootstrapOptions& boot = prepared.boot;
  const std::string& spec_sha = prepared.spec_sha;
  const std::string& image_name = prepared.image_name;
  const std::vector<std::unique_ptr<engine::Stage>>& plan = prepared.stages;
  std::string error;
  // Other builds' stages and downloads are in the cache: only root may enter it (the
  // bootstrap's sandbox sees the host's files as nobody).
  fs::create_directories(options.cache_dir);
  fs::permissions(options.cache_dir, fs::perms::owner_all, fs::perm_options::replace);
  engine::StageCache cache(options.cache_dir / "stages", options.cache_max_bytes);
  engine::PlanResult result = engine::RunPlan(plan, cache, reporter, options.cancel);
  if (!result.ok) return Fail(result.failed_stage, result.failure, reporter);

  // The outputs: the image (copied out of the cache), its checksum, the manifest, the
  // flattened kickstart. Each written whole or not at all.
  BuildOutcome out;
  out.image = options.output_dir / image_name;
  if (!CopyOut(result.output / image_name, out.image, out.image_sha256, error)) {
    return Fail("output",
                {engine::FailureClass::kResource, "output-failed", "output: " + error,
                 "check free space in the output directory"},
                reporter);
  }
  sys::WriteFileAtomic(options.output_dir / "SHA256SUMS",
                       out.image_sha256 + "  " + image_name + "\n");
  sys::WriteFileAtomic(options.output_dir / "kickstart.ks", spec.kickstart);

  json manifest;
  manifest["kiln_version"] = KILN_VERSION;
  manifest["spec"] = BuildSpecToJson(spec);
  manifest["spec_sha256"] = spec_sha;
  manifest["image"] = {
      {"file", image_name}, {"sha256", out.image_sha256}, {"bytes", fs::file_size(out.image)}};
  manifest["mirror"] = {{"url", mirror}, {"inrelease_sha256", state.hash}, {"date", state.date}};
  json pkgs = json::array();
  // The packages of the last root tree (scripts may have installed more).
  fs::path last_root = result.outputs[0] / "root";
  for (const fs::path& o : result.outputs) {
    if (fs::exists(o / "root/var/lib/dpkg/status")) last_root = o / "root";
  }
  std::vector<InstalledPackage> installed = InstalledPackages(last_root);
  for (const InstalledPackage& p : installed) {
    pkgs.push_back({{"name", p.name}, {"version", p.version}, {"architecture", p.arch}});
  }
  manifest["packages"] = pkgs;
  json stages = json::array();
  for (size_t i = 0; i < plan.size(); ++i) {
    stages.push_back({{"name", plan[i]->name()}, {"key", result.keys[i]}});
  }
  manifest["stages"] = stages;
  sys::WriteFileAtomic(options.output_dir / "manifest.json", manifest.dump(2) + "\n");
  sys::WriteFileAtomic(options.output_dir / "sbom.spdx.json",
                       SpdxDocument(spec, spec_sha, image_name, out.image_sha256, state.date,
                                    installed, release->version)
                               .dump(2) +
                           "\n");
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  json provenance = {{"spec_sha256", spec_sha},
                     {"image", {{"file", image_name}, {"sha256", out.image_sha256}}},
                     {"repositories", Repositories(mirror, boot, state.hash)},
                     {"tools", ToolVersions(spec.type)},
                     {"builder", host},
                     {"source_date_epoch", state.date},
                     {"stage_keys", result.keys}};
  sys::WriteFileAtomic(options.output_dir / "provenance.json", provenance.dump(2) + "\n");
  reporter.Log("image " + out.image.string() + " sha256 " + out.image_sha256 + " (" +
               std::to_string(pkgs.size()) + " packages)");
  out.ok = true;
  return out;
}

BuildPlan PlanImage(const BuildSpec& spec, const BuildOptions& options,
                    engine::Reporter& reporter) {
  BuildPlan out;
  PreparedBuild prepared;
  if (std::optional<BuildOutcome> failed =
          PrepareBuild(spec, options, reporter, /*dry_run=*/true, prepared)) {
    out.failed_stage = failed->failed_stage;
    out.failure = failed->failure;
    return out;
  }
  engine::StageCache cache(options.cache_dir / "stages", 0);  // only read
  std::string parent_key;
  for (const std::unique_ptr<engine::Stage>& stage : prepared.stages) {
    engine::StageInputs inputs = stage->Inputs();
    inputs.parent_key = parent_key;
    PlannedStage planned;
    planned.name = stage->name();
    planned.key = inputs.Key();
    planned.cached = cache.Contains(inputs);
    planned.why = planned.cached ? "cache hit" : "miss because " + cache.ExplainMiss(inputs);
    parent_key = planned.key;
    out.stages.push_back(std::move(planned));
  }
  out.image_name = prepared.image_name;
  out.notes = prepared.notes;
  out.ok = true;
  return out;
}

}  // namespace kiln::stages
