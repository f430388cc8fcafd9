#include "spec/spec_builder.h"

#include <charconv>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/build_spec_json.h"
#include "core/grammar.h"
#include "core/sha256.h"
#include "core/text.h"
#include "core/untrusted_json.h"
#include "spec/build_values.h"
#include "spec/imagebuild_conf.h"
#include "spec/kickstart_loader.h"
#include "spec/kickstart_parser.h"
#include "spec/kickstart_writer.h"

namespace kiln::spec {
namespace {

constexpr long long kMaxDiskMiB = 2LL * 1024 * 1024;  // 2 TiB

// Keys of the seed's imagebuild.conf that only meant something to the 2012 tools (lorax,
// pungi, livecd-creator): accepted and reported as ignored.
const std::vector<std::string_view> kObsoleteKeys = {
    "outdir",   "workdir",    "tmpdir", "cachedir", "logfile", "destdir", "bugurl",
    "nosource", "sourceisos", "force",  "stage",    "flavor",  "updates", "updates-testing",
};

const std::vector<std::string_view> kSectionKeys = {
    "label", "title",   "product",    "version", "name", "config", "nvr",     "bid",
    "proxy", "release", "releasever", "mirror",  "arch", "type",   "staging", "email",
};

bool IsObsolete(std::string_view key) {
  for (std::string_view k : kObsoleteKeys) {
    if (k == key) return true;
  }
  return false;
}

// Checks that matter for images beyond kickstart syntax: partition sizes and a root.
void CheckKickstartForImage(const Kickstart& ks, const BuildSpec& spec, const std::string& file,
                            Diagnostics& diags) {
  long long total = 0;
  bool has_root = false;
  const std::vector<ParsedCommand>& parts = ks.List("part");
  for (const ParsedCommand& part : parts) {
    if (!part.args.empty() && part.args[0] == "/") has_root = true;
    if (const long long* size = part.Int("size")) {
      if (*size <= 0) {
        diags.Error(part.where, "part: --size must be a positive number of MiB",
                    "got " + std::to_string(*size));
      }
      total += *size > 0 ? *size : 0;
    }
  }
  if (total > kMaxDiskMiB) {
    diags.Error({file, 0},
                "partitions add up to " + std::to_string(total) + " MiB, more than the " +
                    std::to_string(kMaxDiskMiB) + " MiB (2 TiB) kiln builds",
                "make the partitions smaller; --grow fills the disk");
  }
  bool disk = spec.type == ImageType::kRaw || spec.type == ImageType::kQcow2;
  if (disk && !parts.empty() && !has_root && ks.Find("autopart") == nullptr) {
    diags.Error({file, 0}, "the partitions define no root file system (part /)",
                "add e.g. part / --fstype=ext4 --size=2048 --grow");
  }
  CheckBuildValues(ks, file, diags);
}

void ApplyFields(const RequestFields& f, BuildSpec& spec, const SourceLocation& where,
                 Diagnostics& diags) {
  if (f.type) {
    if (auto t = ParseImageType(*f.type)) {
      spec.type = *t;
    } else {
      diags.Error(where, "type: unknown image type '" + *f.type + "'",
                  "choose from live, raw, qcow2, tar, boot, dvd");
    }
  }
  if (f.arch) {
    if (auto a = ParseArch(*f.arch)) {
      spec.arch = *a;
    } else {
      diags.Error(where, "arch: unknown architecture '" + *f.arch + "'",
                  "choose from x86_64 (amd64) or i686 (i386)");
    }
  }
  if (f.release) spec.release = ToLower(Trim(*f.release));
  for (const RequestField& field : RequestFieldTable()) {
    if (field.spec_text != nullptr && f.*(field.text)) spec.*(field.spec_text) = *(f.*(field.text));
  }
  for (const std::string& p : f.extra_packages) {
    ExtraPackage pkg;
    if (EndsWith(p, ".deb")) {
      // A package file: goes into the build's side repository.
      PackageFile file;
      file.name = std::filesystem::path(p).filename().string();
      file.source = IsUrl(p) ? p : std::filesystem::absolute(p).string();
      if (!IsUrl(p)) {
        std::error_code ec;
        if (!std::filesystem::is_regular_file(p, ec)) {
          diags.Error(where, "package file '" + p + "' does not exist",
                      "give the path of a .deb file");
          continue;
        }
        std::ifstream in(p, std::ios::binary);
        std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        file.sha256 = Sha256Hex(bytes);
      }
      spec.package_files.push_back(file);
    } else if (ParseExtraPackage(p, pkg)) {
      spec.extra_packages.push_back(pkg);
    } else {
      diags.Error(where, "extra package '" + p + "' is not a valid package reference",
                  "write NAME or NAME=VERSION");
    }
  }
  if (!f.staging.empty()) spec.staging = f.staging;
  if (!f.email.empty()) spec.notify.email = f.email;
}

// Parses a kickstart into the spec: flattened text, plus image checks.
// `text` (if given) is taken over: the caller's string is left empty.
bool LoadKickstart(std::string_view ref, std::string* text, Resolver& resolver, BuildSpec& spec,
                   Diagnostics& diags) {
  if (size_t max = resolver.MaxTextBytes(); text != nullptr && max > 0 && text->size() > max) {
    diags.Error({std::string(ref), 0},
                "the kickstart is " + std::to_string(text->size() >> 10) +
                    " KiB, larger than this server takes (" + std::to_string(max >> 10) + " KiB)",
                "split it with %include, or ask the server's admin (--max-kickstart-kib)");
    return false;
  }
  ParseResult parsed = text != nullptr ? ParseKickstartText(std::move(*text), ref, resolver)
                                       : ParseKickstartFile(ref, resolver);
  diags.Append(parsed.diagnostics);
  if (!parsed.ok()) return false;
  spec.kickstart = WriteKickstart(parsed.kickstart);
  std::string_view name =
      ref.substr(ref.rfind('/') == std::string_view::npos ? 0 : ref.rfind('/') + 1);
  spec.kickstart_name = std::string(name);
  if (IsUrl(ref)) spec.kickstart_url = std::string(ref);
  size_t errors = diags.ErrorCount();
  CheckKickstartForImage(parsed.kickstart, spec,
                         parsed.files.empty() ? std::string(ref) : parsed.files[0], diags);
  return static_cast<size_t>(diags.ErrorCount()) == errors;
}

// The seed's staging= was a bare host ("10.0.0.27", "localhost"; its form's label: "Staging FTP
// URL (No ftp://)"), which its transfer.py took as anonymous FTP to that host, into pub/. Such
// a value (a host name, or HOST:PORT) is that URL, and a warning says so; anything else without
// a scheme is left for ValidateBuildSpec to refuse.
void ReadSeedStaging(BuildSpec& spec, const SourceLocation& where, Diagnostics& diags) {
  for (std::string& target : spec.staging) {
    if (target.find("://") != std::string::npos) continue;
    std::string_view host = target;
    size_t colon = host.rfind(':');
    if (colon != std::string_view::npos) {
      std::string_view port = host.substr(colon + 1);
      unsigned value = 0;
      auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
      if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value == 0 ||
          value > 65535) {
        continue;
      }
      host = host.substr(0, colon);
    }
    if (!IsHostName(host)) continue;
    std::string url = "ftp://" + target + "/pub/";
    diags.Warning(where,
                  "staging: '" + target + "' is the seed's spelling of " + url +
                      " (anonymous FTP, into pub/)",
                  "write the URL to say so; a local copy is file:///DIR");
    target = std::move(url);
  }
}

std::optional<BuildSpec> Finish(BuildSpec spec, const SourceLocation& where, Diagnostics& diags) {
  ApplyDefaults(spec);
  ReadSeedStaging(spec, where, diags);
  ValidateBuildSpec(spec, where, diags);
  if (diags.HasErrors()) return std::nullopt;
  return spec;
}

// Reads an imagebuild.conf's [DEFAULT] and image type section into a spec, step by step in
// the order of its diagnostics.
struct ConfReader {
  const IniFile& ini;
  const std::string& file;
  BuildSpec& spec;
  Diagnostics& diags;
  std::string section;  // the image type's, once ReadType has found it

