#include "spec/kickstart_writer.h"

#include <algorithm>

#include "core/text.h"
#include "spec/option_parser.h"

namespace kiln::spec {
namespace {

void WriteScript(const Script& s, std::string& out) {
  out += '\n';
  out += ScriptSectionName(s.kind);
  if (!s.interpreter.empty() && s.interpreter != "/bin/sh") {
    out += " --interpreter=" + QuoteIfNeeded(s.interpreter);
  }
  if (s.kind == ScriptKind::kPost && !s.in_chroot) out += " --nochroot";
  if (s.log) out += " --logfile=" + QuoteIfNeeded(*s.log);
  if (s.error_on_fail) out += " --erroronfail";
  out += '\n';
  out += s.body;
  if (!s.body.empty() && s.body.back() != '\n') out += '\n';
  out += "%end\n";
}

std::string GroupLine(const PackageGroup& g) {
  switch (g.include) {
    case GroupInclude::kRequired:
      return "@" + g.name + " --nodefaults";
    case GroupInclude::kAll:
      return "@" + g.name + " --optional";
    case GroupInclude::kDefault:
      break;
  }
  return "@" + g.name;
}

void WritePackages(const Packages& p, std::string& out) {
  std::string opts;
  if (p.default_packages) opts += " --default";
  if (p.exclude_docs) opts += " --excludedocs";
  if (p.no_core) opts += " --nocore";
  if (p.ignore_missing) opts += " --ignoremissing";
  if (p.ignore_broken) opts += " --ignorebroken";
  if (p.inst_langs) opts += " --inst-langs=" + QuoteIfNeeded(*p.inst_langs);
  if (p.multilib) opts += " --multilib";
  if (p.exclude_weakdeps) opts += " --exclude-weakdeps";
  if (p.timeout) opts += " --timeout=" + std::to_string(*p.timeout);
  if (p.retries) opts += " --retries=" + std::to_string(*p.retries);

  std::string body;
  if (!p.default_packages && p.environment) body += "@^" + *p.environment + "\n";
  std::vector<PackageGroup> groups = p.groups;
  auto by_name = [](const PackageGroup& a, const PackageGroup& b) { return a.name < b.name; };
  std::stable_sort(groups.begin(), groups.end(), by_name);
  for (const PackageGroup& g : groups) body += GroupLine(g) + "\n";
  for (const std::string& name : p.packages) body += name + "\n";
  std::vector<PackageGroup> excluded_groups = p.excluded_groups;
  std::stable_sort(excluded_groups.begin(), excluded_groups.end(), by_name);
  for (const PackageGroup& g : excluded_groups) body += "-" + GroupLine(g) + "\n";
  for (const std::string& name : p.excluded) body += "-" + name + "\n";

  if (opts.empty() && body.empty() && !p.seen) return;
  out += "\n%packages" + opts + "\n" + body + "\n%end\n";
}

// The shortest alias of a data-list command ("part" for part/partition), as pykickstart
// writes its data objects.
std::string_view ItemName(const ParsedCommand& item) {
  std::string_view best = item.name;
  for (const CommandSpec& c : AllCommands()) {
    if (c.pyclass == item.spec->pyclass && c.name.size() < best.size()) best = c.name;
  }
  return best;
}

// A deprecated spelling is written as the current option that sets the same thing
// (`timezone --isUtc` as --utc), as pykickstart's __str__ writes the attribute.
const OptionSpec& WrittenOption(const CommandSpec& spec, const OptionSpec& o) {
  if (o.deprecated.empty()) return o;
  for (const OptionSpec& other : spec.options) {
    if (other.deprecated.empty() && other.dest == o.dest && other.action == o.action) {
      return other;
    }
  }
  return o;
}

}  // namespace

// Commands whose positional arguments read best first ("part / --size=1"), as pykickstart
// writes them; the others get options first ("rootpw --iscrypted HASH").
constexpr std::string_view kPositionalFirst[] = {
    "btrfs",     "iscsiname", "keyboard", "lang",     "logvol",  "mount",    "part",
    "partition", "raid",      "snapshot", "timezone", "updates", "volgroup",
};

std::string WriteCommand(const ParsedCommand& cmd, std::string_view name) {
  std::string options;
  // Keep only the last of repeated single-valued options; lists keep every occurrence.
  for (size_t i = 0; i < cmd.given.size(); ++i) {
    const ParsedCommand::Given& g = cmd.given[i];
    const OptionSpec& o = *g.option;
    bool repeatable = o.action == OptAction::kAppend || o.action == OptAction::kExtend ||
                      o.action == OptAction::kAppendConst;
    if (!repeatable) {
      bool later =
          std::any_of(cmd.given.begin() + static_cast<long>(i) + 1, cmd.given.end(),
                      [&](const ParsedCommand::Given& x) { return x.option->dest == o.dest; });
      if (later) continue;
    }
    options += ' ';
    options += CanonicalFlag(WrittenOption(*cmd.spec, o));
    bool takes_value = o.action == OptAction::kStore || o.action == OptAction::kAppend ||
                       o.action == OptAction::kExtend ||
                       (o.action == OptAction::kOptionalValue && !g.value.empty());
    if (takes_value) {
      options += '=';
      options += QuoteIfNeeded(g.value);
    }
  }
  std::string args;
  for (const std::string& a : cmd.args) {
    args += ' ';
    args += QuoteIfNeeded(a);
  }
  // A positional that looks like an option must come after "--" to stay positional.
  // (Commands that take their words raw read "--" as a word, so they never get one.)
  bool dashes = !cmd.spec->raw_args &&
                std::any_of(cmd.args.begin(), cmd.args.end(),
                            [](const std::string& a) { return a.size() > 1 && a[0] == '-'; });
  bool positional_first =
      !dashes && std::find(std::begin(kPositionalFirst), std::end(kPositionalFirst), name) !=
                     std::end(kPositionalFirst);
  std::string out(name);
  if (positional_first) return out + args + options;
  out += options;
  if (dashes) out += " --";
  return out + args;
}

std::string WriteKickstart(const Kickstart& ks) {
  std::string out = "# Generated by kiln " KILN_VERSION " (pykickstart F45 syntax)\n";
  if (!ks.platform.empty()) out += "#platform=" + ks.platform + "\n";
  out += "#version=DEVEL\n";
  for (const CommandEntry& e : ks.commands) {
    if (e.spec->kind == CommandKind::kDataList) {
      for (const ParsedCommand& item : e.items) out += WriteCommand(item, ItemName(item)) + "\n";
    } else if (e.merged.spec != nullptr) {
      out += WriteCommand(e.merged, e.merged.name) + "\n";
    }
  }
  // Script bodies are most of a large kickstart: room for them at once, not by doubling.
  size_t bodies = 0;
  for (const Script& s : ks.scripts) bodies += s.body.size() + 128;
  for (const OpaqueSection& s : ks.opaque_sections) bodies += s.body.size() + 128;
  out.reserve(out.size() + bodies + 4096);
  for (const Script& s : ks.scripts) WriteScript(s, out);
  for (const OpaqueSection& s : ks.opaque_sections) {
    out += '\n';
    for (size_t i = 0; i < s.header.size(); ++i) {
      if (i > 0) out += ' ';
      out += i == 0 ? s.header[i] : QuoteIfNeeded(s.header[i]);
    }
    out += "\n" + s.body + "%end\n";
  }
  WritePackages(ks.packages, out);
  // Last, after %packages, as pykickstart's handler writes them.
  for (const Certificate& c : ks.certificates) {
    out += "\n%certificate --filename=" + QuoteIfNeeded(c.filename);
    if (!c.type.empty()) out += " --type=" + QuoteIfNeeded(c.type);
    if (!c.dir.empty()) out += " --dir=" + QuoteIfNeeded(c.dir);
    out += "\n" + c.body + "%end\n";
  }
  return out;
}

}  // namespace kiln::spec
