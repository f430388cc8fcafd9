// The parsed form of a kickstart file: what pykickstart's handler holds after reading one.
//
// Commands keep the options exactly as given (typed by the command table), so that the
// file can be written back (kickstart_writer.h) and read as typed data (typed_commands.h).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/diagnostics.h"
#include "spec/command_table.h"

namespace kiln::spec {

enum class ScriptKind { kPre, kPreInstall, kPost, kOnError, kTraceback };

// "%pre", "%post", ... for a script kind.
std::string_view ScriptSectionName(ScriptKind kind);

// One %pre / %pre-install / %post / %onerror / %traceback section.
struct Script {
  ScriptKind kind = ScriptKind::kPost;
  std::string interpreter = "/bin/sh";
  bool in_chroot = false;  // only %post runs in the chroot, unless --nochroot
  std::optional<std::string> log;
  bool error_on_fail = false;
  std::string body;      // the lines between header and %end, newlines kept
  SourceLocation where;  // the header line
};

enum class GroupInclude { kDefault, kRequired /* --nodefaults */, kAll /* --optional */ };

struct PackageGroup {
  std::string name;
  GroupInclude include = GroupInclude::kDefault;
};

// All %packages sections of the file, merged as pykickstart merges them.
struct Packages {
  bool seen = false;
  bool default_packages = false;              // --default
  bool exclude_docs = false;                  // --excludedocs
  bool no_core = false;                       // --nocore
  bool ignore_missing = false;                // --ignoremissing
  bool ignore_broken = false;                 // --ignorebroken
  bool multilib = false;                      // --multilib
  bool exclude_weakdeps = false;              // --exclude-weakdeps
  std::optional<std::string> inst_langs;      // --inst-langs
  std::optional<long long> timeout;           // --timeout
  std::optional<long long> retries;           // --retries
  std::optional<std::string> environment;     // @^name (the last one wins)
  std::vector<PackageGroup> groups;           // @name, first spelling of a name wins
  std::vector<std::string> packages;          // sorted, unique; may hold globs
  std::vector<PackageGroup> excluded_groups;  // -@name
  std::vector<std::string> excluded;          // -name, sorted, unique
};

// A %certificate section.
struct Certificate {
  std::string filename;
  std::string dir;   // where it goes; optional when `type` says (F42_CertificateSection)
  std::string type;  // "anchor": a CA trust anchor (F45); pykickstart accepts any word
  std::string body;
  SourceLocation where;
};

// A section pykickstart accepts but does not interpret (%addon, %anaconda): kept verbatim.
struct OpaqueSection {
  std::vector<std::string> header;  // the header words, "%addon" first
  std::string body;
  SourceLocation where;
};

// One command object of the handler: a one-off command merged over all its lines, or a
// data-list command with one item per line.
struct CommandEntry {
  const CommandSpec* spec = nullptr;  // for aliases, the spec of the last name used
  ParsedCommand merged;               // kSingle: the merged state
  std::vector<ParsedCommand> items;   // kDataList: one per line, in file order
};

struct Kickstart {
  // Keyed by pykickstart class, in the order pykickstart writes them (write priority, then
  // class name); built by the parser.
  std::vector<CommandEntry> commands;
  std::vector<Script> scripts;  // in file order
  Packages packages;
  std::vector<Certificate> certificates;
  std::vector<OpaqueSection> opaque_sections;
  std::string platform;  // from a "#platform=" comment, as pykickstart keeps it

  // The entry for a command name (any alias), or nullptr if the file never used it.
  const CommandEntry* Find(std::string_view command_name) const;
  // The merged one-off command, or nullptr.
  const ParsedCommand* Single(std::string_view command_name) const;
  // The items of a data-list command (empty if unused).
  const std::vector<ParsedCommand>& List(std::string_view command_name) const;
};

}  // namespace kiln::spec