  SourceLocation At(const IniValue* v) const { return {file, v != nullptr ? v->line : 0}; }
  // The key in the type's section, else in [DEFAULT].
  const IniValue* Get(std::string_view key) const { return ini.Get(section, key); }

  // Sets spec.type (the request's type wins over type=) and `section`; false (reported) when
  // there is no type or it is not one kiln builds.
  bool ReadType(const RequestFields& fields) {
    const IniValue* type_value = ini.Get("DEFAULT", "type");
    if (type_value == nullptr && !fields.type) {
      diags.Error({file, 0}, "no type= in [DEFAULT]",
                  "add type=live (or raw, qcow2, tar, boot, dvd)");
      return false;
    }
    std::string type_name = fields.type ? *fields.type : type_value->value;
    if (auto t = ParseImageType(type_name)) {
      spec.type = *t;
    } else {
      diags.Error(At(type_value), "type: unknown image type '" + type_name + "'",
                  "choose from live, raw, qcow2, tar, boot, dvd");
      return false;
    }
    section = std::string(ToString(spec.type));
    return true;
  }

  // Reports a missing type section (an error) and every other section (a warning: unused).
  void CheckSections() const {
    if (ini.Find(section) == nullptr) {
      diags.Error({file, 0}, "no [" + section + "] section for type=" + section,
                  "the seed's format has one section named after the image type");
    }
    for (const IniSection& s : ini.sections) {
      if (s.name != section) {
        diags.Warning({file, s.line}, "section [" + s.name + "] is not used by type=" + section);
      }
    }
  }

