#include "core/build_spec.h"

#include <array>
#include <cctype>
#include <set>

#include "core/grammar.h"
#include "core/text.h"

namespace kiln {
namespace {

constexpr std::array<ReleaseInfo, 2> kReleases = {{
    {"bookworm", "debian", "12"},
    {"trixie", "debian", "13"},
}};

constexpr size_t kMaxKickstartBytes = 4u << 20;

bool AllOf(std::string_view s, bool (*ok)(char)) {
  for (char c : s) {
    if (!ok(c)) return false;
  }
  return true;
}

bool IsAlnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }
bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

bool IsFileNameChar(char c) { return IsAlnum(c) || c == '.' || c == '_' || c == '+' || c == '-'; }
bool IsVersionChar(char c) { return IsFileNameChar(c) || c == '~' || c == ':'; }
bool IsPackageNameChar(char c) { return IsLowerAlnum(c) || c == '+' || c == '-' || c == '.'; }
bool IsVolumeIdChar(char c) { return IsAlnum(c) || c == '_' || c == '-' || c == '.' || c == ' '; }
bool IsPrintable(char c) { return static_cast<unsigned char>(c) >= 0x20 && c != 0x7f; }
// The title lands in GRUB's menu between quotes.
bool IsTitleChar(char c) {
  return IsPrintable(c) && c != '\'' && c != '"' && c != '\\' && c != '$' && c != '`';
}

}  // namespace

std::optional<ImageType> ParseImageType(std::string_view text) {
  std::string t = ToLower(Trim(text));
  if (t == "live") return ImageType::kLive;
  if (t == "raw") return ImageType::kRaw;
  if (t == "qcow2") return ImageType::kQcow2;
  if (t == "tar") return ImageType::kTar;
  if (t == "boot") return ImageType::kBoot;
  if (t == "dvd") return ImageType::kDvd;
  return std::nullopt;
}

std::string_view ToString(ImageType type) {
  switch (type) {
    case ImageType::kLive:
      return "live";
    case ImageType::kRaw:
      return "raw";
    case ImageType::kQcow2:
      return "qcow2";
    case ImageType::kTar:
      return "tar";
    case ImageType::kBoot:
      return "boot";
    case ImageType::kDvd:
      return "dvd";
  }
  return "live";
}

bool CanBuild(ImageType type) {
  for (ImageType t : kBuildableTypes) {
    if (t == type) return true;
  }
  return false;
}

std::string BuildableTypesText() {
  std::string out;
  size_t n = std::size(kBuildableTypes);
  for (size_t i = 0; i < n; ++i) {
    out += (i == 0 ? "" : i + 1 == n ? " and " : ", ") + std::string(ToString(kBuildableTypes[i]));
  }
  return out;
}

std::optional<Arch> ParseArch(std::string_view text) {
  std::string t = ToLower(Trim(text));
  if (t == "x86_64" || t == "amd64") return Arch::kX86_64;
  if (t == "i686" || t == "i386") return Arch::kI686;
  return std::nullopt;
}

std::string_view ToString(Arch arch) { return arch == Arch::kX86_64 ? "x86_64" : "i686"; }
std::string_view DebianArch(Arch arch) { return arch == Arch::kX86_64 ? "amd64" : "i386"; }

std::span<const ReleaseInfo> KnownReleases() { return kReleases; }

const ReleaseInfo* FindRelease(std::string_view name_or_version) {
  std::string t = ToLower(Trim(name_or_version));
  for (const ReleaseInfo& r : kReleases) {
    if (r.name == t || r.version == t) return &r;
  }
  return nullptr;
}

bool ParseExtraPackage(std::string_view text, ExtraPackage& out) {
  std::string_view t = Trim(text);
  size_t eq = t.find('=');
  std::string_view name = Trim(t.substr(0, eq));
  std::string_view version = eq == std::string_view::npos ? "" : Trim(t.substr(eq + 1));
  if (name.size() < 2 || name.size() > 128 || !IsLowerAlnum(name[0]) ||
      !AllOf(name, IsPackageNameChar)) {
    return false;
  }
  if (eq != std::string_view::npos &&
      (version.empty() || !std::isdigit(static_cast<unsigned char>(version[0])) ||
       !AllOf(version, IsVersionChar))) {
    return false;
  }
  out.name = std::string(name);
  out.version = std::string(version);
  return true;
}

