// The kickstart command table: every command, alias and option of pykickstart's current
// Fedora handler (F45 = DEVEL in pykickstart 3.74), as data. The parser (kickstart_parser.cc) is
// generic; everything command-specific lives in this table and in the per-command check functions
// next to it.
//
// The table is written by reading pykickstart's sources (commands/*.py, handlers/f46.py);
// the comment on each entry names the pykickstart class it mirrors.
#pragma once

#include <map>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/diagnostics.h"

namespace kiln::spec {

// What an option does when it appears (argparse's `action`).
enum class OptAction {
  kStore,          // dest = value (takes one value)
  kStoreTrue,      // dest = true (no value)
  kStoreFalse,     // dest = false (no value)
  kStoreConst,     // dest = const_value (no value)
  kAppend,         // dest += [value] (takes one value; repeatable)
  kExtend,         // dest += value, value being a list (type kCommaList; repeatable)
  kOptionalValue,  // nargs='?': takes a value if the next word is not an option, else const_value
  kAppendConst,    // dest += [const_value] (no value; repeatable)
};

// How an option's value is checked and converted (argparse's `type`).
enum class OptType {
  kString,      // any text; pykickstart rejects nothing
  kInt,         // decimal integer, as Python's int()
  kFloat,       // as Python's float()
  kBool,        // pykickstart's ksboolean: on/yes/true/1 or off/no/false/0, any case
  kCommaList,   // pykickstart's commaSplit: "a, b,,c" -> [a, b, c]
  kMountpoint,  // pykickstart's mountpoint(): absolute paths are normalized
};

// One option of a command. An option with several spellings ("-h", "--hostname") is one entry.
struct OptionSpec {
  std::string_view flags;  // every spelling, space separated: "--hostname" or "-u --url"
  std::string_view dest;   // the attribute it sets; options sharing a dest write the same value
  OptAction action = OptAction::kStore;
  OptType type = OptType::kString;
  std::string_view const_value = {};    // for kStoreConst and kOptionalValue
  std::string_view default_value = {};  // pykickstart's default, as text ("" = None)
  std::string_view choices = {};        // space separated allowed values; empty = any
  std::string_view deprecated = {};     // version that deprecated it ("F40"): a warning, and
                                        // (as in pykickstart) the value is still stored
  std::string_view since = {};          // version that introduced it ("F18"), for docs
  bool required = false;
  // A repeated one-off command resets this option when the later line does not give it,
  // though default_value cannot say so: pykickstart's default is "" or 0 (not None), or its
  // parse() assigns the value outright. See ResetsOnRepeat.
  bool reset_on_repeat = false;
};

// An option that pykickstart's handler removed: using it is an error naming the version.
struct RemovedOption {
  std::string_view flag;
  std::string_view version;  // "F34"
};

enum class CommandKind {
  kSingle,      // one object that every line updates (lang, bootloader, ...): see Store in
                // kickstart_parser.cc for which options a later line keeps and which it resets
  kDataList,    // each line adds one item (part, network, user, repo, ...)
  kDeprecated,  // pykickstart DeprecatedCommand: accepted with a warning, no effect
  kRemoved,     // pykickstart RemovedCommand: an error
};

// A one-off command's positional arguments when a later line gives none: argparse's nargs='?'
// yields None, which pykickstart's set_to_self skips (the earlier ones stay); nargs='*' yields
// [], which it copies (they are gone), as does a parse() that assigns its words outright.
enum class ArgsOnRepeat { kKeepWhenAbsent, kReplace };

using OptionValue = std::variant<bool, long long, double, std::string, std::vector<std::string>>;

struct CommandSpec;

// One command line after option parsing: what the check functions and the model see.
struct ParsedCommand {
  const CommandSpec* spec = nullptr;
  std::string name;  // as written: "part" or "partition"
  SourceLocation where;
  std::map<std::string, OptionValue, std::less<>> values;  // by dest, only options given
  // One option as written, for writing the command back out.
  struct Given {
    const OptionSpec* option = nullptr;
    std::string value;  // the text given (empty for flags)
  };
  std::vector<Given> given;       // options in the order given
  std::vector<std::string> args;  // positional arguments