  // Sets spec.arch and spec.release; the section's release (or the live section's
  // releasever) overrides [DEFAULT]'s.
  void ReadArchAndRelease() {
    if (const IniValue* v = Get("arch")) {
      if (auto a = ParseArch(v->value)) {
        spec.arch = *a;
      } else {
        diags.Error(At(v), "arch: unknown architecture '" + v->value + "'",
                    "choose from x86_64 (amd64) or i686 (i386)");
      }
    }
    const IniSection* own = ini.Find(section);
    const IniValue* release = nullptr;
    if (own != nullptr && own->values.count("releasever")) release = &own->values.at("releasever");
    if (own != nullptr && own->values.count("release")) release = &own->values.at("release");
    if (release == nullptr) release = Get("release");
    if (release != nullptr) spec.release = ToLower(Trim(release->value));
  }

  // Sets the text fields, the release's mirror, staging, e-mail and nvr= packages; reports a
  // bad nvr= item and a bid= (no Koji hub).
  void ReadValues() {
    for (const RequestField& field : RequestFieldTable()) {
      if (!field.conf) continue;
      if (const IniValue* v = Get(field.key)) spec.*(field.spec_text) = v->value;
    }
    if (const IniValue* v = Get(spec.release + "_url")) spec.mirror = v->value;
    if (const IniValue* v = Get("staging")) {
      for (std::string& s : SplitNonEmpty(v->value, ',')) {
        for (std::string& t : SplitNonEmpty(s, ';')) spec.staging.push_back(t);
      }
    }
    if (const IniValue* v = Get("email")) {
      for (std::string& s : SplitNonEmpty(v->value, ',')) {
        for (std::string& t : SplitNonEmpty(s, ';')) spec.notify.email.push_back(t);
      }
    }
    if (const IniValue* v = Get("nvr")) {
      for (const std::string& item : SplitNonEmpty(v->value, ';')) {
        ExtraPackage p;
        if (ParseExtraPackage(item, p)) {
          spec.extra_packages.push_back(p);
        } else {
          diags.Error(At(v), "nvr: '" + item + "' is not a package name or name=version",
                      "separate packages with ';', e.g. nvr=htop;jq=1.6-2.1");
        }
      }
    }
    if (const IniValue* v = Get("bid"); v != nullptr && !Trim(v->value).empty()) {
      diags.Error(At(v), "bid: Koji build ids need a Koji hub, and none is configured",
                  "list the packages by name in nvr= instead, or leave bid= empty");
    }
  }

  // Every key must be known: a typo should not be silently dropped. Obsolete keys and other
  // releases' mirrors go to spec.ignored.
  void CheckKeys(const IniSection& s) {
    for (const auto& [key, value] : s.values) {
      bool known = std::find(kSectionKeys.begin(), kSectionKeys.end(), key) != kSectionKeys.end();
      if (EndsWith(key, "_url")) known = true;
      if (IsObsolete(key)) {
        spec.ignored.push_back(s.name + "." + key);
        continue;
      }
      if (EndsWith(key, "_url") && key != spec.release + "_url") {
        spec.ignored.push_back(s.name + "." + key);
        continue;
      }
      if (!known) {
        std::vector<std::string_view> cands(kSectionKeys.begin(), kSectionKeys.end());
        std::string close = ClosestMatch(key, cands);
        diags.Error({file, value.line}, "unknown key '" + key + "' in [" + s.name + "]",
                    close.empty() ? std::string("see docs/imagebuild-conf.md")
                                  : "did you mean " + close + "?");
      }
    }
  }
};

}  // namespace

