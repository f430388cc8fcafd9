// Kickstart commands timesource .. zipl, from pykickstart's F45 (DEVEL) handler.
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "spec/command_table.h"
#include "spec/commands/check_helpers.h"

namespace kiln::spec {
namespace {

// timesource — pykickstart commands/timesource.py, F33_Timesource.
constexpr OptionSpec kTimesourceOptions[] = {
    {.flags = "--ntp-server", .dest = "ntp_server", .since = "F33"},
    {.flags = "--ntp-pool", .dest = "ntp_pool", .since = "F33"},
    {.flags = "--ntp-disable",
     .dest = "ntp_disable",
     .action = OptAction::kStoreTrue,
     .since = "F33"},
    {.flags = "--nts", .dest = "nts", .action = OptAction::kStoreTrue, .since = "F33"},
};

// Exactly one of the three sources. The messages keep pykickstart's wording, including the
// stray '-' it puts before the list ("One of ---ntp-server, ...").
void CheckTimesource(const ParsedCommand& cmd, Diagnostics& diags) {
  std::vector<std::string> used;
  if (NonEmpty(cmd, "ntp_server")) used.push_back("--ntp-server");
  if (NonEmpty(cmd, "ntp_pool")) used.push_back("--ntp-pool");
  if (cmd.Bool("ntp_disable")) used.push_back("--ntp-disable");
  if (used.empty()) {
    diags.Error(cmd.where,
                "One of ---ntp-server, --ntp-pool, --ntp-disable options must be specified for "
                "timesource command.");
  } else if (used.size() > 1) {
    std::string list;
    for (const std::string& u : used) list += (list.empty() ? "" : ", ") + u;
    diags.Error(cmd.where,
                "Only one of " + list + " options may be specified for timesource command.");
  }
}

// timezone — pykickstart commands/timezone.py, F40_Timezone (over F33/F32/F25). F40 turned
// --isUtc, --nontp and --ntpservers into deprecated options (timezone.py:455-467): a warning,
// but the value still applies (--isUtc sets isUtc, written as --utc); --utc stays current.
constexpr OptionSpec kTimezoneOptions[] = {
    {.flags = "--utc", .dest = "isUtc", .action = OptAction::kStoreTrue, .since = "FC3"},
    {.flags = "--isUtc",
     .dest = "isUtc",
     .action = OptAction::kStoreTrue,
     .deprecated = "F40",
     .since = "FC6"},
    {.flags = "--nontp",
     .dest = "nontp",
     .action = OptAction::kStoreTrue,
     .deprecated = "F40",
     .since = "F18"},
    {.flags = "--ntpservers",
     .dest = "ntpservers",
     .type = OptType::kCommaList,
     .deprecated = "F40",
     .since = "F18"},
};

// A bare "timezone" is an error; the zone itself is optional when an option is given.
void CheckTimezone(const ParsedCommand& cmd, Diagnostics& diags) {
  if (cmd.given.empty() && cmd.args.empty()) {
    diags.Error(cmd.where,
                "At least one option and/or an argument are expected for the timezone command");
  }
}

// Checked on the command's object (timezone.py:389-391), so --nontp on one line and
// --ntpservers on another conflict too.
void CheckTimezoneMerged(const ParsedCommand& cmd, Diagnostics& diags) {
  if (cmd.Bool("nontp") && NonEmptyList(cmd, "ntpservers")) {
    diags.Error(cmd.where, "Options --nontp and --ntpservers are mutually exclusive");
  }
}

// url — pykickstart commands/url.py, F30_Url (over F27/F18/F14/F13/FC3). F18 re-declared --url
// without required=True.
constexpr OptionSpec kUrlOptions[] = {
    {.flags = "--url", .dest = "url", .since = "FC3"},
    {.flags = "--proxy", .dest = "proxy", .since = "F13"},
    {.flags = "--noverifyssl",
     .dest = "noverifyssl",
     .action = OptAction::kStoreTrue,
     .since = "F14"},
    {.flags = "--mirrorlist", .dest = "mirrorlist", .since = "F18"},
    {.flags = "--metalink", .dest = "metalink", .since = "F27"},
    {.flags = "--sslcacert", .dest = "sslcacert", .since = "F30"},
    {.flags = "--sslclientcert", .dest = "sslclientcert", .since = "F30"},
    {.flags = "--sslclientkey", .dest = "sslclientkey", .since = "F30"},
};

// Exactly one source, listed in pykickstart's order (mirrorlist, url, metalink), with the same
// stray '-' in the "One of" message as timesource.
void CheckUrl(const ParsedCommand& cmd, Diagnostics& diags) {
  std::vector<std::string> used;
  if (NonEmpty(cmd, "mirrorlist")) used.push_back("--mirrorlist");
  if (NonEmpty(cmd, "url")) used.push_back("--url");
  if (NonEmpty(cmd, "metalink")) used.push_back("--metalink");
  if (used.empty()) {
    diags.Error(cmd.where,
                "One of ---mirrorlist, --url, --metalink options must be specified for url "
                "command.");
  } else if (used.size() > 1) {
    std::string list;
    for (const std::string& u : used) list += (list.empty() ? "" : ", ") + u;
    diags.Error(cmd.where, "Only one of " + list + " options may be specified for url command.");
  }
}

// user — pykickstart commands/user.py, F24_User (over F19/F12/F8/FC6).
constexpr OptionSpec kUserOptions[] = {
    {.flags = "--groups", .dest = "groups", .type = OptType::kCommaList, .since = "FC6"},
    {.flags = "--homedir", .dest = "homedir", .since = "FC6"},
    {.flags = "--iscrypted", .dest = "isCrypted", .action = OptAction::kStoreTrue, .since = "FC6"},
    {.flags = "--name", .dest = "name", .since = "FC6", .required = true},
    {.flags = "--password", .dest = "password", .since = "FC6"},
    {.flags = "--shell", .dest = "shell", .since = "FC6"},
    {.flags = "--uid", .dest = "uid", .type = OptType::kInt, .since = "FC6"},
    {.flags = "--lock", .dest = "lock", .action = OptAction::kStoreTrue, .since = "F8"},
    {.flags = "--plaintext", .dest = "isCrypted", .action = OptAction::kStoreFalse, .since = "F8"},
    {.flags = "--gecos", .dest = "gecos", .since = "F12"},
    {.flags = "--gid", .dest = "gid", .type = OptType::kInt, .since = "F19"},
};

// volgroup — pykickstart commands/volgroup.py, F21_VolGroup (over F16/FC3).
constexpr OptionSpec kVolGroupOptions[] = {
    {.flags = "--noformat",
     .dest = "format",
     .action = OptAction::kStoreFalse,
     .default_value = "True",
     .since = "FC3"},
    {.flags = "--pesize",
     .dest = "pesize",
     .type = OptType::kInt,
     .default_value = "0",
     .since = "F21"},
    {.flags = "--useexisting", .dest = "preexist", .action = OptAction::kStoreTrue, .since = "FC3"},
    {.flags = "--reserved-space", .dest = "reserved_space", .type = OptType::kInt, .since = "F16"},
    {.flags = "--reserved-percent",
     .dest = "reserved_percent",
     .type = OptType::kInt,
     .since = "F16"},
};

// The first positional is the VG name, the rest its physical volumes. --noformat implies
// --useexisting in pykickstart.
void CheckVolGroup(const ParsedCommand& cmd, Diagnostics& diags) {
  if (cmd.args.empty()) {
    diags.Error(cmd.where, "volgroup must be given a VG name");
    return;
  }
  bool members = cmd.args.size() > 1;
  bool preexist = cmd.Bool("preexist") || !cmd.Bool("format", true);
  if (!members && !preexist) {
    diags.Error(cmd.where, "volgroup must be given a list of partitions");
    return;
  }
  if (members && preexist) {
    diags.Error(cmd.where, "Members may not be specified for preexisting volgroup");
    return;
  }
  const long long* space = cmd.Int("reserved_space");
  if (space != nullptr && *space < 0) {
    diags.Error(cmd.where, "Volume group reserved space must be a positive integer.");
    return;
  }
  const long long* percent = cmd.Int("reserved_percent");
  if (percent != nullptr && !(*percent > 0 && *percent < 100)) {
    diags.Error(cmd.where, "Volume group reserved space percentage must be between 1 and 99.");
  }
}

// xconfig — pykickstart commands/xconfig.py, F14_XConfig (over F10/F9/FC6/FC3).
constexpr OptionSpec kXConfigOptions[] = {
    {.flags = "--defaultdesktop", .dest = "defaultdesktop", .since = "FC3"},
    {.flags = "--startxonboot", .dest = "startX", .action = OptAction::kStoreTrue, .since = "FC3"},
};

constexpr RemovedOption kXConfigRemoved[] = {
    {.flag = "--server", .version = "FC6"},     {.flag = "--card", .version = "F9"},
    {.flag = "--hsync", .version = "F9"},       {.flag = "--monitor", .version = "F9"},
    {.flag = "--noprobe", .version = "F9"},     {.flag = "--vsync", .version = "F9"},
    {.flag = "--driver", .version = "F14"},     {.flag = "--depth", .version = "F14"},
    {.flag = "--resolution", .version = "F14"}, {.flag = "--videoram", .version = "F14"},
};

// zfcp — pykickstart commands/zfcp.py, F37_ZFCP (over F14/F12/FC3). F37 made --wwpn and
// --fcplun optional for automatic LUN scanning.
constexpr OptionSpec kZfcpOptions[] = {
    {.flags = "--devnum", .dest = "devnum", .since = "FC3", .required = true},
    {.flags = "--fcplun", .dest = "fcplun", .since = "F37"},
    {.flags = "--wwpn", .dest = "wwpn", .since = "F37"},
};

constexpr RemovedOption kZfcpRemoved[] = {
    {.flag = "--scsiid", .version = "F14"},
    {.flag = "--scsilun", .version = "F14"},
};

// Either the device number alone or with both the WWPN and the LUN.
void CheckZfcp(const ParsedCommand& cmd, Diagnostics& diags) {
  bool devnum = NonEmpty(cmd, "devnum");
  bool wwpn = NonEmpty(cmd, "wwpn");
  bool fcplun = NonEmpty(cmd, "fcplun");
  if (!(devnum && wwpn == fcplun)) {
    diags.Error(cmd.where, "Only --devnum or --devnum with --wwpn and --fcplun are allowed.");
  }
}

// zipl — pykickstart commands/zipl.py, F32_Zipl. The constants are pykickstart's
// SECURE_BOOT_* values (DEFAULT -1, DISABLED 0, ENABLED 1, AUTO 2).
constexpr OptionSpec kZiplOptions[] = {
    {.flags = "--secure-boot",
     .dest = "secure_boot",
     .action = OptAction::kStoreConst,
     .const_value = "2",
     .default_value = "-1",
     .since = "F32"},
    {.flags = "--force-secure-boot",
     .dest = "secure_boot",
     .action = OptAction::kStoreConst,
     .const_value = "1",
     .default_value = "-1",
     .since = "F32"},
    {.flags = "--no-secure-boot",
     .dest = "secure_boot",
     .action = OptAction::kStoreConst,
     .const_value = "0",
     .default_value = "-1",
     .since = "F32"},
};

constexpr CommandSpec kCommands[] = {
    {.name = "timesource",
     .pyclass = "F33_Timesource",
     .kind = CommandKind::kDataList,
     .options = kTimesourceOptions,
     .check = CheckTimesource},
    {.name = "timezone",
     .pyclass = "F40_Timezone",
     .max_args = 1,
     .args_message = "One or zero arguments are expected for the %s command",
     .options = kTimezoneOptions,
     .check = CheckTimezone,
     .merged_check = CheckTimezoneMerged,
     // The zone is nargs='*' (timezone.py:326): a repeat without one leaves none.
     .args_on_repeat = ArgsOnRepeat::kReplace},
    {.name = "updates",
     .pyclass = "F34_Updates",
     .min_args = 1,
     .max_args = 1,
     .args_message = "Kickstart command %s requires one argument"},
    {.name = "url", .pyclass = "F30_Url", .options = kUrlOptions, .check = CheckUrl},
    {.name = "user",
     .pyclass = "F24_User",
     .kind = CommandKind::kDataList,
     .options = kUserOptions,
     .duplicate_key = "name",
     .duplicate_message = "A user with the name %s has already been defined."},
    {.name = "vnc", .pyclass = "F45_Vnc", .kind = CommandKind::kRemoved},
    {.name = "volgroup",
     .pyclass = "F21_VolGroup",
     .kind = CommandKind::kDataList,
     .write_priority = 132,
     .max_args = -1,
     .options = kVolGroupOptions,
     .check = CheckVolGroup,
     .duplicate_key = "arg0",
     .duplicate_message = "A volgroup with the name %s has already been defined.",
     .conflicts = "autopart mount"},
    {.name = "xconfig",
     .pyclass = "F14_XConfig",
     .options = kXConfigOptions,
     .removed_options = kXConfigRemoved},
    {.name = "zerombr", .pyclass = "F9_ZeroMbr", .write_priority = 110},
    {.name = "zfcp",
     .pyclass = "F37_ZFCP",
     .kind = CommandKind::kDataList,
     .write_priority = 71,
     .options = kZfcpOptions,
     .removed_options = kZfcpRemoved,
     .check = CheckZfcp,
     .duplicate_key = "devnum+wwpn+fcplun",
     .duplicate_message = "A zfcp with this information has already been defined."},
    {.name = "zipl", .pyclass = "F32_Zipl", .write_priority = 10, .options = kZiplOptions},
};

}  // namespace

std::span<const CommandSpec> CommandsPart4() { return kCommands; }

}  // namespace kiln::spec
