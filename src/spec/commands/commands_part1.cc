// Kickstart commands auth .. text, from pykickstart's F45 (DEVEL) handler.
#include <cctype>
#include <cstdlib>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/text.h"
#include "spec/command_table.h"
#include "spec/commands/check_helpers.h"

namespace kiln::spec {
namespace {

// autopart — pykickstart commands/autopart.py, F45_AutoPart (over F41/F38/F29/F26/F23/F21/
// F20/F18/F17/F16/F12/F9). F17 re-declared --nolvm as a shortcut for --type=plain; the const
// values are pykickstart's AUTOPART_TYPE_* names.
constexpr OptionSpec kAutoPartOptions[] = {
    {.flags = "--encrypted", .dest = "encrypted", .action = OptAction::kStoreTrue, .since = "F9"},
    {.flags = "--passphrase", .dest = "passphrase", .since = "F9"},
    {.flags = "--escrowcert", .dest = "escrowcert", .since = "F12"},
    {.flags = "--backuppassphrase",
     .dest = "backuppassphrase",
     .action = OptAction::kStoreTrue,
     .since = "F12"},
    {.flags = "--nolvm",
     .dest = "type",
     .action = OptAction::kStoreConst,
     .const_value = "plain",
     .since = "F17"},
    {.flags = "--type", .dest = "type", .since = "F17"},
    {.flags = "--cipher", .dest = "cipher", .since = "F18"},
    {.flags = "--fstype", .dest = "fstype", .since = "F21"},
    {.flags = "--nohome", .dest = "nohome", .action = OptAction::kStoreTrue, .since = "F26"},
    {.flags = "--noboot", .dest = "noboot", .action = OptAction::kStoreTrue, .since = "F26"},
    {.flags = "--noswap", .dest = "noswap", .action = OptAction::kStoreTrue, .since = "F26"},
    {.flags = "--luks-version", .dest = "luks_version", .since = "F29", .reset_on_repeat = true},
    {.flags = "--pbkdf", .dest = "pbkdf", .since = "F29", .reset_on_repeat = true},
    {.flags = "--pbkdf-memory",
     .dest = "pbkdf_memory",
     .type = OptType::kInt,
     .default_value = "0",
     .since = "F29"},
    {.flags = "--pbkdf-time",
     .dest = "pbkdf_time",
     .type = OptType::kInt,
     .default_value = "0",
     .since = "F29"},
    {.flags = "--pbkdf-iterations",
     .dest = "pbkdf_iterations",
     .type = OptType::kInt,
     .default_value = "0",
     .since = "F29"},
    {.flags = "--hibernation",
     .dest = "hibernation",
     .action = OptAction::kStoreTrue,
     .since = "F38"},
    {.flags = "--hw-passphrase", .dest = "hw_passphrase", .since = "F41", .reset_on_repeat = true},
};

// The checks of each parse() in the chain, in the order pykickstart runs them; it stops at the
// first failure, so this does too. --type is matched case-insensitively (pykickstart's type
// callback lowercases it), which plain `choices` could not express.
void CheckAutoPart(const ParsedCommand& cmd, Diagnostics& diags) {
  std::string type;
  if (const std::string* given = cmd.String("type")) {
    type = ToLower(*given);
    if (type != "lvm" && type != "btrfs" && type != "plain" && type != "partition" &&
        type != "thinp") {
      diags.Error(cmd.where, "Invalid autopart type: " + *given);
      return;
    }
  }
  const std::string* fstype = cmd.String("fstype");
  if (fstype != nullptr && *fstype == "btrfs") {
    diags.Error(cmd.where, "autopart --fstype=btrfs is not valid fstype, use --type=btrfs instead");
    return;
  }
  if (type == "btrfs" && NonEmpty(cmd, "fstype")) {
    diags.Error(cmd.where, "autopart --fstype cannot be used with --type=btrfs");
    return;
  }
  if (NonZero(cmd, "pbkdf_time") && NonZero(cmd, "pbkdf_iterations")) {
    diags.Error(cmd.where, "Only one of --pbkdf-time and --pbkdf-iterations can be specified.");
    return;
  }
  if (cmd.Bool("hibernation") && cmd.Bool("noswap")) {
    diags.Error(cmd.where, "Only one of --noswap and --hibernation can be specified.");
    return;
  }
  const std::string* luks = cmd.String("luks_version");
  bool luks2 = luks != nullptr && luks->starts_with("luks2-");
  if (NonEmpty(cmd, "hw_passphrase") && (!cmd.Bool("encrypted") || !luks2)) {
    diags.Error(cmd.where,
                "hw-passphrase may be specified only with LUKSv2 HW-OPAL encrypted devices");
    return;
  }
}

// bootc — pykickstart commands/bootc.py, F45_Bootc (over F43).
constexpr OptionSpec kBootcOptions[] = {
    {.flags = "--stateroot", .dest = "stateroot", .default_value = "default", .since = "F43"},
    {.flags = "--source-imgref", .dest = "sourceImgRef", .since = "F43", .required = true},
    {.flags = "--target-imgref", .dest = "targetImgRef", .since = "F43"},
    {.flags = "--bootloader", .dest = "bootloader", .since = "F45"},
    {.flags = "--composefs", .dest = "composefs", .action = OptAction::kStoreTrue, .since = "F45"},
};

// bootloader — pykickstart commands/bootloader.py, F39_Bootloader (over F34/F29/F21/F19/F18/
// F17/F15/F14/F12/F8/FC4/FC3). F15 re-declared --md5pass with dest _md5pass: pykickstart turns
// it into password=<value> plus isCrypted=True.
constexpr OptionSpec kBootloaderOptions[] = {
    {.flags = "--append", .dest = "appendLine", .since = "FC3"},
    {.flags = "--location",
     .dest = "location",
     .default_value = "mbr",
     .choices = "mbr partition none boot",
     .since = "FC3"},
    {.flags = "--password", .dest = "password", .since = "FC3", .reset_on_repeat = true},
    {.flags = "--md5pass", .dest = "_md5pass", .since = "FC3"},
    {.flags = "--driveorder", .dest = "driveorder", .type = OptType::kCommaList, .since = "FC3"},
    {.flags = "--timeout", .dest = "timeout", .type = OptType::kInt, .since = "F8"},
    {.flags = "--default", .dest = "default", .since = "F8"},
    {.flags = "--iscrypted", .dest = "isCrypted", .action = OptAction::kStoreTrue, .since = "F15"},
    {.flags = "--boot-drive", .dest = "bootDrive", .since = "F17", .reset_on_repeat = true},
    {.flags = "--leavebootorder",
     .dest = "leavebootorder",
     .action = OptAction::kStoreTrue,
     .since = "F18"},
    {.flags = "--extlinux", .dest = "extlinux", .action = OptAction::kStoreTrue, .since = "F19"},
    {.flags = "--disabled", .dest = "disabled", .action = OptAction::kStoreTrue, .since = "F21"},
    {.flags = "--nombr", .dest = "nombr", .action = OptAction::kStoreTrue, .since = "F21"},
    {.flags = "--sdboot", .dest = "sdboot", .action = OptAction::kStoreTrue, .since = "F39"},
};

// bootloader.py:292-295: a --md5pass value becomes the password, marked crypted, before
// set_to_self (so the written form is --password=... --iscrypted).
void RewriteBootloader(ParsedCommand& cmd) {
  const std::string* md5 = cmd.String("_md5pass");
  if (md5 == nullptr || md5->empty()) return;
  auto option = [](std::string_view flag) -> const OptionSpec& {
    for (const OptionSpec& o : kBootloaderOptions) {
      if (o.flags == flag) return o;
    }
    std::abort();  // the table above has both
  };
  std::string password = *md5;
  cmd.values.erase("_md5pass");
  std::erase_if(cmd.given, [](const ParsedCommand::Given& g) {
    return g.option->dest == "_md5pass" || g.option->dest == "password" ||
           g.option->dest == "isCrypted";
  });
  cmd.values["password"] = password;
  cmd.values["isCrypted"] = true;
  cmd.given.push_back({&option("--password"), password});
  cmd.given.push_back({&option("--iscrypted"), ""});
}

constexpr RemovedOption kBootloaderRemoved[] = {
    {.flag = "--linear", .version = "FC4"},  {.flag = "--nolinear", .version = "FC4"},
    {.flag = "--useLilo", .version = "FC4"}, {.flag = "--lba32", .version = "F14"},
    {.flag = "--upgrade", .version = "F34"},
};

// F17_Bootloader.parse: the boot drive is a single device.
void CheckBootloader(const ParsedCommand& cmd, Diagnostics& diags) {
  const std::string* drive = cmd.String("bootDrive");
  if (drive != nullptr && drive->find(',') != std::string::npos) {
    diags.Error(cmd.where, "--boot-drive accepts only one argument");
  }
}

// btrfs — pykickstart commands/btrfs.py, F23_BTRFS (over F17). The first positional is the
// mount point (normalized like os.path.normpath), the rest are member devices, or the parent
// volume for a subvolume.
constexpr OptionSpec kBtrfsOptions[] = {
    {.flags = "--noformat",
     .dest = "format",
     .action = OptAction::kStoreFalse,
     .default_value = "True",
     .since = "F17"},
    {.flags = "--useexisting", .dest = "preexist", .action = OptAction::kStoreTrue, .since = "F17"},
    {.flags = "--label", .dest = "label", .since = "F17"},
    {.flags = "--data", .dest = "dataLevel", .since = "F17"},
    {.flags = "--metadata", .dest = "metaDataLevel", .since = "F17"},
    {.flags = "--subvol", .dest = "subvol", .action = OptAction::kStoreTrue, .since = "F17"},
    {.flags = "--parent", .dest = "parent", .since = "F17"},
    {.flags = "--name", .dest = "name", .since = "F17"},
    {.flags = "--mkfsoptions", .dest = "mkfsopts", .since = "F23"},
};

// pykickstart's RAID level callback accepts these, in any case.
bool IsBtrfsLevel(std::string_view value) {
  std::string level = ToLower(value);
  return level == "raid0" || level == "0" || level == "raid1" || level == "1" ||
         level == "raid10" || level == "10" || level == "single";
}

void CheckBtrfs(const ParsedCommand& cmd, Diagnostics& diags) {
  for (std::string_view dest : {"dataLevel", "metaDataLevel"}) {
    const std::string* level = cmd.String(dest);
    if (level != nullptr && !IsBtrfsLevel(*level)) {
      diags.Error(cmd.where, "Invalid btrfs level: " + *level);
      return;
    }
  }
  bool devices = cmd.args.size() > 1;
  bool subvol = cmd.Bool("subvol");
  if (!devices && !subvol) {
    diags.Error(cmd.where, "btrfs must be given a list of partitions");
    return;
  }
  if (!devices) {
    diags.Error(cmd.where, "btrfs subvol requires specification of parent volume");
    return;
  }
  if (subvol && !NonEmpty(cmd, "name")) {
    diags.Error(cmd.where, "btrfs subvolume requires a name");
    return;
  }
  // --noformat and --useexisting imply each other in pykickstart.
  bool preexist = cmd.Bool("preexist") || !cmd.Bool("format", true);
  if (preexist && NonEmpty(cmd, "mkfsopts")) {
    diags.Error(cmd.where, "--mkfsoptions with --noformat or --useexisting has no effect.");
  }
}

// clearpart — pykickstart commands/clearpart.py, F28_ClearPart (over F21/F17/FC3). The const
// values are pykickstart's CLEARPART_TYPE_* names; --list also switches the type to "list".
constexpr OptionSpec kClearPartOptions[] = {
    {.flags = "--all",
     .dest = "type",
     .action = OptAction::kStoreConst,
     .const_value = "all",
     .since = "FC3"},
    {.flags = "--drives", .dest = "drives", .type = OptType::kCommaList, .since = "FC3"},
    {.flags = "--initlabel", .dest = "initAll", .action = OptAction::kStoreTrue, .since = "FC3"},
    {.flags = "--linux",
     .dest = "type",
     .action = OptAction::kStoreConst,
     .const_value = "linux",
     .since = "FC3"},
    {.flags = "--none",
     .dest = "type",
     .action = OptAction::kStoreConst,
     .const_value = "none",
     .since = "FC3"},
    {.flags = "--list", .dest = "devices", .type = OptType::kCommaList, .since = "F17"},
    {.flags = "--disklabel", .dest = "disklabel", .since = "F21", .reset_on_repeat = true},
    {.flags = "--cdl", .dest = "cdl", .action = OptAction::kStoreTrue, .since = "F28"},
};

// graphical/text/cmdline — pykickstart commands/displaymode.py, F26_DisplayMode (over FC3).
constexpr OptionSpec kDisplayModeOptions[] = {
    {.flags = "--non-interactive",
     .dest = "nonInteractive",
     .action = OptAction::kStoreTrue,
     .since = "F26"},
};

void CheckDisplayMode(const ParsedCommand& cmd, Diagnostics& diags) {
  if (cmd.name == "cmdline" && cmd.Bool("nonInteractive")) {
    diags.Error(cmd.where,
                "Kickstart command cmdline does not support --non-interactive parameter");
  }
}

// driverdisk — pykickstart commands/driverdisk.py, F14_DriverDisk (over F12/FC4/FC3). The
// optional positional is the partition holding the driver disk.
constexpr OptionSpec kDriverDiskOptions[] = {
    {.flags = "--source", .dest = "source", .since = "FC3"},
    {.flags = "--biospart", .dest = "biospart", .since = "FC4"},
};

constexpr RemovedOption kDriverDiskRemoved[] = {
    {.flag = "--type", .version = "F14"},
};

// Exactly one of partition, --source and --biospart.
void CheckDriverDisk(const ParsedCommand& cmd, Diagnostics& diags) {
  bool partition = !cmd.args.empty();
  bool source = NonEmpty(cmd, "source");
  bool biospart = NonEmpty(cmd, "biospart");
  if (partition && source) {
    diags.Error(cmd.where,
                "Only one of --source and partition may be specified for driverdisk command.");
  } else if (partition && biospart) {
    diags.Error(cmd.where,
                "Only one of --biospart and partition may be specified for driverdisk command.");
  } else if (source && biospart) {
    diags.Error(cmd.where,
                "Only one of --biospart and --source may be specified for driverdisk command.");
  } else if (!partition && !source && !biospart) {
    diags.Error(cmd.where,
                "One of --source, --biospart, or partition must be specified for driverdisk "
                "command.");
  }
}

// eula — pykickstart commands/eula.py, F20_Eula. Four spellings, "people would struggle
// remembering the exact word".
constexpr OptionSpec kEulaOptions[] = {
    {.flags = "--agreed --agree --accepted --accept",
     .dest = "agreed",
     .action = OptAction::kStoreTrue,
     .since = "F20"},
};

void CheckEula(const ParsedCommand& cmd, Diagnostics& diags) {
  if (!cmd.Bool("agreed")) {
    diags.Error(cmd.where, "Kickstart command eula expects the --agreed option");
  }
}

// fcoe — pykickstart commands/fcoe.py, F28_Fcoe (over F13/F12).
constexpr OptionSpec kFcoeOptions[] = {
    {.flags = "--nic", .dest = "nic", .since = "F12", .required = true},
    {.flags = "--dcb", .dest = "dcb", .action = OptAction::kStoreTrue, .since = "F13"},
    {.flags = "--autovlan", .dest = "autovlan", .action = OptAction::kStoreTrue, .since = "F28"},
};

// firewall — pykickstart commands/firewall.py, F28_Firewall (over F20/F14/F10/F9/FC3).
// pykickstart uses append_const for --ftp/--http/--smtp/--ssh (each adds its service name to
// the `services` list); the table has no such action, so they are written as store-const on
// that dest. --port values without ":proto" get ":tcp" appended by pykickstart.
constexpr OptionSpec kFirewallOptions[] = {
    {.flags = "--disable --disabled",
     .dest = "enabled",
     .action = OptAction::kStoreFalse,
     .default_value = "True",
     .since = "FC3"},
    {.flags = "--enable --enabled",
     .dest = "enabled",
     .action = OptAction::kStoreTrue,
     .default_value = "True",
     .since = "FC3"},
    {.flags = "--ftp",
     .dest = "services",
     .action = OptAction::kAppendConst,
     .const_value = "ftp",
     .since = "F10"},
    {.flags = "--http",
     .dest = "services",
     .action = OptAction::kAppendConst,
     .const_value = "http",
     .since = "F10"},
    {.flags = "--smtp",
     .dest = "services",
     .action = OptAction::kAppendConst,
     .const_value = "smtp",
     .since = "F10"},
    {.flags = "--ssh",
     .dest = "services",
     .action = OptAction::kAppendConst,
     .const_value = "ssh",
     .since = "F10"},
    {.flags = "--port",
     .dest = "ports",
     .action = OptAction::kExtend,
     .type = OptType::kCommaList,
     .since = "FC3"},
    {.flags = "--trust", .dest = "trusts", .action = OptAction::kAppend, .since = "FC3"},
    {.flags = "--service",
     .dest = "services",
     .action = OptAction::kExtend,
     .type = OptType::kCommaList,
     .since = "F10"},
    {.flags = "--remove-service",
     .dest = "remove_services",
     .action = OptAction::kExtend,
     .type = OptType::kCommaList,
     .since = "F20"},
    {.flags = "--use-system-defaults",
     .dest = "use_system_defaults",
     .action = OptAction::kStoreTrue,
     .since = "F28"},
};

constexpr RemovedOption kFirewallRemoved[] = {
    {.flag = "--high", .version = "F9"},
    {.flag = "--medium", .version = "F9"},
    {.flag = "--telnet", .version = "F14"},
};

// firewall.py:84-93 (firewall_port_cb): each comma-separated port is stripped and given
// ":tcp" when it names no protocol; empty items stay (as ":tcp").
void RewriteFirewall(ParsedCommand& cmd) {
  std::vector<std::string> ports;
  bool any = false;
  for (const ParsedCommand::Given& g : cmd.given) {
    if (g.option->dest != "ports") continue;
    any = true;
    std::string_view rest = g.value;
    while (true) {
      size_t comma = rest.find(',');
      std::string port(Trim(rest.substr(0, comma)));
      if (port.find(':') == std::string::npos) port += ":tcp";
      ports.push_back(std::move(port));
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  if (any) cmd.values["ports"] = std::move(ports);
}

// firstboot — pykickstart commands/firstboot.py, FC3_Firstboot. The const values are
// pykickstart's FIRSTBOOT_* names. parse() assigns the mode outright (firstboot.py:76-79, no
// set_to_self), so a later bare `firstboot` unsets it: reset_on_repeat.
constexpr OptionSpec kFirstbootOptions[] = {
    {.flags = "--disable --disabled",
     .dest = "firstboot",
     .action = OptAction::kStoreConst,
     .const_value = "skip",
     .since = "FC3",
     .reset_on_repeat = true},
    {.flags = "--enable --enabled",
     .dest = "firstboot",
     .action = OptAction::kStoreConst,
     .const_value = "default",
     .since = "FC3",
     .reset_on_repeat = true},
    {.flags = "--reconfig",
     .dest = "firstboot",
     .action = OptAction::kStoreConst,
     .const_value = "reconfig",
     .since = "FC3",
     .reset_on_repeat = true},
};

// group — pykickstart commands/group.py, F12_Group.
constexpr OptionSpec kGroupOptions[] = {
    {.flags = "--name", .dest = "name", .since = "F12", .required = true},
    {.flags = "--gid", .dest = "gid", .type = OptType::kInt, .since = "F12"},
};

// halt/poweroff/reboot/shutdown — pykickstart commands/reboot.py, F23_Reboot (over F18/FC6/
// FC3). The command word chooses the action: reboot, halt, or shut down (poweroff/shutdown).
constexpr OptionSpec kRebootOptions[] = {
    {.flags = "--eject", .dest = "eject", .action = OptAction::kStoreTrue, .since = "FC6"},
    {.flags = "--kexec", .dest = "kexec", .action = OptAction::kStoreTrue, .since = "F23"},
};

// Shared by the display-mode and reboot aliases.
constexpr CommandSpec kCmdline = {.name = "cmdline",
                                  .pyclass = "F26_DisplayMode",
                                  .options = kDisplayModeOptions,
                                  .check = CheckDisplayMode};
constexpr CommandSpec kReboot = {
    .name = "reboot", .pyclass = "F23_Reboot", .options = kRebootOptions};

// Commands whose parse() takes no options at all reject any word, dashed or not, with
// pykickstart's "does not take any arguments"; those are marked max_args = 0 with no options.
constexpr CommandSpec kCommands[] = {
    {.name = "auth", .pyclass = "F35_Authconfig", .kind = CommandKind::kRemoved},
    {.name = "authconfig", .pyclass = "F35_Authconfig", .kind = CommandKind::kRemoved},
    // F28_Authselect keeps the raw rest of the line (everything after the command word) as
    // arguments for the authselect program; it never runs an option parser.
    // parse() keeps the line's text outright (authselect.py:41-43): a bare repeat clears it.
    {.name = "authselect",
     .pyclass = "F28_Authselect",
     .max_args = -1,
     .args_on_repeat = ArgsOnRepeat::kReplace,
     .raw_args = true},
    {.name = "autopart",
     .pyclass = "F41_AutoPart",  // f45.py:31; no F45 class (autopart.py ends at F41)
     .write_priority = 100,
     .options = kAutoPartOptions,
     .check = CheckAutoPart,
     .conflicts = "partition raid volgroup logvol reqpart"},
    {.name = "autostep", .pyclass = "F40_Autostep", .kind = CommandKind::kRemoved},
    {.name = "bootc",
     .pyclass = "F45_Bootc",
     .options = kBootcOptions,
     .conflicts = "ostreesetup ostreecontainer"},
    {.name = "bootloader",
     .pyclass = "F39_Bootloader",
     .write_priority = 10,
     .options = kBootloaderOptions,
     .removed_options = kBootloaderRemoved,
     .check = CheckBootloader,
     .rewrite = RewriteBootloader},
    {.name = "btrfs",
     .pyclass = "F23_BTRFS",
     .kind = CommandKind::kDataList,
     .write_priority = 132,
     .min_args = 1,
     .max_args = -1,
     .args_message = "btrfs must be given a mountpoint",
     .options = kBtrfsOptions,
     .check = CheckBtrfs,
     .duplicate_key = "arg0",
     .duplicate_message = "A btrfs volume with the mountpoint %s has already been defined."},
    {.name = "cdrom",
     .pyclass = "FC3_Cdrom",
     .args_message = "Kickstart command %s does not take any arguments",
     .raw_args = true},
    {.name = "clearpart",
     .pyclass = "F28_ClearPart",
     .write_priority = 120,
     .options = kClearPartOptions},
    kCmdline,
    {.name = "device", .pyclass = "F34_Device", .kind = CommandKind::kRemoved},
    {.name = "deviceprobe", .pyclass = "F34_DeviceProbe", .kind = CommandKind::kRemoved},
    {.name = "dmraid", .pyclass = "F34_DmRaid", .kind = CommandKind::kRemoved},
    {.name = "driverdisk",
     .pyclass = "F14_DriverDisk",
     .kind = CommandKind::kDataList,
     .max_args = 1,
     .args_message = "Only one partition may be specified for driverdisk command.",
     .options = kDriverDiskOptions,
     .removed_options = kDriverDiskRemoved,
     .check = CheckDriverDisk},
    {.name = "eula",
     .pyclass = "F20_Eula",
     .args_message = "Kickstart command %s does not take any arguments",
     .options = kEulaOptions,
     .check = CheckEula},
    {.name = "fcoe",
     .pyclass = "F28_Fcoe",
     .kind = CommandKind::kDataList,
     .write_priority = 71,
     .options = kFcoeOptions,
     .duplicate_key = "nic",
     .duplicate_message = "A FCOE device with the name %s has already been defined."},
    {.name = "firewall",
     .pyclass = "F28_Firewall",
     .options = kFirewallOptions,
     .removed_options = kFirewallRemoved,
     .rewrite = RewriteFirewall},
    {.name = "firstboot", .pyclass = "FC3_Firstboot", .options = kFirstbootOptions},
    {.name = "graphical",
     .pyclass = kCmdline.pyclass,
     .options = kCmdline.options,
     .check = kCmdline.check},
    {.name = "group",
     .pyclass = "F12_Group",
     .kind = CommandKind::kDataList,
     .options = kGroupOptions,
     .duplicate_key = "name",
     .duplicate_message = "A group with the name %s has already been defined."},
    {.name = "halt", .pyclass = kReboot.pyclass, .options = kReboot.options},
    {.name = "poweroff", .pyclass = kReboot.pyclass, .options = kReboot.options},
    kReboot,
    {.name = "shutdown", .pyclass = kReboot.pyclass, .options = kReboot.options},
    {.name = "text",
     .pyclass = kCmdline.pyclass,
     .options = kCmdline.options,
     .check = kCmdline.check},
};

}  // namespace

std::span<const CommandSpec> CommandsPart1() { return kCommands; }

}  // namespace kiln::spec
