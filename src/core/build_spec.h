// BuildSpec: one normalized, validated build request. It is what the CLI, the API and the
// seed's imagebuild.conf all turn into, and what travels to a worker. No I/O here.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/diagnostics.h"

namespace kiln {

enum class ImageType { kLive, kRaw, kQcow2, kTar, kBoot, kDvd };
enum class Arch { kX86_64, kI686 };

// "live", "raw", ... (case-insensitive); nullopt if unknown.
std::optional<ImageType> ParseImageType(std::string_view text);
std::string_view ToString(ImageType type);
// The types this version's engine builds (not yet the installer ISOs, boot and dvd); the
// server refuses the others at submit and lists these per release.
inline constexpr ImageType kBuildableTypes[] = {ImageType::kTar, ImageType::kRaw, ImageType::kQcow2,
                                                ImageType::kLive};
bool CanBuild(ImageType type);
std::string BuildableTypesText();  // "tar, raw, qcow2 and live", for messages
// Accepts the seed's names (x86_64, i686) and Debian's (amd64, i386).
std::optional<Arch> ParseArch(std::string_view text);
std::string_view ToString(Arch arch);    // the seed's name: x86_64, i686
std::string_view DebianArch(Arch arch);  // amd64, i386

// The releases kiln knows how to build until releases become configurable on the master.
struct ReleaseInfo {
  std::string_view name;     // "bookworm"
  std::string_view family;   // "debian"
  std::string_view version;  // "12"
};
std::span<const ReleaseInfo> KnownReleases();
// By name or version number ("bookworm" or "12"), or nullptr.
const ReleaseInfo* FindRelease(std::string_view name_or_version);

// An extra package by name, optionally pinned: "jq" or "jq=1.6-2.1".
struct ExtraPackage {
  std::string name;
  std::string version;  // empty: any version
  bool operator==(const ExtraPackage&) const = default;
};

// A package file that goes into the build's side repository.
struct PackageFile {
  std::string name;    // file name, e.g. "tool_1.0_amd64.deb"
  std::string source;  // URL or server-side path of the uploaded file
  std::string sha256;  // expected digest, if known
  bool operator==(const PackageFile&) const = default;
};

struct Notify {
  std::vector<std::string> email;
  std::vector<std::string> webhook;
  bool operator==(const Notify&) const = default;
};

struct BuildSpec {
  ImageType type = ImageType::kLive;
  Arch arch = Arch::kX86_64;
  std::string release = "bookworm";

  std::string kickstart;       // flattened kickstart text ("" = the release's defaults)
  std::string kickstart_url;   // where the kickstart came from, when it was a URL
  std::string kickstart_name;  // its file name, for display

  // Image metadata: file names, ISO volume id (label), boot menu title.
  std::string name;
  std::string label;
  std::string title;
  std::string product;
  std::string version;

  std::vector<ExtraPackage> extra_packages;
  std::vector<PackageFile> package_files;
  std::string mirror;                // overrides the release's mirror
  std::string proxy;                 // HTTP proxy for package downloads
  std::vector<std::string> staging;  // targets the image is copied to after success
  Notify notify;

  // What the kickstart's %post scripts may reach: "" (what the build host gives: none for a
  // service, outbound for `kiln build`), "none", or "outbound" (refused where the host gives
  // none).
  std::string script_network;

  // Plan only: the worker answers with the stages and, for each, whether the cache has it
  // and why, without downloading or building anything.
  bool dry_run = false;

  // Request keys that were accepted but have no effect (the seed's obsolete keys), as
  // "section.key"; reported to the user, never an error.
  std::vector<std::string> ignored;

  bool operator==(const BuildSpec&) const = default;
};

// Fills unset metadata from the rest (name from product/release/type, label from name...).
void ApplyDefaults(BuildSpec& spec);

// Checks every field and adds every problem found (not only the first). `where` labels
// the messages (the request's file name, or "request").
void ValidateBuildSpec(const BuildSpec& spec, const SourceLocation& where, Diagnostics& diags);
// How many e-mail addresses, webhooks and staging targets one build may name.
inline constexpr size_t kMaxBuildEmails = 10;
inline constexpr size_t kMaxBuildWebhooks = 5;
inline constexpr size_t kMaxBuildStagingTargets = 5;

// Parses "name" / "name=version"; false if the text is not a valid Debian package
// reference.
bool ParseExtraPackage(std::string_view text, ExtraPackage& out);

}  // namespace kiln