  bool Has(std::string_view dest) const { return values.find(dest) != values.end(); }
  // The value of dest if it was given and has that type, else nullptr.
  const std::string* String(std::string_view dest) const;
  const std::vector<std::string>* List(std::string_view dest) const;
  // true/false if a bool option was given, `fallback` otherwise.
  bool Bool(std::string_view dest, bool fallback = false) const;
  const long long* Int(std::string_view dest) const;
  const double* Float(std::string_view dest) const;
};

// Checks what pykickstart's parse() checks beyond option syntax (required combinations,
// value formats, mutually exclusive options), adding errors/warnings with pykickstart's words.
using CommandCheck = void (*)(const ParsedCommand& cmd, Diagnostics& diags);

// Changes a line's values the way pykickstart's type callbacks and parse() do before storing
// them (bootloader --md5pass becomes a crypted --password, firewall ports get ":tcp").
using CommandRewrite = void (*)(ParsedCommand& cmd);

struct CommandSpec {
  std::string_view name;     // the command word; aliases are separate entries sharing pyclass
  std::string_view pyclass;  // pykickstart class, e.g. "F39_Network"
  CommandKind kind = CommandKind::kSingle;
  int write_priority = 0;  // pykickstart writePriority: order of commands in flattened output
  int min_args = 0;        // positional arguments allowed
  int max_args = 0;        // -1 = unlimited
  // pykickstart's message when the number of positional arguments is wrong ("%s" = command).
  std::string_view args_message = {};
  std::span<const OptionSpec> options = {};
  std::span<const RemovedOption> removed_options = {};
  CommandCheck check = nullptr;
  // For kSingle: the checks pykickstart makes on the command's object after set_to_self, i.e.
  // on every line so far merged (ignoredisk's "one of", logging's port without host, ...);
  // `check` sees the line alone.
  CommandCheck merged_check = nullptr;
  CommandRewrite rewrite = nullptr;
  ArgsOnRepeat args_on_repeat = ArgsOnRepeat::kKeepWhenAbsent;
  // For kDataList: the dest (or "arg0" for the first positional) that identifies an item, or
  // several joined by '+' ("name+vgname"); a second item with the same key gets pykickstart's
  // duplicate warning (an error when duplicate_is_error).
  std::string_view duplicate_key = {};
  std::string_view duplicate_message = {};  // pykickstart's text, one %s per key part
  bool duplicate_is_error = false;
  // The command never runs an option parser: every word, "--x" included, is an argument
  // (authselect passes them to the authselect tool; cdrom rejects them all).
  bool raw_args = false;
  // pykickstart's conflictingCommands (space separated): when this command's line is read and
  // one of these was seen before, "The X and Y commands can't be used at the same time." The
  // check belongs to the later command only, so `mount` then `autopart` passes while
  // `autopart` then `mount` does not (base.py _checkConflictingCommands).
  std::string_view conflicts = {};
  // For kSingle: a second line is an error with this message (realm joins once).
  std::string_view repeat_error = {};
};

// Whether a later line of the one-off command `spec` that does not give `dest` resets it to
// its default (else the earlier value stays). pykickstart parses each line into a fresh
// argparse namespace holding every option's default, and set_to_obj copies each value that
// is not None: so store_true/store_false options and options with a default are reset, plain
// store/store_const/append options (default None) are kept. Options sharing a dest take the
// default of the first one declared, as argparse does.
bool ResetsOnRepeat(const CommandSpec& spec, std::string_view dest);

// Every command of the handler, sorted by name. Aliases appear as their own entries.
std::span<const CommandSpec> AllCommands();

// The command named `name`, or nullptr.
const CommandSpec* FindCommand(std::string_view name);

// Parts of the table, one per source file under commands/ (joined by AllCommands()).
std::span<const CommandSpec>
CommandsPart1();  // auth .. firstboot, group, halt/poweroff/reboot/shutdown
std::span<const CommandSpec> CommandsPart2();  // harddrive .. nvdimm
std::span<const CommandSpec> CommandsPart3();  // ostreecontainer .. sshkey
std::span<const CommandSpec> CommandsPart4();  // timesource .. zipl

}  // namespace kiln::spec