void ApplyDefaults(BuildSpec& spec) {
  if (const ReleaseInfo* r = FindRelease(spec.release)) spec.release = std::string(r->name);
  if (spec.product.empty()) spec.product = "kiln";
  if (spec.name.empty()) {
    spec.name = spec.product + "-" + spec.release + "-" + std::string(ToString(spec.type)) + "-" +
                std::string(ToString(spec.arch));
  }
  if (spec.label.empty()) {
    std::string label;
    for (char c : spec.name) {
      label += IsVolumeIdChar(c) && c != ' ' ? static_cast<char>(std::toupper(c)) : '_';
    }
    spec.label = label.substr(0, 32);
  }
  if (spec.title.empty()) {
    spec.title = spec.product + " " + spec.release + " (" + std::string(ToString(spec.arch)) + ")";
  }
}

namespace {

// Reports a field's error at the request's location.
struct SpecError {
  const SourceLocation& where;
  Diagnostics& diags;
  void operator()(std::string message, std::string hint = {}) const {
    diags.Error(where, std::move(message), std::move(hint));
  }
};

// Reports a release kiln does not build, with the closest name or else the known ones.
void CheckRelease(const BuildSpec& spec, const SpecError& error) {
  if (FindRelease(spec.release) == nullptr) {
    std::string known;
    for (const ReleaseInfo& r : kReleases) {
      if (!known.empty()) known += ", ";
      known += std::string(r.name) + " (" + std::string(r.version) + ")";
    }
    std::vector<std::string_view> names;
    for (const ReleaseInfo& r : kReleases) names.push_back(r.name);
    std::string close = ClosestMatch(spec.release, names);
    error("release: unknown release '" + spec.release + "'",
          close.empty() ? "known releases: " + known : "did you mean " + close + "?");
  }
}

// Reports an oversized kickstart and a bad name, label, title, product or version.
void CheckTexts(const BuildSpec& spec, const SpecError& error) {
  if (spec.kickstart.size() > kMaxKickstartBytes) {
    error("kickstart: " + std::to_string(spec.kickstart.size()) + " bytes, more than the " +
              std::to_string(kMaxKickstartBytes) + " allowed",
          "move large content out of %post into packages or files fetched at build time");
  }
  if (!spec.name.empty() &&
      (spec.name.size() > 64 || !IsAlnum(spec.name[0]) || !AllOf(spec.name, IsFileNameChar))) {
    error("name: '" + spec.name + "' is not a valid image name",
          "use up to 64 letters, digits, '.', '_', '+' or '-', starting with a letter or digit");
  }
  if (spec.label.size() > 32 || !AllOf(spec.label, IsVolumeIdChar)) {
    error("label: '" + spec.label + "' is not a valid ISO volume id",
          "use up to 32 letters, digits, spaces, '_', '-' or '.'");
  }
  if (spec.title.size() > 128 || !AllOf(spec.title, IsTitleChar)) {
    error("title: '" + Printable(spec.title) + "' is not a valid boot menu title",
          "use at most 128 printable characters without quotes, '\\', '$' or '`'");
  }
  for (auto [field, value] : {std::pair<const char*, const std::string*>{"product", &spec.product},
                              {"version", &spec.version}}) {
    if (value->size() > 64 || !AllOf(*value, IsVersionChar)) {
      error(std::string(field) + ": '" + *value + "' is not valid",
            "use up to 64 letters, digits, '.', '_', '+', '~', ':' or '-'");
    }
  }
}

// Reports bad or repeated extra packages and package files with a bad name or SHA-256.
void CheckPackages(const BuildSpec& spec, const SpecError& error) {
  std::set<std::string> seen;
  for (const ExtraPackage& p : spec.extra_packages) {
    ExtraPackage check;
    std::string text = p.version.empty() ? p.name : p.name + "=" + p.version;
    if (!ParseExtraPackage(text, check)) {
      error("extra_packages: '" + text + "' is not a valid package reference",
            "write NAME or NAME=VERSION with a Debian package name (lower case, digits, + - .)");
    }
    if (!seen.insert(p.name).second) {
      error("extra_packages: '" + p.name + "' is listed twice", "list each package once");
    }
  }
  for (const PackageFile& f : spec.package_files) {
    if (!IsPlainFileName(f.name) || !EndsWith(f.name, ".deb")) {
      error("package_files: '" + Printable(f.name) + "' is not a .deb file name",
            "name the file NAME_VERSION_ARCH.deb with letters, digits, '.', '_', '+' or '-'");
    }
    if (!f.sha256.empty() && (f.sha256.size() != 64 || !AllOf(f.sha256, [](char c) {
                                return std::isxdigit(static_cast<unsigned char>(c)) != 0;
                              }))) {
      error("package_files: sha256 of '" + f.name + "' is not 64 hex digits");
    }
  }
}

// Reports a script_network other than empty, none or outbound.
void CheckScriptNetwork(const BuildSpec& spec, const SpecError& error) {
  if (!spec.script_network.empty() && spec.script_network != "none" &&
      spec.script_network != "outbound") {
    error("script_network: '" + Printable(spec.script_network) + "' is not none or outbound",
          "say none (loopback only) or outbound (the internet, never the build host), or leave "
          "it out for what the build host gives");
  }
}

// Reports a bad mirror, proxy, kickstart, staging or webhook URL or e-mail address.
void CheckUrlsAndAddresses(const BuildSpec& spec, const SpecError& error) {
  // URLs reach apt's configuration, sources lines and other programs' command lines: only
  // what RFC 3986's grammar allows gets through (no spaces, quotes or line breaks).
  auto check_url = [&](const char* field, const std::string& url,
                       std::initializer_list<std::string_view> schemes, const char* hint) {
    std::string why;
    if (!NormalizeUrl(url, schemes, &why)) {
      error(std::string(field) + ": '" + Printable(url) + "' is not a valid URL: " + why, hint);
    }
  };
  if (!spec.mirror.empty()) {
    check_url("mirror", spec.mirror, {"http", "https", "ftp", "file"},
              "give the mirror's http, https, ftp or file URL, e.g. http://deb.debian.org/debian");
  }
  if (!spec.proxy.empty()) {
    check_url("proxy", spec.proxy, {"http", "https"},
              "give the proxy as http://HOST:PORT (no spaces, quotes or apt options)");
  }
  if (!spec.kickstart_url.empty()) {
    check_url("kickstart_url", spec.kickstart_url, {"http", "https", "ftp"},
              "give an http, https or ftp URL");
  }
  for (const std::string& target : spec.staging) {
    check_url("staging", target, {"file", "ftp", "sftp"}, "give a file:///, ftp:// or sftp:// URL");
  }
  // The master sends each of these itself: a request may not turn one build into a flood
  // (every webhook is called at each state change, every target gets the whole image).
  auto at_most = [&](const char* field, size_t n, size_t limit, const char* what,
                     const char* hint) {
    if (n > limit) {
      error(std::string(field) + ": " + std::to_string(n) + " " + what + ", more than the " +
                std::to_string(limit) + " a build may have",
            hint);
    }
  };
  at_most("notify.email", spec.notify.email.size(), kMaxBuildEmails, "addresses",
          "name at most 10 (a list address reaches more people)");
  at_most("notify.webhook", spec.notify.webhook.size(), kMaxBuildWebhooks, "webhooks",
          "name at most 5 (one receiver can fan out to more)");
  at_most("staging", spec.staging.size(), kMaxBuildStagingTargets, "staging targets",
          "name at most 5 (copy from one staging area to more)");
  for (const std::string& email : spec.notify.email) {
    if (!IsEmailAddress(email)) {
      error("notify.email: '" + Printable(email) + "' is not an e-mail address",
            "write one address such as user@example.org per entry");
    }
  }
  for (const std::string& hook : spec.notify.webhook) {
    check_url("notify.webhook", hook, {"http", "https"}, "give an http or https URL");
  }
}

}  // namespace

void ValidateBuildSpec(const BuildSpec& spec, const SourceLocation& where, Diagnostics& diags) {
  const SpecError error{where, diags};
  CheckRelease(spec, error);
  CheckTexts(spec, error);
  CheckPackages(spec, error);
  CheckScriptNetwork(spec, error);
  CheckUrlsAndAddresses(spec, error);
}

}  // namespace kiln
