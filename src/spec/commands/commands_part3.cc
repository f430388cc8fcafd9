// Kickstart commands ostreecontainer .. sshpw, from pykickstart's F45 (DEVEL) handler.
#include <cctype>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/text.h"
#include "spec/command_table.h"
#include "spec/commands/check_helpers.h"

namespace kiln::spec {
namespace {

// The checks that part (F23/F29) and raid (F23/F29) share, in pykickstart's order. Each one
// raises in pykickstart, so only the first failure is reported.
bool CheckMkfsAndPbkdf(const ParsedCommand& cmd, Diagnostics& diags) {
  if (!cmd.Bool("format", true) && NonEmpty(cmd, "mkfsopts")) {
    diags.Error(cmd.where, "--mkfsoptions with --noformat has no effect.");
    return false;
  }
  if (NonEmpty(cmd, "fsprofile") && NonEmpty(cmd, "mkfsopts")) {
    diags.Error(cmd.where, "--mkfsoptions and --fsprofile cannot be used together.");
    return false;
  }
  if (NonZero(cmd, "pbkdf_time") && NonZero(cmd, "pbkdf_iterations")) {
    diags.Error(cmd.where, "Only one of --pbkdf-time and --pbkdf-iterations can be specified.");
    return false;
  }
  return true;
}

// ostreecontainer — pykickstart commands/ostreecontainer.py, F43_OSTreeContainer (read: F38,
// which F43 extends; see the report). Conflicts with ostreesetup (and bootc) are file-level.
constexpr OptionSpec kOstreeContainerOptions[] = {
    {.flags = "--stateroot", .dest = "stateroot", .since = "F38"},
    {.flags = "--url", .dest = "url", .since = "F38", .required = true},
    {.flags = "--transport", .dest = "transport", .since = "F38"},
    {.flags = "--remote", .dest = "remote", .since = "F38"},
    {.flags = "--no-signature-verification",
     .dest = "noSignatureVerification",
     .action = OptAction::kStoreTrue,
     .since = "F38"},
};

// ostreesetup — pykickstart commands/ostreesetup.py, F43_OSTreeSetup (read: F21).
constexpr OptionSpec kOstreeSetupOptions[] = {
    {.flags = "--osname", .dest = "osname", .since = "F21", .required = true},
    {.flags = "--remote", .dest = "remote", .since = "F21"},
    {.flags = "--url", .dest = "url", .since = "F21", .required = true},
    {.flags = "--ref", .dest = "ref", .since = "F21", .required = true},
    {.flags = "--nogpg", .dest = "nogpg", .action = OptAction::kStoreTrue, .since = "F21"},
};

// Python's str.startswith is case-sensitive, so "HTTP://..." is rejected as pykickstart does.
void CheckOstreeSetup(const ParsedCommand& cmd, Diagnostics& diags) {
  const std::string* url = cmd.String("url");
  if (url == nullptr) return;
  std::string_view u = *url;
  if (!u.starts_with("file:") && !u.starts_with("http:") && !u.starts_with("https:")) {
    diags.Error(cmd.where, "ostree repos must use file, HTTP or HTTPS protocol.");
  }
}

// part / partition — pykickstart commands/partition.py, F41_Partition (read: up to F29; F34
// removed --active, F41 added --hw-passphrase; see the report).
constexpr OptionSpec kPartitionOptions[] = {
    {.flags = "--asprimary", .dest = "primOnly", .action = OptAction::kStoreTrue, .since = "FC3"},
    {.flags = "--fstype --type", .dest = "fstype", .since = "FC3"},
    {.flags = "--grow", .dest = "grow", .action = OptAction::kStoreTrue, .since = "FC3"},
    {.flags = "--maxsize", .dest = "maxSizeMB", .type = OptType::kInt, .since = "FC3"},
    {.flags = "--noformat",
     .dest = "format",
     .action = OptAction::kStoreFalse,
     .default_value = "True",
     .since = "FC3"},
    {.flags = "--onbiosdisk", .dest = "onbiosdisk", .since = "FC3"},
    {.flags = "--ondisk --ondrive", .dest = "disk", .since = "FC3"},
    {.flags = "--onpart --usepart", .dest = "onPart", .since = "FC3"},
    {.flags = "--recommended",
     .dest = "recommended",
     .action = OptAction::kStoreTrue,
     .since = "FC3"},
    {.flags = "--size", .dest = "size", .type = OptType::kInt, .since = "FC3"},
    {.flags = "--fsoptions", .dest = "fsopts", .since = "FC4"},
    {.flags = "--label", .dest = "label", .since = "FC4"},
    {.flags = "--fsprofile", .dest = "fsprofile", .since = "F9"},
    {.flags = "--encrypted", .dest = "encrypted", .action = OptAction::kStoreTrue, .since = "F9"},
    {.flags = "--passphrase", .dest = "passphrase", .since = "F9"},
    {.flags = "--escrowcert", .dest = "escrowcert", .since = "F12"},
    {.flags = "--backuppassphrase",
     .dest = "backuppassphrase",
     .action = OptAction::kStoreTrue,
     .since = "F12"},
    {.flags = "--resize", .dest = "resize", .action = OptAction::kStoreTrue, .since = "F17"},
    {.flags = "--hibernation",
     .dest = "hibernation",
     .action = OptAction::kStoreTrue,
     .since = "F18"},
    {.flags = "--cipher", .dest = "cipher", .since = "F18"},
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
    {.flags = "--hw-passphrase", .dest = "hw_passphrase", .since = "F41"},
};

constexpr RemovedOption kPartitionRemoved[] = {
    {.flag = "--bytes-per-inode", .version = "F14"},
    {.flag = "--start", .version = "F14"},
    {.flag = "--end", .version = "F14"},
    {.flag = "--active", .version = "F34"},
};

// pykickstart names the command "partition" in the extras message even for "part".
void CheckPartition(const ParsedCommand& cmd, Diagnostics& diags) {
  if (ReportExtras(cmd, 1, "partition", diags)) return;
  if (cmd.Bool("resize")) {
    if (!NonEmpty(cmd, "onPart")) {
      diags.Error(cmd.where, "--resize can only be used in conjunction with --onpart");
      return;
    }
    if (!NonZero(cmd, "size")) {
      diags.Error(cmd.where, "--resize requires --size to specify new size");
      return;
    }
  }
  const std::string* fstype = cmd.String("fstype");
  if (fstype != nullptr && *fstype == "tmpfs" && (cmd.Bool("grow") || NonZero(cmd, "maxSizeMB"))) {
    diags.Error(cmd.where,
                "The --fstype=tmpfs option can't be used together with --grow or --maxsize");
    return;
  }
  CheckMkfsAndPbkdf(cmd, diags);
}

// raid — pykickstart commands/raid.py, F43_Raid (read: up to F29, plus the F43 change from
// pykickstart PR #534: --device keeps an "md" prefix).
constexpr OptionSpec kRaidOptions[] = {
    {.flags = "--device", .dest = "device", .since = "FC3", .required = true},
    {.flags = "--fstype", .dest = "fstype", .since = "FC3"},
    {.flags = "--level", .dest = "level", .since = "FC3"},
    {.flags = "--noformat",
     .dest = "format",
     .action = OptAction::kStoreFalse,
     .default_value = "True",
     .since = "FC3"},
    {.flags = "--spares",
     .dest = "spares",
     .type = OptType::kInt,
     .default_value = "0",
     .since = "FC3"},
    {.flags = "--useexisting", .dest = "preexist", .action = OptAction::kStoreTrue, .since = "FC3"},
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
    {.flags = "--cipher", .dest = "cipher", .since = "F18"},
    {.flags = "--mkfsoptions", .dest = "mkfsopts", .since = "F23"},
    {.flags = "--chunksize", .dest = "chunk_size", .type = OptType::kInt, .since = "F25"},
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

constexpr RemovedOption kRaidRemoved[] = {
    {.flag = "--bytes-per-inode", .version = "F14"},
};

// The first positional is the mount point, the rest are the member partitions. --level is
// matched case-insensitively against pykickstart's level map (FC3, plus RAID10 from F7 and
// RAID4 from F13), which is why it is checked here and not with `choices`.
void CheckRaid(const ParsedCommand& cmd, Diagnostics& diags) {
  const std::string* level = cmd.String("level");
  if (level != nullptr) {
    static constexpr std::string_view kLevels[] = {"RAID0", "0", "RAID1", "1", "RAID4",  "4",
                                                   "RAID5", "5", "RAID6", "6", "RAID10", "10"};
    std::string up = Upper(*level);
    bool known = false;
    for (std::string_view l : kLevels) known = known || up == l;
    if (!known) {
      diags.Error(cmd.where, "Invalid raid level: " + *level);
      return;
    }
  }
  bool members = cmd.args.size() > 1;
  bool preexist = cmd.Bool("preexist") || !cmd.Bool("format", true);
  if (!members && !preexist) {
    diags.Error(cmd.where, "Partitions required for raid");
    return;
  }
  if (members && preexist) {
    diags.Error(cmd.where, "Members may not be specified for preexisting RAID device");
    return;
  }
  if (!preexist && level == nullptr) {
    diags.Error(cmd.where, "RAID Partition defined without RAID level");
    return;
  }
  if (preexist && !NonEmpty(cmd, "device")) {
    diags.Error(cmd.where, "Device required for preexisting RAID device");
    return;
  }
  CheckMkfsAndPbkdf(cmd, diags);
}

// rdp — pykickstart commands/rdp.py, F43_RDP.
constexpr OptionSpec kRdpOptions[] = {
    {.flags = "--username", .dest = "username", .since = "F43"},
    {.flags = "--password", .dest = "password", .since = "F43"},
};

// realm — pykickstart commands/realm.py, F19_Realm. pykickstart does not use argparse here:
// the command takes its words raw ("realm join [OPTIONS] REALM") and runs Python's getopt
// over the words after "join" with these long options ('=' marks those taking a value).
constexpr std::string_view kRealmJoinOptions[] = {
    "client-software=",   "server-software=", "membership-software=",
    "one-time-password=", "no-password",      "computer-ou=",
};

// Python's getopt.getopt(words, "", kRealmJoinOptions): options stop at the first other
// word; long options may be abbreviated to a unique prefix. Returns the getopt error, or ""
// with the index of the first remaining word in `rest`.
std::string RealmGetopt(std::span<const std::string> words, size_t& rest) {
  size_t i = 0;
  while (i < words.size() && words[i].size() > 1 && words[i][0] == '-') {
    const std::string& w = words[i++];
    if (w == "--") break;
    if (w[1] != '-') return "option -" + w.substr(1, 1) + " not recognized";
    std::string opt = w.substr(2);
    std::optional<std::string> value;
    if (size_t eq = opt.find('='); eq != std::string::npos) {
      value = opt.substr(eq + 1);
      opt = opt.substr(0, eq);
    }
    std::vector<std::string_view> matches;
    for (std::string_view o : kRealmJoinOptions) {
      if (o.substr(0, opt.size()) == opt) matches.push_back(o);
    }
    if (matches.empty()) return "option --" + opt + " not recognized";
    std::string_view match;
    for (std::string_view m : matches) {
      if (m == opt || m == opt + "=") match = m;
    }
    if (match.empty()) {
      if (matches.size() > 1) return "option --" + opt + " not a unique prefix";
      match = matches[0];
    }
    bool takes_value = match.back() == '=';
    if (takes_value && !value) {
      if (i >= words.size()) return "option --" + opt + " requires argument";
      ++i;
    } else if (!takes_value && value) {
      return "option --" + opt + " must not have an argument";
    }
  }
  rest = i;
  return {};
}

void CheckRealm(const ParsedCommand& cmd, Diagnostics& diags) {
  if (cmd.args.empty()) {
    diags.Error(cmd.where, "Missing realm command arguments");
    return;
  }
  if (cmd.args[0] != "join") {
    diags.Error(cmd.where, "Unsupported realm '" + cmd.args[0] + "' command");
    return;
  }
  std::span<const std::string> words(cmd.args.data() + 1, cmd.args.size() - 1);
  size_t rest = 0;
  std::string error = RealmGetopt(words, rest);
  if (!error.empty()) {
    diags.Error(cmd.where, "Invalid realm arguments: " + error);
    return;
  }
  if (words.size() - rest != 1) diags.Error(cmd.where, "Specify only one realm to join");
}

// repo — pykickstart commands/repo.py, F40_Repo (over F33/F30/F27/F21/F15/F14/F13/F11/F8/FC6).
// F40 removed --ignoregroups (deprecated since F33).
constexpr OptionSpec kRepoOptions[] = {
    {.flags = "--name", .dest = "name", .since = "FC6", .required = true},
    {.flags = "--baseurl", .dest = "baseurl", .since = "FC6"},
    {.flags = "--mirrorlist", .dest = "mirrorlist", .since = "FC6"},
    {.flags = "--cost", .dest = "cost", .type = OptType::kInt, .since = "F8"},
    {.flags = "--excludepkgs", .dest = "excludepkgs", .type = OptType::kCommaList, .since = "F8"},
    {.flags = "--includepkgs", .dest = "includepkgs", .type = OptType::kCommaList, .since = "F8"},
    {.flags = "--proxy", .dest = "proxy", .since = "F13"},
    {.flags = "--noverifyssl",
     .dest = "noverifyssl",
     .action = OptAction::kStoreTrue,
     .since = "F14"},
    {.flags = "--install", .dest = "install", .action = OptAction::kStoreTrue, .since = "F21"},
    {.flags = "--metalink", .dest = "metalink", .since = "F27"},
    {.flags = "--sslcacert", .dest = "sslcacert", .since = "F30"},
    {.flags = "--sslclientcert", .dest = "sslclientcert", .since = "F30"},
    {.flags = "--sslclientkey", .dest = "sslclientkey", .since = "F30"},
};

constexpr RemovedOption kRepoRemoved[] = {
    {.flag = "--ignoregroups", .version = "F40"},
};

// Since F15 no source is required, but at most one may be given, listed in pykickstart's order.
void CheckRepo(const ParsedCommand& cmd, Diagnostics& diags) {
  std::vector<std::string> used;
  if (NonEmpty(cmd, "mirrorlist")) used.push_back("--mirrorlist");
  if (NonEmpty(cmd, "baseurl")) used.push_back("--baseurl");
  if (NonEmpty(cmd, "metalink")) used.push_back("--metalink");
  if (used.size() > 1) {
    std::string list;
    for (const std::string& u : used) list += (list.empty() ? "" : ", ") + u;
    diags.Error(cmd.where, "Only one of " + list + " options may be specified for repo command.");
  }
}

// reqpart — pykickstart commands/reqpart.py, F23_ReqPart.
constexpr OptionSpec kReqPartOptions[] = {
    {.flags = "--add-boot", .dest = "addBoot", .action = OptAction::kStoreTrue, .since = "F23"},
};

// rescue — pykickstart commands/rescue.py, F10_Rescue.
constexpr OptionSpec kRescueOptions[] = {
    {.flags = "--nomount", .dest = "nomount", .action = OptAction::kStoreTrue, .since = "F10"},
    {.flags = "--romount", .dest = "romount", .action = OptAction::kStoreTrue, .since = "F10"},
};

void CheckRescue(const ParsedCommand& cmd, Diagnostics& diags) {
  if (cmd.Bool("nomount") && cmd.Bool("romount")) {
    diags.Error(cmd.where,
                "Only one of --nomount and --romount may be specified for rescue command.");
  }
}

// rootpw — pykickstart commands/rootpw.py, F37_RootPw (over F18/F8/FC3). F37 added
// --allow-ssh (pykickstart PR #409; the class itself was not in the index).
constexpr OptionSpec kRootPwOptions[] = {
    {.flags = "--iscrypted", .dest = "isCrypted", .action = OptAction::kStoreTrue, .since = "FC3"},
    {.flags = "--lock", .dest = "lock", .action = OptAction::kStoreTrue, .since = "F8"},
    {.flags = "--plaintext", .dest = "isCrypted", .action = OptAction::kStoreFalse, .since = "F8"},
    {.flags = "--allow-ssh", .dest = "allow_ssh", .action = OptAction::kStoreTrue, .since = "F37"},
};

// The password is an optional positional (nargs='?'), not needed with --lock; an empty
// password counts as missing. Further words are parse_known_args extras.
void CheckRootPw(const ParsedCommand& cmd, Diagnostics& diags) {
  bool password = !cmd.args.empty() && !cmd.args[0].empty();
  if (!password && !cmd.Bool("lock")) {
    diags.Error(cmd.where, "A single argument is expected for the rootpw command");
    return;
  }
  ReportExtras(cmd, 1, "rootpw", diags);
}

// selinux — pykickstart commands/selinux.py, FC3_SELinux. The constants are pykickstart's
// SELINUX_* values (DISABLED 0, ENFORCING 1, PERMISSIVE 2); the last option given wins.
constexpr OptionSpec kSelinuxOptions[] = {
    {.flags = "--disabled",
     .dest = "selinux",
     .action = OptAction::kStoreConst,
     .const_value = "0",
     .since = "FC3"},
    {.flags = "--enforcing",
     .dest = "selinux",
     .action = OptAction::kStoreConst,
     .const_value = "1",
     .since = "FC3"},
    {.flags = "--permissive",
     .dest = "selinux",
     .action = OptAction::kStoreConst,
     .const_value = "2",
     .since = "FC3"},
};

// services — pykickstart commands/services.py, FC6_Services.
constexpr OptionSpec kServicesOptions[] = {
    {.flags = "--disabled", .dest = "disabled", .type = OptType::kCommaList, .since = "FC6"},
    {.flags = "--enabled", .dest = "enabled", .type = OptType::kCommaList, .since = "FC6"},
};

// An empty list (--enabled="") counts as not given, as in pykickstart.
void CheckServices(const ParsedCommand& cmd, Diagnostics& diags) {
  const std::vector<std::string>* disabled = cmd.List("disabled");
  const std::vector<std::string>* enabled = cmd.List("enabled");
  bool any =
      (disabled != nullptr && !disabled->empty()) || (enabled != nullptr && !enabled->empty());
  if (!any) diags.Error(cmd.where, "One of --disabled or --enabled must be provided.");
}

// snapshot — pykickstart commands/snapshot.py, F26_Snapshot.
constexpr OptionSpec kSnapshotOptions[] = {
    {.flags = "--name", .dest = "name", .since = "F26", .required = true},
    {.flags = "--when", .dest = "when", .since = "F26", .required = true},
};

// --when goes through a case-insensitive callback while options are parsed, so it fails first.
// The origin is every positional (pykickstart declares none and reads parse_known_args extras).
void CheckSnapshot(const ParsedCommand& cmd, Diagnostics& diags) {
  const std::string* when = cmd.String("when");
  if (when != nullptr) {
    std::string w = ToLower(*when);
    if (w != "pre-install" && w != "post-install") {
      diags.Error(cmd.where, "Invalid snapshot when parameter: " + *when);
      return;
    }
  }
  if (cmd.args.empty()) {
    diags.Error(cmd.where, "Snapshot origin must be specified!");
    return;
  }
  if (cmd.args.size() > 1) {
    diags.Error(cmd.where, "Snapshot origin can be specified only once!");
    return;
  }
  const std::string& origin = cmd.args[0];
  size_t slash = origin.find('/');
  bool vg_lv = slash != std::string::npos && slash > 0 && slash + 1 < origin.size() &&
               origin.find('/', slash + 1) == std::string::npos;
  if (!vg_lv) {
    diags.Error(cmd.where, "Snapshot origin " + origin + " must be specified by VG/LV!");
  }
}

// sshkey — pykickstart commands/sshkey.py, F22_SshKey (data F38_SshKeyData).
constexpr OptionSpec kSshKeyOptions[] = {
    {.flags = "--username", .dest = "username", .since = "F22", .required = true},
};

// The key is one positional (nargs=1); more words are parse_known_args extras.
void CheckSshKey(const ParsedCommand& cmd, Diagnostics& diags) {
  ReportExtras(cmd, 1, "sshkey", diags);
}

// sshpw — pykickstart commands/sshpw.py, F24_SshPw (over F13). The password is nargs='*',
// joined with spaces.
constexpr OptionSpec kSshPwOptions[] = {
    {.flags = "--username", .dest = "username", .since = "F13", .required = true},
    {.flags = "--iscrypted", .dest = "isCrypted", .action = OptAction::kStoreTrue, .since = "F13"},
    {.flags = "--plaintext", .dest = "isCrypted", .action = OptAction::kStoreFalse, .since = "F13"},
    {.flags = "--lock", .dest = "lock", .action = OptAction::kStoreTrue, .since = "F13"},
    {.flags = "--sshkey", .dest = "sshkey", .action = OptAction::kStoreTrue, .since = "F24"},
};

// partition.py:335-339 (part_cb): --onpart/--usepart lose a leading /dev/.
void RewritePartition(ParsedCommand& cmd) {
  auto it = cmd.values.find("onPart");
  if (it == cmd.values.end()) return;
  if (auto* device = std::get_if<std::string>(&it->second);
      device && device->starts_with("/dev/")) {
    device->erase(0, 5);
  }
}

constexpr CommandSpec kCommands[] = {
    {.name = "ostreecontainer",
     .pyclass = "F43_OSTreeContainer",
     .options = kOstreeContainerOptions,
     .conflicts = "ostreesetup bootc"},
    {.name = "ostreesetup",
     .pyclass = "F43_OSTreeSetup",
     .options = kOstreeSetupOptions,
     .check = CheckOstreeSetup,
     .conflicts = "ostreecontainer bootc"},
    {.name = "part",
     .pyclass = "F41_Partition",
     .kind = CommandKind::kDataList,
     .write_priority = 130,
     .min_args = 1,
     .max_args = -1,
     .args_message = "the following arguments are required: <mntpoint>",
     .options = kPartitionOptions,
     .removed_options = kPartitionRemoved,
     .check = CheckPartition,
     .rewrite = RewritePartition,
     .duplicate_key = "arg0",
     .duplicate_message = "A partition with the mountpoint %s has already been defined.",
     .conflicts = "autopart mount"},
    {.name = "partition",
     .pyclass = "F41_Partition",
     .kind = CommandKind::kDataList,
     .write_priority = 130,
     .min_args = 1,
     .max_args = -1,
     .args_message = "the following arguments are required: <mntpoint>",
     .options = kPartitionOptions,
     .removed_options = kPartitionRemoved,
     .check = CheckPartition,
     .rewrite = RewritePartition,
     .duplicate_key = "arg0",
     .duplicate_message = "A partition with the mountpoint %s has already been defined.",
     .conflicts = "autopart mount"},
    {.name = "raid",
     .pyclass = "F43_Raid",
     .kind = CommandKind::kDataList,
     .write_priority = 131,
     .min_args = 1,
     .max_args = -1,
     .args_message = "the following arguments are required: <mntpoint>",
     .options = kRaidOptions,
     .removed_options = kRaidRemoved,
     .check = CheckRaid,
     .duplicate_key = "device",
     .duplicate_message = "A RAID device with the name %s has already been defined.",
     .conflicts = "autopart mount"},
    {.name = "rdp", .pyclass = "F43_RDP", .options = kRdpOptions},
    {.name = "realm",
     .pyclass = "F19_Realm",
     .max_args = -1,
     .check = CheckRealm,
     .raw_args = true,
     .repeat_error = "The realm command 'join' should only be specified once"},  // realm.py:42
    {.name = "repo",
     .pyclass = "F40_Repo",
     .kind = CommandKind::kDataList,
     .options = kRepoOptions,
     .removed_options = kRepoRemoved,
     .check = CheckRepo,
     .duplicate_key = "name",
     .duplicate_message = "A repo with the name %s has already been defined."},
    {.name = "reqpart",
     .pyclass = "F23_ReqPart",
     .write_priority = 100,
     .options = kReqPartOptions,
     .conflicts = "autopart mount"},
    {.name = "rescue", .pyclass = "F10_Rescue", .options = kRescueOptions, .check = CheckRescue},
    {.name = "rootpw",
     .pyclass = "F37_RootPw",
     .max_args = -1,
     .options = kRootPwOptions,
     .check = CheckRootPw},
    {.name = "selinux", .pyclass = "FC3_SELinux", .options = kSelinuxOptions},
    {.name = "services",
     .pyclass = "FC6_Services",
     .options = kServicesOptions,
     .merged_check = CheckServices},  // on self: services.py:75-76
    {.name = "skipx", .pyclass = "FC3_SkipX"},
    // pykickstart makes a repeated snapshot name an error, not a warning (see the report).
    {.name = "snapshot",
     .pyclass = "F26_Snapshot",
     .kind = CommandKind::kDataList,
     .write_priority = 140,
     .max_args = -1,
     .options = kSnapshotOptions,
     .check = CheckSnapshot,
     .duplicate_key = "name",
     .duplicate_message = "Snapshot with the name %s has been already defined!",
     .duplicate_is_error = true},
    {.name = "sshkey",
     .pyclass = "F22_SshKey",
     .kind = CommandKind::kDataList,
     .min_args = 1,
     .max_args = -1,
     .args_message = "the following arguments are required: \"ssh key\"",
     .options = kSshKeyOptions,
     .check = CheckSshKey,
     .duplicate_key = "username",
     .duplicate_message = "An ssh user with the name %s has already been defined."},
    {.name = "sshpw",
     .pyclass = "F24_SshPw",
     .kind = CommandKind::kDataList,
     .min_args = 1,
     .max_args = -1,
     .args_message = "A single argument is expected for the %s command",
     .options = kSshPwOptions,
     .duplicate_key = "username",
     .duplicate_message = "An ssh user with the name %s has already been defined."},
};

}  // namespace

std::span<const CommandSpec> CommandsPart3() { return kCommands; }

}  // namespace kiln::spec
