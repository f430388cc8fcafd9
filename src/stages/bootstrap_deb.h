// The bootstrap stage for Debian releases: mmdebstrap installs the release's minimal base
// plus the requested packages into a root tree (the stage's output "root/").
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "engine/executor.h"
#include "stages/debian_mirror.h"
#include "sys/sandbox.h"

namespace kiln::stages {

struct DebianBootstrapOptions {
  std::string suite;                    // "bookworm"
  std::string arch;                     // Debian's name: "amd64", "i386"
  std::string mirror;                   // "http://deb.debian.org/debian"
  std::string mirror_state;             // SHA-256 of the suite's InRelease (see debian_mirror.h)
  std::vector<std::string> packages;    // to install ("name" or "name=version"), sorted
  std::vector<std::string> excluded;    // to remove if something pulled them in, sorted
  bool exclude_docs = false;            // %packages --excludedocs
  std::filesystem::path package_cache;  // shared downloads: kept across builds
  std::string proxy;                    // HTTP proxy for apt, or ""
  long long source_date_epoch = 0;      // for reproducible files (the mirror state's date)
  std::vector<ExtraRepository> repositories;  // kickstart repo lines, with their states
  // mmdebstrap's variant: "minbase" for images; "extract" (the packages' files only, no
  // essential set, no maintainer scripts) lets tests use a tiny repository of their own.
  std::string variant = "minbase";
  int network_attempts = 3;  // tries when the repository cannot be reached
  int retry_pause_s = 5;     // pause before the second try; grows linearly
};

class DebianBootstrapStage : public engine::Stage {
 public:
  explicit DebianBootstrapStage(DebianBootstrapOptions options) : options_(std::move(options)) {}
  std::string name() const override { return "bootstrap"; }
  engine::StageInputs Inputs() const override;
  bool Run(const engine::StageContext& ctx, engine::StageFailure& failure) override;

  // The mmdebstrap command line for `target`, a path in the sandbox (exposed for tests).
  std::vector<std::string> Command(const std::filesystem::path& target) const;
  // Local repositories (file://, kiln's side repositories) and where the sandbox sees them.
  std::vector<sys::SandboxOptions::HostPath> LocalSources() const;
  // The request's values the hooks of Command read (KILN_EXCLUDED, KILN_BUILD_ONLY_URIS):
  // passed in the environment, never pasted into the hooks' shell text.
  std::vector<std::pair<std::string, std::string>> HookEnvironment() const;

 private:
  std::string Repositories() const;
  // A repository's URI as the sandbox sees it (side repositories are attached under /run).
  std::string SandboxUri(size_t index) const;
  bool RunOnce(const engine::StageContext& ctx, engine::StageFailure& failure);
  DebianBootstrapOptions options_;
};

// Reads a failed mmdebstrap/apt run's output and says what went wrong: a missing package
// (named), an unreachable mirror (the URL), a full disk; otherwise a generic failure.
engine::StageFailure ClassifyAptFailure(const std::vector<std::string>& output_tail,
                                        const std::string& stage);

}  // namespace kiln::stages
