// Kickstart commands harddrive .. nvdimm, from pykickstart's F45 (DEVEL) handler.
//
// Each entry names the pykickstart class it mirrors. The options are those of that class's
// _getParser() after its whole inheritance chain; "since" is the version that first added
// the option. Where the stored pykickstart sources lacked the exact class, the comment says so.
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "spec/command_table.h"
#include "spec/commands/check_helpers.h"

namespace kiln::spec {
namespace {

// harddrive — pykickstart commands/harddrive.py, F33_HardDrive (FC3_HardDrive).
// F33 dropped --biospart and made --partition required, so parse() has nothing left to check.
constexpr OptionSpec kHardDriveOptions[] = {
    {.flags = "--partition", .dest = "partition", .since = "FC3", .required = true},
    {.flags = "--dir", .dest = "dir", .since = "FC3", .required = true},
};

constexpr RemovedOption kHardDriveRemoved[] = {
    {.flag = "--biospart", .version = "F33"},
};

// hmc — pykickstart commands/hmc.py, F28_Hmc (RHEL7_Hmc). No options at all: parse() rejects
// any word, an option-looking one included, with the args message below.

// ignoredisk — pykickstart commands/ignoredisk.py, F34_IgnoreDisk. The newest stored source
// stops at F29_IgnoreDisk (--interactive deprecated); F34 removes --interactive (anaconda's
// and pykickstart's release notes) and keeps the "exactly one of" check.
constexpr OptionSpec kIgnoreDiskOptions[] = {
    {.flags = "--drives", .dest = "ignoredisk", .type = OptType::kCommaList, .since = "FC3"},
    {.flags = "--only-use", .dest = "onlyuse", .type = OptType::kCommaList, .since = "F8"},
};

constexpr RemovedOption kIgnoreDiskRemoved[] = {
    {.flag = "--interactive", .version = "F34"},
};

void CheckIgnoreDisk(const ParsedCommand& cmd, Diagnostics& diags) {
  // An empty list ("--drives=,") counts as not given, as in pykickstart.
  const int given =
      (NonEmptyList(cmd, "ignoredisk") ? 1 : 0) + (NonEmptyList(cmd, "onlyuse") ? 1 : 0);
  if (given != 1) {
    diags.Error(cmd.where,
                "One of --drives or --only-use must be specified for ignoredisk command.");
  }
}

// iscsi — pykickstart commands/iscsi.py, F17_Iscsi (RHEL6_Iscsi <- F10 <- FC6); data F17.
constexpr OptionSpec kIscsiOptions[] = {
    {.flags = "--target", .dest = "target", .since = "FC6"},
    {.flags = "--ipaddr", .dest = "ipaddr", .since = "FC6", .required = true},
    {.flags = "--port", .dest = "port", .type = OptType::kInt, .since = "FC6"},
    {.flags = "--user", .dest = "user", .since = "FC6"},
    {.flags = "--password", .dest = "password", .since = "FC6"},
    {.flags = "--reverse-user", .dest = "user_in", .since = "F10"},
    {.flags = "--reverse-password", .dest = "password_in", .since = "F10"},
    {.flags = "--iface", .dest = "iface", .since = "F17"},
};

// iscsiname — pykickstart commands/iscsiname.py, FC6_IscsiName: one positional, the IQN.

// keyboard — pykickstart commands/keyboard.py, F18_Keyboard: zero or one positional (the old
// single-layout form) plus the F18 options.
constexpr OptionSpec kKeyboardOptions[] = {
    {.flags = "--vckeymap", .dest = "vc_keymap", .since = "F18", .reset_on_repeat = true},
    {.flags = "--xlayouts", .dest = "x_layouts", .type = OptType::kCommaList, .since = "F18"},
    {.flags = "--switch", .dest = "switch_options", .type = OptType::kCommaList, .since = "F18"},
};

void CheckKeyboard(const ParsedCommand& cmd, Diagnostics& diags) {
  // --switch alone is not enough: it only tunes the layouts given some other way.
  if (cmd.args.empty() && !NonEmpty(cmd, "vc_keymap") && !NonEmptyList(cmd, "x_layouts")) {
    diags.Error(cmd.where,
                "One of --xlayouts, --vckeymap options with value(s) or argument is expected "
                "for the keyboard command");
  }
}

// lang — pykickstart commands/lang.py, F19_Lang: one positional, the language. --addsupport
// is a plain store of a comma list: a second --addsupport replaces the first.
constexpr OptionSpec kLangOptions[] = {
    {.flags = "--addsupport", .dest = "addsupport", .type = OptType::kCommaList, .since = "F19"},
};

// liveimg — pykickstart commands/liveimg.py, F19_Liveimg.
constexpr OptionSpec kLiveimgOptions[] = {
    {.flags = "--url", .dest = "url", .since = "F19", .required = true},
    {.flags = "--proxy", .dest = "proxy", .since = "F19"},
    {.flags = "--noverifyssl",
     .dest = "noverifyssl",
     .action = OptAction::kStoreTrue,
     .since = "F19"},
    {.flags = "--checksum", .dest = "checksum", .since = "F19"},
};

// logging — pykickstart commands/logging.py, F40_Logging. The stored source has FC6_Logging
// only; F34 deprecated --level and F40 removed it (pykickstart PR #473 "Remove deprecated
// kickstart commands and options"), leaving --host and --port.
constexpr OptionSpec kLoggingOptions[] = {
    {.flags = "--host", .dest = "host", .since = "FC6"},
    {.flags = "--port", .dest = "port", .since = "FC6"},
};

constexpr RemovedOption kLoggingRemoved[] = {
    {.flag = "--level", .version = "F40"},
};

void CheckLogging(const ParsedCommand& cmd, Diagnostics& diags) {
  if (NonEmpty(cmd, "port") && !NonEmpty(cmd, "host")) {
    diags.Error(cmd.where, "Can't specify --port without --host.");
  }
}

// logvol — pykickstart commands/logvol.py, F29_LogVol (F23 <- F21 <- F20 <- F18 <- F17 <- F15
// <- F14 <- F12 <- F9 <- FC4 <- FC3); data F29. One positional, the mount point.
constexpr OptionSpec kLogVolOptions[] = {
    {.flags = "--fstype", .dest = "fstype", .since = "FC3"},
    {.flags = "--grow", .dest = "grow", .action = OptAction::kStoreTrue, .since = "FC3"},
    {.flags = "--maxsize", .dest = "maxSizeMB", .type = OptType::kInt, .since = "FC3"},
    {.flags = "--name", .dest = "name", .since = "FC3", .required = true},
    {.flags = "--noformat", .dest = "format", .action = OptAction::kStoreFalse, .since = "FC3"},
    {.flags = "--percent", .dest = "percent", .type = OptType::kInt, .since = "FC3"},
    {.flags = "--recommended",
     .dest = "recommended",
     .action = OptAction::kStoreTrue,
     .since = "FC3"},
    {.flags = "--size", .dest = "size", .type = OptType::kInt, .since = "FC3"},
    {.flags = "--useexisting", .dest = "preexist", .action = OptAction::kStoreTrue, .since = "FC3"},
    {.flags = "--vgname", .dest = "vgname", .since = "FC3", .required = true},
    {.flags = "--fsoptions", .dest = "fsopts", .since = "FC4"},
    {.flags = "--fsprofile", .dest = "fsprofile", .since = "F9"},
    {.flags = "--encrypted", .dest = "encrypted", .action = OptAction::kStoreTrue, .since = "F9"},
    {.flags = "--passphrase", .dest = "passphrase", .since = "F9"},
    {.flags = "--escrowcert", .dest = "escrowcert", .since = "F12"},
    {.flags = "--backuppassphrase",
     .dest = "backuppassphrase",
     .action = OptAction::kStoreTrue,
     .since = "F12"},
    {.flags = "--label", .dest = "label", .since = "F15"},
    {.flags = "--resize", .dest = "resize", .action = OptAction::kStoreTrue, .since = "F17"},
    {.flags = "--hibernation",
     .dest = "hibernation",
     .action = OptAction::kStoreTrue,
     .since = "F18"},
    {.flags = "--cipher", .dest = "cipher", .since = "F18"},
    {.flags = "--thinpool", .dest = "thin_pool", .action = OptAction::kStoreTrue, .since = "F20"},
    {.flags = "--thin", .dest = "thin_volume", .action = OptAction::kStoreTrue, .since = "F20"},
    {.flags = "--poolname", .dest = "pool_name", .since = "F20"},
    {.flags = "--chunksize", .dest = "chunk_size", .type = OptType::kInt, .since = "F20"},
    {.flags = "--metadatasize", .dest = "metadata_size", .type = OptType::kInt, .since = "F20"},
    {.flags = "--profile", .dest = "profile", .since = "F21"},
    {.flags = "--cachesize", .dest = "cache_size", .type = OptType::kInt, .since = "F23"},
    {.flags = "--cachemode", .dest = "cache_mode", .since = "F23"},
    {.flags = "--cachepvs", .dest = "cache_pvs", .type = OptType::kCommaList, .since = "F23"},
    {.flags = "--mkfsoptions", .dest = "mkfsopts", .since = "F23"},
    {.flags = "--luks-version", .dest = "luks_version", .since = "F29"},
    {.flags = "--pbkdf", .dest = "pbkdf", .since = "F29"},
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
};

// Added by FC4, deprecated by F9, removed by F14_LogVol.
constexpr RemovedOption kLogVolRemoved[] = {
    {.flag = "--bytes-per-inode", .version = "F14"},
};

// The checks of F17, F20, F21, F23 and F29 parse(), in that order; pykickstart stops at the
// first failure, so this does too.
void CheckLogVol(const ParsedCommand& cmd, Diagnostics& diags) {
  auto fail = [&](std::string message) { diags.Error(cmd.where, std::move(message)); };
  const bool noformat = !cmd.Bool("format", true);
  // FC3 parse() turns --noformat into --useexisting.
  const bool preexist = cmd.Bool("preexist") || noformat;
  const bool size = NonZero(cmd, "size");
  const bool percent = NonZero(cmd, "percent");
  const bool thin_pool = cmd.Bool("thin_pool");
  const bool thin_volume = cmd.Bool("thin_volume");
  const bool mkfsopts = NonEmpty(cmd, "mkfsopts");

  if (cmd.Bool("resize") && !preexist) {
    return fail("--resize can only be used in conjunction with --useexisting");
  }
  if (cmd.Bool("resize") && !size) return fail("--resize requires --size to indicate new size");
  if (thin_volume && thin_pool) {
    return fail("--thin and --thinpool cannot both be specified for the same logvol");
  }
  if (thin_volume && !NonEmpty(cmd, "pool_name")) {
    return fail("--thin requires --poolname to specify pool name");
  }
  if ((NonZero(cmd, "chunk_size") || NonZero(cmd, "metadata_size")) && !thin_pool) {
    return fail("--chunksize and --metadatasize are for thin pools only");
  }
  if (!preexist && !percent && !size && !cmd.Bool("recommended") && !cmd.Bool("hibernation")) {
    return fail(
        "No size given for logical volume. Use one of --useexisting, --noformat, --size, "
        "--percent, or --hibernation.");
  }
  if (const long long* pct = cmd.Int("percent"); pct != nullptr && (*pct < 0 || *pct > 100)) {
    return fail("Percentage must be between 0 and 100.");
  }
  if (size && percent) {
    return fail("--size and --percent cannot both be specified for the same logvol");
  }
  const bool cache_size = NonZero(cmd, "cache_size");
  const bool cache_pvs = NonEmptyList(cmd, "cache_pvs");
  if (cache_size || NonEmpty(cmd, "cache_mode") || cache_pvs) {
    if (preexist) return fail("Adding a cache to an existing logical volume is not supported");
    if (thin_volume) return fail("Thin volumes cannot be cached");
    if (!cache_pvs) return fail("Cache needs to have a list of (fast) PVs specified");
    if (!cache_size) return fail("Cache needs to have size specified");
    if (const std::string* mode = cmd.String("cache_mode");
        mode != nullptr && !mode->empty() && *mode != "writeback" && *mode != "writethrough") {
      return fail("Invalid cache mode given: " + *mode);
    }
  }
  if (noformat && mkfsopts) return fail("--mkfsoptions with --noformat has no effect.");
  if (NonEmpty(cmd, "fsprofile") && mkfsopts) {
    return fail("--mkfsoptions and --fsprofile cannot be used together.");
  }
  if (NonZero(cmd, "pbkdf_time") && NonZero(cmd, "pbkdf_iterations")) {
    return fail("Only one of --pbkdf-time and --pbkdf-iterations can be specified.");
  }
}

// mediacheck — pykickstart commands/mediacheck.py, FC4_MediaCheck: no options, no arguments.

// mount — pykickstart commands/mount.py, F27_Mount (f45.py:64); data F27. Two positionals: the
// device and the mount point (the latter typed with pykickstart's mountpoint(), so absolute paths
// are normalized).
constexpr OptionSpec kMountOptions[] = {
    // Bare --reformat keeps the current format; --reformat=FMT reformats to FMT.
    {.flags = "--reformat",
     .dest = "reformat",
     .action = OptAction::kOptionalValue,
     .const_value = "True",
     .since = "F27"},
    {.flags = "--mkfsoptions", .dest = "mkfs_opts", .since = "F27"},
    {.flags = "--mountoptions", .dest = "mount_opts", .since = "F27"},
};

void CheckMount(const ParsedCommand& cmd, Diagnostics& diags) {
  if (cmd.args.size() >= 2) {
    const std::string& mount_point = cmd.args[1];
    std::string lower = mount_point;
    for (char& c : lower) {
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    if (lower != "none" && !mount_point.starts_with('/')) {
      diags.Error(cmd.where, "Invalid mount point '" + mount_point + "' given");
      return;
    }
  }
  if (!cmd.Has("reformat") && NonEmpty(cmd, "mkfs_opts")) {
    diags.Error(cmd.where, "'--mkfsoptions' requires --reformat");
  }
}

// network — pykickstart commands/network.py, F39_Network; data F39. The newest stored source
// ends at F27_Network; the four DNS options F39 adds come from pykickstart PRs #431 and #448
// (moved from F38 to F39) and their tests.
constexpr OptionSpec kNetworkOptions[] = {
    // F9 added "query" and F16 "ibft" to the FC3 list (dhcp, bootp, static).
    {.flags = "--bootproto",
     .dest = "bootProto",
     .default_value = "dhcp",
     .choices = "dhcp bootp static query ibft",
     .since = "FC3"},
    {.flags = "--dhcpclass", .dest = "dhcpclass", .since = "FC3"},
    {.flags = "--device", .dest = "device", .since = "FC3"},
    {.flags = "--essid", .dest = "essid", .since = "FC3"},
    {.flags = "--ethtool", .dest = "ethtool", .since = "FC3"},
    {.flags = "--gateway", .dest = "gateway", .since = "FC3"},
    {.flags = "--hostname", .dest = "hostname", .since = "FC3"},
    {.flags = "--ip", .dest = "ip", .since = "FC3"},
    {.flags = "--mtu", .dest = "mtu", .since = "FC3"},
    {.flags = "--nameserver", .dest = "nameserver", .since = "FC3"},
    {.flags = "--netmask", .dest = "netmask", .since = "FC3"},
    {.flags = "--nodns", .dest = "nodns", .action = OptAction::kStoreTrue, .since = "FC3"},
    {.flags = "--onboot", .dest = "onboot", .type = OptType::kBool, .since = "FC3"},
    {.flags = "--wepkey", .dest = "wepkey", .since = "FC3"},
    {.flags = "--notksdevice",
     .dest = "notksdevice",
     .action = OptAction::kStoreTrue,
     .since = "FC4"},
    {.flags = "--noipv4", .dest = "noipv4", .action = OptAction::kStoreTrue, .since = "FC6"},
    {.flags = "--noipv6", .dest = "noipv6", .action = OptAction::kStoreTrue, .since = "FC6"},
    {.flags = "--ipv6", .dest = "ipv6", .since = "F8"},
    {.flags = "--activate", .dest = "activate", .action = OptAction::kStoreTrue, .since = "F16"},
    {.flags = "--nodefroute",
     .dest = "nodefroute",
     .action = OptAction::kStoreTrue,
     .since = "F16"},
    {.flags = "--wpakey", .dest = "wpakey", .since = "F16"},
    {.flags = "--bondslaves", .dest = "bondslaves", .since = "F19"},
    {.flags = "--bondopts", .dest = "bondopts", .since = "F19"},
    {.flags = "--vlanid", .dest = "vlanid", .since = "F19"},
    {.flags = "--ipv6gateway", .dest = "ipv6gateway", .since = "F19"},
    // pykickstart parses this into (device, json config) pairs: "eth1,eth2'{...}',eth3".
    {.flags = "--teamslaves", .dest = "teamslaves", .since = "F20"},
    {.flags = "--teamconfig", .dest = "teamconfig", .since = "F20"},
    {.flags = "--interfacename", .dest = "interfacename", .since = "F21"},
    {.flags = "--bridgeslaves", .dest = "bridgeslaves", .since = "F22"},
    {.flags = "--bridgeopts", .dest = "bridgeopts", .since = "F22"},
    // Same dest as --activate: the last of the two wins.
    {.flags = "--no-activate",
     .dest = "activate",
     .action = OptAction::kStoreFalse,
     .since = "F25"},
    {.flags = "--bindto", .dest = "bindto", .choices = "mac", .since = "F27"},
    {.flags = "--ipv4-dns-search", .dest = "ipv4_dns_search", .since = "F39"},
    {.flags = "--ipv6-dns-search", .dest = "ipv6_dns_search", .since = "F39"},
    {.flags = "--ipv4-ignore-auto-dns",
     .dest = "ipv4_ignore_auto_dns",
     .action = OptAction::kStoreTrue,
     .since = "F39"},
    {.flags = "--ipv6-ignore-auto-dns",
     .dest = "ipv6_ignore_auto_dns",
     .action = OptAction::kStoreTrue,
     .since = "F39"},
};

void CheckNetwork(const ParsedCommand& cmd, Diagnostics& diags) {
  // F22_Network: bridge options need slaves, and must be key=value pairs.
  if (const std::string* opts = cmd.String("bridgeopts"); opts != nullptr && !opts->empty()) {
    if (!NonEmpty(cmd, "bridgeslaves")) {
      diags.Error(cmd.where, "Option --bridgeopts requires --bridgeslaves to be specified");
      return;
    }
    std::string_view rest = *opts;
    while (true) {
      const size_t comma = rest.find(',');
      const std::string_view opt = rest.substr(0, comma);
      const size_t eq = opt.find('=');
      const std::string_view value =
          eq == std::string_view::npos ? std::string_view() : opt.substr(eq + 1);
      if (value.empty() || value.find('=') != std::string_view::npos) {
        diags.Error(cmd.where,
                    "Bad format of --bridgeopts, expecting key=value options separated by ','");
        return;
      }
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  // F27_Network: binding to the MAC is refused for a VLAN device (no bond options).
  if (const std::string* bindto = cmd.String("bindto"); bindto != nullptr && *bindto == "mac" &&
                                                        NonEmpty(cmd, "vlanid") &&
                                                        !NonEmpty(cmd, "bondopts")) {
    diags.Error(cmd.where, "--bindto=mac is not supported for this type of device");
    return;
  }
  // F39_Network: the DNS options configure one connection, so they need --device. The
  // requirement is pykickstart's (its tests reject them without --device); the message text
  // could not be read from a stored F39 source.
  const bool dns = NonEmpty(cmd, "ipv4_dns_search") || NonEmpty(cmd, "ipv6_dns_search") ||
                   cmd.Bool("ipv4_ignore_auto_dns") || cmd.Bool("ipv6_ignore_auto_dns");
  if (dns && !NonEmpty(cmd, "device")) {
    diags.Error(cmd.where,
                "Options --ipv4-dns-search, --ipv6-dns-search, --ipv4-ignore-auto-dns and "
                "--ipv6-ignore-auto-dns require --device to be specified");
  }
}

// nfs — pykickstart commands/nfs.py, FC6_NFS (FC3_NFS).
constexpr OptionSpec kNfsOptions[] = {
    {.flags = "--server", .dest = "server", .since = "FC3", .required = true},
    {.flags = "--dir", .dest = "dir", .since = "FC3", .required = true},
    {.flags = "--opts", .dest = "opts", .since = "FC6"},
};

// pykickstart's own text when a command that takes positionals gets one too many; its list
// of the extra words (Python repr, e.g. "['x']") follows after ": ".
constexpr std::string_view kUnexpectedArgs = "Unexpected arguments to %s command";

// install, method, module, multipath and nvdimm are RemovedCommand subclasses: any use is an
// error whatever the arguments, so they take any number of words.
constexpr CommandSpec kCommands[] = {
    {.name = "harddrive",
     .pyclass = "F33_HardDrive",
     .options = kHardDriveOptions,
     .removed_options = kHardDriveRemoved},
    {.name = "hmc",
     .pyclass = "F28_Hmc",
     .args_message = "Kickstart command %s does not take any arguments"},
    {.name = "ignoredisk",
     .pyclass = "F34_IgnoreDisk",
     .options = kIgnoreDiskOptions,
     .removed_options = kIgnoreDiskRemoved,
     .merged_check = CheckIgnoreDisk},  // on self: ignoredisk.py:79-91
    {.name = "install", .pyclass = "F34_Install", .kind = CommandKind::kRemoved, .max_args = -1},
    {.name = "iscsi",
     .pyclass = "F17_Iscsi",
     .kind = CommandKind::kDataList,
     .write_priority = 71,
     .options = kIscsiOptions},
    {.name = "iscsiname",
     .pyclass = "FC6_IscsiName",
     .write_priority = 70,
     .min_args = 1,
     .max_args = 1,
     .args_message = kUnexpectedArgs},
    {.name = "keyboard",
     .pyclass = "F18_Keyboard",
     .max_args = 1,
     .args_message = "A single argument is expected for the %s command",
     .options = kKeyboardOptions,
     .merged_check = CheckKeyboard},  // on self: keyboard.py:168
    {.name = "lang",
     .pyclass = "F19_Lang",
     .min_args = 1,
     .max_args = 1,
     .args_message = kUnexpectedArgs,
     .options = kLangOptions},
    {.name = "liveimg", .pyclass = "F19_Liveimg", .options = kLiveimgOptions},
    {.name = "logging",
     .pyclass = "F40_Logging",
     .options = kLoggingOptions,
     .removed_options = kLoggingRemoved,
     .merged_check = CheckLogging},  // on self: logging.py:79-80
    {.name = "logvol",
     .pyclass = "F29_LogVol",
     .kind = CommandKind::kDataList,
     .write_priority = 133,
     .min_args = 1,
     .max_args = 1,
     .args_message = kUnexpectedArgs,
     .options = kLogVolOptions,
     .removed_options = kLogVolRemoved,
     .check = CheckLogVol,
     .duplicate_key = "name+vgname",
     .duplicate_message =
         "A logical volume with the name %s has already been defined in volume group %s.",
     .conflicts = "autopart mount"},
    {.name = "mediacheck", .pyclass = "FC4_MediaCheck"},
    {.name = "method", .pyclass = "F40_Method", .kind = CommandKind::kRemoved, .max_args = -1},
    {.name = "module", .pyclass = "F45_Module", .kind = CommandKind::kRemoved, .max_args = -1},
    {.name = "mount",
     .pyclass = "F27_Mount",
     .kind = CommandKind::kDataList,
     .min_args = 2,
     .max_args = 2,
     .args_message = kUnexpectedArgs,
     .options = kMountOptions,
     .check = CheckMount,
     .conflicts = "autopart partition raid volgroup logvol reqpart"},
    {.name = "multipath",
     .pyclass = "F34_MultiPath",
     .kind = CommandKind::kRemoved,
     .max_args = -1},
    {.name = "network",
     .pyclass = "F39_Network",
     .kind = CommandKind::kDataList,
     .options = kNetworkOptions,
     .check = CheckNetwork,
     .duplicate_key = "device",
     .duplicate_message = "A network device with the name %s has already been defined."},
    {.name = "nfs", .pyclass = "FC6_NFS", .options = kNfsOptions},
    {.name = "nvdimm", .pyclass = "F45_Nvdimm", .kind = CommandKind::kRemoved, .max_args = -1},
};

}  // namespace

std::span<const CommandSpec> CommandsPart2() { return kCommands; }

}  // namespace kiln::spec