bool LooksLikeIni(std::string_view text) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = Trim(text.substr(pos, end - pos));
    pos = end + 1;
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    return line[0] == '[';
  }
  return false;
}

std::optional<BuildSpec> SpecFromKickstart(std::string_view path, const RequestFields& fields,
                                           Resolver& resolver, Diagnostics& diags) {
  BuildSpec spec;
  SourceLocation where{std::string(path), 0};
  ApplyFields(fields, spec, where, diags);
  LoadKickstart(path, nullptr, resolver, spec, diags);
  return Finish(std::move(spec), where, diags);
}

std::optional<BuildSpec> SpecFromKickstartText(std::string text, std::string_view name,
                                               const RequestFields& fields, Resolver& resolver,
                                               Diagnostics& diags) {
  BuildSpec spec;
  SourceLocation where{std::string(name), 0};
  ApplyFields(fields, spec, where, diags);
  LoadKickstart(name, &text, resolver, spec, diags);
  return Finish(std::move(spec), where, diags);
}

std::optional<BuildSpec> SpecFromImagebuildConf(std::string_view path, const RequestFields& fields,
                                                Resolver& resolver, Diagnostics& diags) {
  LoadedText loaded;
  if (Status read = resolver.Read(path, nullptr, loaded); !read.ok()) {
    diags.Error({std::string(path), 0}, "cannot read imagebuild.conf: " + read.message());
    return std::nullopt;
  }
  return SpecFromImagebuildConfText(loaded.text, loaded.name, fields, resolver, diags);
}

std::optional<BuildSpec> SpecFromImagebuildConfText(std::string_view text, std::string_view name,
                                                    const RequestFields& fields, Resolver& resolver,
                                                    Diagnostics& diags) {
  IniFile ini;
  if (!ParseIni(text, name, ini, diags)) return std::nullopt;
  BuildSpec spec;
  std::string file(name);
  ConfReader conf{ini, file, spec, diags, ""};
  if (!conf.ReadType(fields)) return std::nullopt;
  conf.CheckSections();
  conf.ReadArchAndRelease();
  conf.ReadValues();
  conf.CheckKeys(ini.defaults);
  if (const IniSection* own = ini.Find(conf.section); own != nullptr) conf.CheckKeys(*own);

  ApplyFields(fields, spec, {file, 0}, diags);

  if (const IniValue* v = conf.Get("config"); v != nullptr && !Trim(v->value).empty()) {
    std::string ref = IsUrl(v->value) ? v->value : ResolveRelative(file, v->value);
    LoadKickstart(ref, nullptr, resolver, spec, diags);
  }
  return Finish(std::move(spec), {file, 0}, diags);
}

std::optional<BuildSpec> SpecFromJson(std::string json_text, std::string_view name,
                                      Resolver& resolver, Diagnostics& diags) {
  SourceLocation where{std::string(name), 0};
  std::string error;
  nlohmann::json j = ParseUntrustedJson(json_text, &error);
  std::string().swap(json_text);  // a large kickstart is in it, and now in `j` too
  if (j.is_discarded()) {
    diags.Error(where, error, "check quotes, commas and brackets");
    return std::nullopt;
  }
  BuildSpec spec;
  if (!BuildSpecFromJson(j, spec, where, diags)) return std::nullopt;
  j = nullptr;  // a large kickstart is held once at a time: here in spec, then in the parser
  if (!spec.kickstart.empty()) {
    std::string text = std::move(spec.kickstart);
    std::string label =
        spec.kickstart_name.empty() ? std::string(name) + "#kickstart" : spec.kickstart_name;
    std::string keep_name = spec.kickstart_name;
    LoadKickstart(label, &text, resolver, spec, diags);
    spec.kickstart_name = keep_name;
  } else if (!spec.kickstart_url.empty()) {
    LoadKickstart(spec.kickstart_url, nullptr, resolver, spec, diags);
  }
  return Finish(std::move(spec), where, diags);
}

}  // namespace kiln::spec
