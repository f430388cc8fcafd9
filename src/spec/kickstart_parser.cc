#include "spec/kickstart_parser.h"

#include <algorithm>
#include <map>
#include <set>
#include <unordered_map>

#include "core/text.h"
#include "spec/line_stream.h"
#include "spec/option_parser.h"
#include "spec/packages_builder.h"
#include "spec/shlex.h"

namespace kiln::spec {
namespace {

// --- Section header options (pykickstart sections.py, F45) ---------------------------------

constexpr OptionSpec kScriptOptions[] = {
    {.flags = "--erroronfail", .dest = "errorOnFail", .action = OptAction::kStoreTrue},
    {.flags = "--interpreter", .dest = "interpreter"},
    {.flags = "--log --logfile", .dest = "log"},
};

constexpr OptionSpec kPostScriptOptions[] = {
    {.flags = "--erroronfail", .dest = "errorOnFail", .action = OptAction::kStoreTrue},
    {.flags = "--interpreter", .dest = "interpreter"},
    {.flags = "--log --logfile", .dest = "log"},
    {.flags = "--nochroot", .dest = "nochroot", .action = OptAction::kStoreTrue},
};

constexpr OptionSpec kPackagesOptions[] = {
    {.flags = "--excludedocs", .dest = "excludedocs", .action = OptAction::kStoreTrue},
    {.flags = "--ignoremissing", .dest = "ignoremissing", .action = OptAction::kStoreTrue},
    {.flags = "--default", .dest = "defaultPackages", .action = OptAction::kStoreTrue},
    {.flags = "--inst-langs", .dest = "instLangs"},
    // F40 deprecated the camelCase spellings (sections.py:754-756): the usual warning, and the
    // value still applies.
    {.flags = "--instLangs", .dest = "instLangs", .deprecated = "F40"},
    {.flags = "--multilib", .dest = "multiLib", .action = OptAction::kStoreTrue},
    {.flags = "--nocore", .dest = "nocore", .action = OptAction::kStoreTrue},
    {.flags = "--timeout", .dest = "timeout", .type = OptType::kInt},
    {.flags = "--retries", .dest = "retries", .type = OptType::kInt},
    {.flags = "--exclude-weakdeps", .dest = "excludeWeakdeps", .action = OptAction::kStoreTrue},
    {.flags = "--excludeWeakdeps",
     .dest = "excludeWeakdeps",
     .action = OptAction::kStoreTrue,
     .deprecated = "F40"},
    {.flags = "--ignorebroken", .dest = "ignorebroken", .action = OptAction::kStoreTrue},
};

constexpr RemovedOption kPackagesRemoved[] = {
    {.flag = "--ignoredeps", .version = "F9"},
    {.flag = "--resolvedeps", .version = "F9"},
    {.flag = "--nobase", .version = "F22"},
};

// pykickstart sections.py, CertificateSection: --filename is required, --dir is required
// only without --type (F45 added --type; handleHeader checks "one of").
constexpr OptionSpec kCertificateOptions[] = {
    {.flags = "--filename", .dest = "filename", .required = true},
    {.flags = "--dir", .dest = "dir"},
    {.flags = "--type", .dest = "type", .since = "F45"},
};

enum class SectionType { kScript, kPackages, kCertificate, kOpaque };

struct SectionInfo {
  std::string_view name;
  SectionType type;
  ScriptKind script_kind = ScriptKind::kPre;
};

constexpr SectionInfo kSections[] = {
    {"%pre", SectionType::kScript, ScriptKind::kPre},
    {"%pre-install", SectionType::kScript, ScriptKind::kPreInstall},
    {"%post", SectionType::kScript, ScriptKind::kPost},
    {"%onerror", SectionType::kScript, ScriptKind::kOnError},
    {"%traceback", SectionType::kScript, ScriptKind::kTraceback},
    {"%packages", SectionType::kPackages},
    {"%certificate", SectionType::kCertificate},
    {"%addon", SectionType::kOpaque},
    {"%anaconda", SectionType::kOpaque},
};

const SectionInfo* FindSection(std::string_view name) {
  for (const SectionInfo& s : kSections) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

// Python's str.isspace() or "" or a comment: lines every section but scripts skip.
bool IsBlankOrComment(std::string_view line) {
  std::string_view t = Trim(line);
  return t.empty() || t[0] == '#';
}

std::string OneValueKey(const ParsedCommand& cmd, std::string_view key) {
  if (key == "arg0") return cmd.args.empty() ? std::string() : cmd.args[0];
  auto it = cmd.values.find(key);
  if (it == cmd.values.end()) return {};
  if (auto* s = std::get_if<std::string>(&it->second)) return *s;
  if (auto* n = std::get_if<long long>(&it->second)) return std::to_string(*n);
  return {};
}

// Positional arguments that pykickstart passes through its mountpoint() type.
struct MountpointArg {
  std::string_view command;
  size_t index;
};
constexpr MountpointArg kMountpointArgs[] = {
    {"btrfs", 0}, {"logvol", 0}, {"mount", 1}, {"part", 0}, {"partition", 0}, {"raid", 0},
};

// The parts of a data item's identity ("name+vgname" -> its name and vgname values); empty if
// a part is missing.
std::vector<std::string> KeyParts(const ParsedCommand& cmd, std::string_view key) {
  std::vector<std::string> parts;
  for (const std::string& k : SplitNonEmpty(key, '+')) {
    std::string v = OneValueKey(cmd, k);
    if (v.empty()) return {};
    parts.push_back(std::move(v));
  }
  return parts;
}

// `pattern` with each %s replaced by the next of `args`.
std::string FormatAll(std::string_view pattern, const std::vector<std::string>& args) {
  std::string out(pattern);
  size_t from = 0;
  for (const std::string& a : args) {
    size_t pos = out.find("%s", from);
    if (pos == std::string::npos) break;
    out.replace(pos, 2, a);
    from = pos + a.size();
  }
  return out;
}

class Parser {
 public:
  Parser(Resolver& resolver, const ParserOptions& options, ParseResult& result)
      : result_(result),
        diags_(result.diagnostics),
        stream_(resolver, options.follow_includes, options.max_include_depth, result.diagnostics,
                result.files) {}

  void Run(std::string_view ref, std::string* text) {
    if (!stream_.Start(ref, text)) return;
    Line line;
    while (!Stopped() && NextCommandLine(line)) {
      ShlexResult split = ShlexSplit(line.text);
      if (!split.error.empty()) {
        diags_.Error(line.where, "General error in input file: " + split.error,
                     "check the quotes and backslashes on this line");
        continue;
      }
      if (split.words.empty()) continue;
      const std::string& first = split.words[0];
      if (first == "%include") {
        if (split.words.size() < 2 || split.words[1].empty()) {
          diags_.Error(line.where, "%include needs a file name or URL");
          continue;
        }
        stream_.Include(split.words[1], line.where);
        continue;
      }
      if (first == "%ksappend") continue;  // expanded in the top-level file, ignored elsewhere
      if (first[0] == '%') {
        ReadSection(split.words, line.where);
      } else {
        HandleCommand(split.words, line.where);
      }
    }
    Finish();
  }

 private:
  // The next non-blank, non-comment line in command state, with backslash-newline
  // continuations joined.
  bool NextCommandLine(Line& line) {
    while (stream_.Next(line)) {
      if (IsBlankOrComment(line.text)) {
        if (StartsWith(line.text, "#platform=")) {
          result_.kickstart.platform = std::string(Trim(line.text.substr(10)));
        }
        continue;
      }
      // A line that ends inside an escape continues on the next line, as in a shell.
      while (!line.text.empty() && line.text.back() == '\\' &&
             ShlexSplit(line.text).error == "No escaped character") {
        Line more;
        if (!stream_.Next(more)) break;
        line.text.pop_back();
        line.text += more.text;
      }
      return true;
    }
    return false;
  }

  void HandleCommand(const std::vector<std::string>& words, const SourceLocation& where) {
    const std::string& name = words[0];
    const CommandSpec* spec = FindCommand(name);
    if (spec == nullptr) {
      std::vector<std::string_view> names;
      for (const CommandSpec& c : AllCommands()) names.push_back(c.name);
      std::string close = ClosestMatch(name, names);
      diags_.Error(where, "Unknown command: " + name,
                   close.empty() ? std::string("see `kiln ks commands` for the known commands")
                                 : "did you mean " + close + "?");
      return;
    }
    if (spec->kind == CommandKind::kRemoved) {
      diags_.Error(where, "The " + name + " command has been removed.",
                   "remove it from the file; pykickstart's current Fedora syntax no longer has it");
      return;
    }
    if (spec->kind == CommandKind::kDeprecated) {
      diags_.Warning(where, "Ignoring deprecated command on line " + std::to_string(where.line) +
                                ":  The " + name +
                                " command has been deprecated and no longer has any effect.  It "
                                "may be removed from future releases, which will result in a "
                                "fatal error from kickstart.  Please modify your kickstart file "
                                "to remove this command.");
      return;
    }
    // As pykickstart's dispatcher: the command counts as seen before its line is parsed, and
    // its conflicts are checked against what was seen before it.
    seen_.insert(spec->pyclass);
    for (const std::string& other : SplitNonEmpty(spec->conflicts, ' ')) {
      const CommandSpec* other_spec = FindCommand(other);
      if (other_spec != nullptr && seen_.contains(other_spec->pyclass)) {
        diags_.Error(where,
                     "The " + name + " and " + other + " commands can't be used at the same time.",
                     "keep one way of partitioning (or of installing the system)");
        return;
      }
    }
    ParsedCommand cmd;
    cmd.spec = spec;
    cmd.name = name;
    cmd.where = where;
    std::span<const std::string> rest(words.data() + 1, words.size() - 1);
    bool ok = true;
    if (spec->raw_args) {
      cmd.args.assign(rest.begin(), rest.end());
    } else {
      ok = ParseOptions(spec->options, spec->removed_options, name, rest, where, cmd, diags_);
    }
    int nargs = static_cast<int>(cmd.args.size());
    if (nargs < spec->min_args || (spec->max_args >= 0 && nargs > spec->max_args)) {
      std::string message;
      if (!spec->args_message.empty()) {
        message = FormatAll(spec->args_message, {name});
      } else if (spec->max_args == 0) {
        message = "Kickstart command " + name + " does not take any arguments";
      } else {
        message = "Kickstart command " + name + " takes " + ArgCountText(*spec) + " arguments";
      }
      std::string got = "got " + std::to_string(nargs);
      for (const std::string& a : cmd.args) got += " " + QuoteIfNeeded(a);
      diags_.Error(where, message, got);
      ok = false;
    }
    if (!ok) return;
    for (const MountpointArg& m : kMountpointArgs) {
      if (m.command == name && m.index < cmd.args.size()) {
        cmd.args[m.index] = NormalizePath(cmd.args[m.index]);
      }
    }
    if (spec->rewrite != nullptr) spec->rewrite(cmd);
    int errors_before = diags_.ErrorCount();
    if (spec->check != nullptr) spec->check(cmd, diags_);
    if (diags_.ErrorCount() > errors_before) return;
    Store(std::move(cmd));
  }

  static std::string ArgCountText(const CommandSpec& spec) {
    if (spec.max_args < 0) return "at least " + std::to_string(spec.min_args);
    if (spec.min_args == spec.max_args) return std::to_string(spec.min_args);
    return std::to_string(spec.min_args) + " to " + std::to_string(spec.max_args);
  }

  CommandEntry& Entry(const CommandSpec* spec) {
    for (CommandEntry& e : result_.kickstart.commands) {
      if (e.spec->pyclass == spec->pyclass) return e;
    }
    result_.kickstart.commands.push_back({});
    result_.kickstart.commands.back().spec = spec;
    return result_.kickstart.commands.back();
  }

  void Store(ParsedCommand cmd) {
    const CommandSpec* spec = cmd.spec;
    CommandEntry& entry = Entry(spec);
    if (spec->kind == CommandKind::kDataList) {
      if (!spec->duplicate_key.empty()) {
        std::vector<std::string> parts = KeyParts(cmd, spec->duplicate_key);
        std::string key;
        for (const std::string& part : parts) key += part + '\x1f';
        // Several swap areas (or unmounted partitions) are fine.
        if (!parts.empty() && parts[0] != "swap" && parts[0] != "none") {
          auto [it, inserted] = first_keys_[spec->pyclass].try_emplace(key, cmd.where);
          if (!inserted) {
            const SourceLocation& other = it->second;
            std::string first = other.file == cmd.where.file
                                    ? "line " + std::to_string(other.line)
                                    : other.file + ":" + std::to_string(other.line);
            std::string message = FormatAll(spec->duplicate_message, parts);
            if (spec->duplicate_is_error) {
              diags_.Error(cmd.where, message, "first defined on " + first);
              return;
            }
            diags_.Warning(cmd.where, message, "first defined on " + first);
          }
        }
      }
      if (!WithinLimit(++data_items_, kMaxDataItems,
                       "repeatable commands (user, group, "
                       "sshkey, repo, part, network ...)",
                       cmd.where)) {
        return;
      }
      entry.spec = spec;
      entry.items.push_back(std::move(cmd));
      return;
    }
    // A one-off command seen again updates the one object pykickstart keeps for it: what the
    // later line gives replaces the earlier value, and of what it does not give, options with
    // a default go back to it while the others keep the earlier value (ResetsOnRepeat).
    entry.spec = spec;
    if (entry.merged.spec != nullptr && !spec->repeat_error.empty()) {
      diags_.Error(cmd.where, std::string(spec->repeat_error),
                   "first given on line " + std::to_string(entry.merged.where.line));
      return;
    }
    if (entry.merged.spec == nullptr) {
      if (!MergedCheckPasses(cmd)) return;
      entry.merged = std::move(cmd);
      return;
    }
    ParsedCommand merged = entry.merged;
    for (const OptionSpec& o : spec->options) {
      if (cmd.Has(o.dest) || !ResetsOnRepeat(*spec, o.dest)) continue;
      merged.values.erase(std::string(o.dest));
      std::erase_if(merged.given,
                    [&](const ParsedCommand::Given& old) { return old.option->dest == o.dest; });
    }
    for (auto& [dest, value] : cmd.values) merged.values[dest] = value;
    for (const ParsedCommand::Given& g : cmd.given) {
      std::erase_if(merged.given, [&](const ParsedCommand::Given& old) {
        return old.option->dest == g.option->dest;
      });
    }
    merged.given.insert(merged.given.end(), cmd.given.begin(), cmd.given.end());
    if (!cmd.args.empty() || spec->args_on_repeat == ArgsOnRepeat::kReplace) {
      merged.args = cmd.args;
    }
    merged.spec = spec;
    merged.name = cmd.name;
    merged.where = cmd.where;
    if (!MergedCheckPasses(merged)) return;
    entry.merged = std::move(merged);
  }

  // The checks pykickstart makes on a one-off command's object, every line so far merged.
  bool MergedCheckPasses(const ParsedCommand& merged) {
    if (merged.spec->merged_check == nullptr) return true;
    int errors_before = diags_.ErrorCount();
    merged.spec->merged_check(merged, diags_);
    return diags_.ErrorCount() == errors_before;
  }

  // --- Sections ----------------------------------------------------------------------------

  void ReadSection(const std::vector<std::string>& header, const SourceLocation& where) {
    if (!WithinLimit(++sections_, kMaxSections, "sections", where)) return;
    const SectionInfo* info = FindSection(header[0]);
    if (info == nullptr) {
      std::vector<std::string_view> names;
      for (const SectionInfo& s : kSections) names.push_back(s.name);
      std::string close = ClosestMatch(header[0], names);
      diags_.Error(where, "Unknown kickstart section: " + header[0],
                   close.empty() ? std::string("known sections: %packages, %pre, %pre-install, "
                                               "%post, %onerror, %traceback, %certificate, "
                                               "%addon, %anaconda")
                                 : "did you mean " + close + "?");
      ReadBody(header[0], where, /*all_lines=*/true,
               [](const std::string&, const SourceLocation&) {});
      return;
    }
    switch (info->type) {
      case SectionType::kScript:
        ReadScript(*info, header, where);
        break;
      case SectionType::kPackages:
        ReadPackages(header, where);
        break;
      case SectionType::kCertificate:
        ReadCertificate(header, where);
        break;
      case SectionType::kOpaque: {
        OpaqueSection section;
        section.header = header;
        section.where = where;
        ReadBody(header[0], where, true,
                 [&](const std::string& l, const SourceLocation&) { section.body += l + "\n"; });
        result_.kickstart.opaque_sections.push_back(std::move(section));
        break;
      }
    }
  }

  // Reads the lines of a section up to its %end, as pykickstart's _readSection does: a line
  // starting with '%' ends the section only if it is %end or another known section header
  // (the latter being an error); %include splices a file in; other lines go to `on_line`.
  template <typename OnLine>
  void ReadBody(std::string_view section, const SourceLocation& header_where, bool all_lines,
                OnLine on_line) {
    Line line;
    while (!Stopped()) {
      if (!stream_.Next(line)) {
        diags_.Error(header_where, "Section " + std::string(section) + " does not end with %end.",
                     "add a line %end after its last line");
        return;
      }
      if (!all_lines && IsBlankOrComment(line.text)) continue;
      std::string_view stripped = Trim(line.text);
      if (StartsWith(stripped, "%")) {
        std::string first(stripped.substr(0, stripped.find_first_of(" \t")));
        if (FindSection(first) != nullptr || first == "%end" || first == "%include") {
          ShlexResult split = ShlexSplit(line.text);
          if (!split.error.empty() || split.words.empty()) {
            diags_.Error(line.where, "General error in input file: " + split.error);
            continue;
          }
          const std::string& word = split.words[0];
          if (word == "%end") return;
          if (word == "%include") {
            if (split.words.size() < 2 || split.words[1].empty()) {
              diags_.Error(line.where, "%include needs a file name or URL");
              continue;
            }
            stream_.Include(split.words[1], line.where);
            continue;
          }
          diags_.Error(
              header_where, "Section " + std::string(section) + " does not end with %end.",
              "add %end before line " + std::to_string(line.where.line) + " (" + word + ")");
          // The new section's header is handled as if %end had been there.
          ReadSection(split.words, line.where);
          return;
        }
      }
      on_line(line.text, line.where);
    }
  }

  void ReadScript(const SectionInfo& info, const std::vector<std::string>& header,
                  const SourceLocation& where) {
    Script script;
    script.kind = info.script_kind;
    script.where = where;
    script.in_chroot = info.script_kind == ScriptKind::kPost;
    ParsedCommand opts;
    std::span<const OptionSpec> options = kScriptOptions;
    if (info.script_kind == ScriptKind::kPost) options = kPostScriptOptions;
    std::span<const std::string> rest(header.data() + 1, header.size() - 1);
    if (info.script_kind == ScriptKind::kTraceback) {  // sections.py:450-459 (F34)
      diags_.Warning(where,
                     "The %traceback section has been deprecated. It may be removed in the future, "
                     "which will result in a fatal error from kickstart. Please modify your "
                     "kickstart file to use the %onerror section instead.",
                     "rename it %onerror");
    }
    ParseOptions(options, {}, header[0], rest, where, opts, diags_);
    if (!opts.args.empty()) {
      diags_.Error(where, header[0] + ": unexpected argument " + QuoteIfNeeded(opts.args[0]),
                   "section options start with --");
    }
    if (const std::string* s = opts.String("interpreter")) script.interpreter = *s;
    if (const std::string* s = opts.String("log")) script.log = *s;
    script.error_on_fail = opts.Bool("errorOnFail");
    if (opts.Bool("nochroot")) script.in_chroot = false;
    std::string body;
    ReadBody(header[0], where, true, [&](const std::string& l, const SourceLocation&) {
      body += l;
      body += '\n';
    });
    // pykickstart drops a script whose body is only whitespace.
    if (Trim(body).empty()) return;
    script.body = std::move(body);
    result_.kickstart.scripts.push_back(std::move(script));
  }

  void ReadCertificate(const std::vector<std::string>& header, const SourceLocation& where) {
    ParsedCommand opts;
    std::span<const std::string> rest(header.data() + 1, header.size() - 1);
    bool ok = ParseOptions(kCertificateOptions, {}, header[0], rest, where, opts, diags_);
    Certificate cert;
    cert.where = where;
    if (const std::string* s = opts.String("filename")) cert.filename = *s;
    if (const std::string* s = opts.String("dir")) cert.dir = *s;
    if (const std::string* s = opts.String("type")) cert.type = *s;
    if (ok && cert.dir.empty() && cert.type.empty()) {
      diags_.Error(where, "One of --dir or --type must be specified for %certificate",
                   "--type=anchor installs it as a trusted CA; --dir=DIR puts the file there");
      ok = false;
    }
    ReadBody(header[0], where, true, [&](const std::string& l, const SourceLocation&) {
      cert.body += l;
      cert.body += '\n';
    });
    if (ok && Trim(cert.body).empty()) {
      diags_.Error(where, "The %certificate section is empty",
                   "put the certificate (PEM text) between %certificate and %end");
      ok = false;
    }
    if (ok) result_.kickstart.certificates.push_back(std::move(cert));
  }

  void ReadPackages(const std::vector<std::string>& header, const SourceLocation& where) {
    Packages& p = result_.kickstart.packages;
    ParsedCommand opts;
    std::span<const std::string> rest(header.data() + 1, header.size() - 1);
    bool ok =
        ParseOptions(kPackagesOptions, kPackagesRemoved, header[0], rest, where, opts, diags_);
    if (!opts.args.empty()) {
      diags_.Error(where, "%packages: unexpected argument " + QuoteIfNeeded(opts.args[0]),
                   "section options start with --");
      ok = false;
    }
    if (opts.Bool("defaultPackages") && opts.Bool("nocore")) {
      diags_.Error(where, "--default and --nocore cannot be used together");
      ok = false;
    }
    if (ok) {
      // Each %packages header sets these anew, as pykickstart's handleHeader does.
      p.seen = true;
      p.exclude_docs = opts.Bool("excludedocs");
      p.ignore_missing = opts.Bool("ignoremissing");
      if (opts.Bool("defaultPackages")) p.default_packages = true;
      if (const std::string* s = opts.String("instLangs")) p.inst_langs = *s;
      p.multilib = opts.Bool("multiLib");
      p.no_core = opts.Bool("nocore");
      p.timeout =
          opts.Int("timeout") ? std::optional<long long>(*opts.Int("timeout")) : std::nullopt;
      p.retries =
          opts.Int("retries") ? std::optional<long long>(*opts.Int("retries")) : std::nullopt;
      p.exclude_weakdeps = opts.Bool("excludeWeakdeps");
      p.ignore_broken = opts.Bool("ignorebroken");
    }
    std::vector<std::string> lines;
    ReadBody(header[0], where, false, [&](const std::string& l, const SourceLocation& at) {
      // Package lines lose everything from the first '#'.
      std::string_view text = l;
      text = text.substr(0, text.find('#'));
      std::string_view t = Trim(text);
      // "%packages#x" is not a section header to pykickstart (it looks at the first
      // whitespace-separated word) and becomes the package "%packages", which no flattened
      // kickstart could carry: no package name starts with '%'.
      if (StartsWith(t, "%")) {
        diags_.Error(at,
                     "'" + std::string(t) + "' is not a package name (no package starts with %)",
                     "a '#' right after a section keyword makes it a package line; put a space "
                     "before the '#', or end the section with %end first");
        return;
      }
      if (!t.empty() && WithinLimit(++package_lines_, kMaxPackageLines, "package lines", at)) {
        lines.emplace_back(t);
      }
    });
    // pykickstart merges each line on its own (sections.py PackageSection.handleLine calls
    // packages.add([line])), so within one section a later "-foo" removes an earlier "foo".
    for (const std::string& l : lines) packages_.AddLine(l, where, p, diags_);
  }

  void Finish() {
    packages_.Finish(result_.kickstart.packages);
    auto& commands = result_.kickstart.commands;
    std::stable_sort(commands.begin(), commands.end(),
                     [](const CommandEntry& a, const CommandEntry& b) {
                       if (a.spec->write_priority != b.spec->write_priority) {
                         return a.spec->write_priority < b.spec->write_priority;
                       }
                       // pykickstart orders by full class name, version prefix included.
                       return a.spec->pyclass < b.spec->pyclass;
                     });
  }

  // What one kickstart may hold, far past any real one (the largest of Fedora's has 7
  // sections and 141 package lines): each entry costs many times its line in memory, so a
  // kickstart of a million short lines must end here, not in the server's memory.
  static constexpr int kMaxSections = 200;
  static constexpr int kMaxPackageLines = 10000;
  static constexpr int kMaxDataItems = 1000;

  // True while `count` is within `limit`; past it, an error (once) and the parse stops.
  bool WithinLimit(int count, int limit, std::string_view what, const SourceLocation& where) {
    if (count <= limit) return true;
    if (!stopped_) {
      diags_.Error(where,
                   "the kickstart has more than " + std::to_string(limit) + " " +
                       std::string(what) + "; kiln reads no further",
                   "a kickstart this long is likely generated by mistake; split the work into "
                   "fewer, larger pieces (a script, a package list of a metapackage)");
      stopped_ = true;
    }
    return false;
  }
  // True when reading should end: a limit passed, or too many problems to list.
  bool Stopped() const { return stopped_ || diags_.Full(); }

  ParseResult& result_;
  Diagnostics& diags_;
  LineStream stream_;
  bool stopped_ = false;
  int sections_ = 0, package_lines_ = 0, data_items_ = 0;
  // The commands (pykickstart classes) seen so far, for conflicting commands.
  std::set<std::string_view> seen_;
  // Data-list keys seen so far, per pykickstart class, for duplicate warnings.
  std::map<std::string_view, std::unordered_map<std::string, SourceLocation>> first_keys_;
  PackagesBuilder packages_;
};

}  // namespace

ParseResult ParseKickstartFile(std::string_view path, Resolver& resolver,
                               const ParserOptions& options) {
  ParseResult result;
  Parser parser(resolver, options, result);
  parser.Run(path, nullptr);
  return result;
}

ParseResult ParseKickstartText(std::string_view text, std::string_view name, Resolver& resolver,
                               const ParserOptions& options) {
  ParseResult result;
  Parser parser(resolver, options, result);
  std::string copy(text);
  parser.Run(name, &copy);
  return result;
}

ParseResult ParseKickstartText(std::string&& text, std::string_view name, Resolver& resolver,
                               const ParserOptions& options) {
  ParseResult result;
  Parser parser(resolver, options, result);
  parser.Run(name, &text);
  return result;
}

}  // namespace kiln::spec
