#include "spec/typed_commands.h"

#include "core/text.h"

namespace kiln::spec {
namespace {

bool HasFlag(const OptionSpec& o, std::string_view flag) {
  std::string_view flags = o.flags;
  while (!flags.empty()) {
    size_t space = flags.find(' ');
    if (flags.substr(0, space) == flag) return true;
    if (space == std::string_view::npos) break;
    flags.remove_prefix(space + 1);
  }
  return false;
}

const OptionSpec* Option(const ParsedCommand& cmd, std::string_view flag) {
  for (const OptionSpec& o : cmd.spec->options) {
    if (HasFlag(o, flag)) return &o;
  }
  return nullptr;
}

const OptionValue* Value(const ParsedCommand& cmd, std::string_view flag) {
  const OptionSpec* o = Option(cmd, flag);
  if (o == nullptr) return nullptr;
  auto it = cmd.values.find(o->dest);
  return it == cmd.values.end() ? nullptr : &it->second;
}

std::string Str(const ParsedCommand& cmd, std::string_view flag) {
  const OptionValue* v = Value(cmd, flag);
  if (v == nullptr) return {};
  if (auto* s = std::get_if<std::string>(v)) return *s;
  if (auto* n = std::get_if<long long>(v)) return std::to_string(*n);
  if (auto* l = std::get_if<std::vector<std::string>>(v)) {
    std::string out;
    for (const std::string& x : *l) out += (out.empty() ? "" : ",") + x;
    return out;
  }
  return {};
}

bool Flag(const ParsedCommand& cmd, std::string_view flag, bool fallback = false) {
  const OptionValue* v = Value(cmd, flag);
  if (v == nullptr) return fallback;
  if (auto* b = std::get_if<bool>(v)) return *b;
  return fallback;
}

std::optional<long long> Int(const ParsedCommand& cmd, std::string_view flag) {
  const OptionValue* v = Value(cmd, flag);
  if (v == nullptr) return std::nullopt;
  if (auto* n = std::get_if<long long>(v)) return *n;
  if (auto* d = std::get_if<double>(v)) return static_cast<long long>(*d);
  // Some numeric options are strings in pykickstart (logging --port).
  if (auto* s = std::get_if<std::string>(v)) {
    try {
      size_t used = 0;
      long long n = std::stoll(*s, &used);
      if (used == s->size()) return n;
    } catch (const std::exception&) {
    }
  }
  return std::nullopt;
}

std::vector<std::string> List(const ParsedCommand& cmd, std::string_view flag) {
  const OptionValue* v = Value(cmd, flag);
  if (v == nullptr) return {};
  if (auto* l = std::get_if<std::vector<std::string>>(v)) return *l;
  if (auto* s = std::get_if<std::string>(v)) return SplitNonEmpty(*s, ',');
  return {};
}

// The flag of the last given option among `flags` (for store_const families such as
// selinux --enforcing/--permissive/--disabled), or "".
std::string_view LastGiven(const ParsedCommand& cmd,
                           std::initializer_list<std::string_view> flags) {
  std::string_view found;
  for (const ParsedCommand::Given& g : cmd.given) {
    for (std::string_view f : flags) {
      if (HasFlag(*g.option, f)) found = f;
    }
  }
  return found;
}

std::string Arg(const ParsedCommand& cmd, size_t i) {
  return i < cmd.args.size() ? cmd.args[i] : std::string();
}

}  // namespace

std::optional<UrlData> ReadUrl(const Kickstart& ks) {
  const ParsedCommand* c = ks.Single("url");
  if (c == nullptr) return std::nullopt;
  UrlData d;
  d.url = Str(*c, "--url");
  d.mirrorlist = Str(*c, "--mirrorlist");
  d.metalink = Str(*c, "--metalink");
  d.proxy = Str(*c, "--proxy");
  d.noverifyssl = Flag(*c, "--noverifyssl");
  d.sslcacert = Str(*c, "--sslcacert");
  d.sslclientcert = Str(*c, "--sslclientcert");
  d.sslclientkey = Str(*c, "--sslclientkey");
  return d;
}

std::vector<RepoData> ReadRepos(const Kickstart& ks) {
  std::vector<RepoData> out;
  for (const ParsedCommand& c : ks.List("repo")) {
    RepoData d;
    d.where = c.where;
    d.name = Str(c, "--name");
    d.baseurl = Str(c, "--baseurl");
    d.mirrorlist = Str(c, "--mirrorlist");
    d.metalink = Str(c, "--metalink");
    d.proxy = Str(c, "--proxy");
    d.cost = Int(c, "--cost");
    d.includepkgs = List(c, "--includepkgs");
    d.excludepkgs = List(c, "--excludepkgs");
    d.install = Flag(c, "--install");
    d.noverifyssl = Flag(c, "--noverifyssl");
    out.push_back(std::move(d));
  }
  return out;
}

std::optional<LangData> ReadLang(const Kickstart& ks) {
  const ParsedCommand* c = ks.Single("lang");
  if (c == nullptr) return std::nullopt;
  return LangData{Arg(*c, 0), List(*c, "--addsupport")};
}

std::optional<KeyboardData> ReadKeyboard(const Kickstart& ks) {
  const ParsedCommand* c = ks.Single("keyboard");
  if (c == nullptr) return std::nullopt;
  KeyboardData d;
  d.keyboard = Arg(*c, 0);
  d.vckeymap = Str(*c, "--vckeymap");
  d.xlayouts = List(*c, "--xlayouts");
  d.switch_options = List(*c, "--switch");
  return d;
}

std::optional<TimezoneData> ReadTimezone(const Kickstart& ks) {
  const ParsedCommand* c = ks.Single("timezone");
  if (c == nullptr) return std::nullopt;
  return TimezoneData{Arg(*c, 0), Flag(*c, "--utc")};
}

std::vector<TimesourceData> ReadTimesources(const Kickstart& ks) {
  std::vector<TimesourceData> out;
  for (const ParsedCommand& c : ks.List("timesource")) {
    out.push_back(
        {Str(c, "--ntp-server"), Str(c, "--ntp-pool"), Flag(c, "--nts"), Flag(c, "--ntp-disable")});
  }
  return out;
}

std::optional<RootpwData> ReadRootpw(const Kickstart& ks) {
  const ParsedCommand* c = ks.Single("rootpw");
  if (c == nullptr) return std::nullopt;
  RootpwData d;
  d.password = Arg(*c, 0);
  d.is_crypted = Flag(*c, "--iscrypted");
  d.lock = Flag(*c, "--lock");
  d.allow_ssh = Flag(*c, "--allow-ssh");
  return d;
}

std::vector<UserData> ReadUsers(const Kickstart& ks) {
  std::vector<UserData> out;
  for (const ParsedCommand& c : ks.List("user")) {
    UserData d;
    d.where = c.where;
    d.name = Str(c, "--name");
    d.password = Str(c, "--password");
    d.homedir = Str(c, "--homedir");
    d.shell = Str(c, "--shell");
    d.gecos = Str(c, "--gecos");
    d.is_crypted = Flag(c, "--iscrypted");
    d.lock = Flag(c, "--lock");
    d.groups = List(c, "--groups");
    d.uid = Int(c, "--uid");
    d.gid = Int(c, "--gid");
    out.push_back(std::move(d));
  }
  return out;
}

std::vector<GroupData> ReadGroups(const Kickstart& ks) {
  std::vector<GroupData> out;
  for (const ParsedCommand& c : ks.List("group"))
    out.push_back({c.where, Str(c, "--name"), Int(c, "--gid")});
  return out;
}

std::vector<NetworkData> ReadNetworks(const Kickstart& ks) {
  std::vector<NetworkData> out;
  for (const ParsedCommand& c : ks.List("network")) {
    NetworkData d;
    d.where = c.where;
    d.device = Str(c, "--device");
    if (std::string b = Str(c, "--bootproto"); !b.empty()) d.bootproto = b;
    d.ip = Str(c, "--ip");
    d.netmask = Str(c, "--netmask");
    d.gateway = Str(c, "--gateway");
    d.hostname = Str(c, "--hostname");
    d.ipv6 = Str(c, "--ipv6");
    d.nameservers = List(c, "--nameserver");
    d.activate = Flag(c, "--activate");
    d.onboot = Flag(c, "--onboot", true);
    d.noipv4 = Flag(c, "--noipv4");
    d.noipv6 = Flag(c, "--noipv6");
    d.mtu = Str(c, "--mtu");
    out.push_back(std::move(d));
  }
  return out;
}

std::optional<ServicesData> ReadServices(const Kickstart& ks) {
  const ParsedCommand* c = ks.Single("services");
  if (c == nullptr) return std::nullopt;
  return ServicesData{List(*c, "--enabled"), List(*c, "--disabled")};
}

std::optional<FirewallData> ReadFirewall(const Kickstart& ks) {
  const ParsedCommand* c = ks.Single("firewall");
  if (c == nullptr) return std::nullopt;
  FirewallData d;
  std::string_view which = LastGiven(*c, {"--enabled", "--enable", "--disabled", "--disable"});
  if (!which.empty()) d.enabled = which == "--enabled" || which == "--enable";
  d.use_system_defaults = Flag(*c, "--use-system-defaults");
  d.ports = List(*c, "--port");
  d.services = List(*c, "--service");
  d.remove_services = List(*c, "--remove-service");
  d.trusts = List(*c, "--trust");
  return d;
}

std::optional<SelinuxMode> ReadSelinux(const Kickstart& ks) {
  const ParsedCommand* c = ks.Single("selinux");
  if (c == nullptr) return std::nullopt;
  std::string_view which = LastGiven(*c, {"--enforcing", "--permissive", "--disabled"});
  if (which == "--permissive") return SelinuxMode::kPermissive;
  if (which == "--disabled") return SelinuxMode::kDisabled;
  return SelinuxMode::kEnforcing;
}

std::optional<BootloaderData> ReadBootloader(const Kickstart& ks) {
  const ParsedCommand* c = ks.Single("bootloader");
  if (c == nullptr) return std::nullopt;
  BootloaderData d;
  d.append = Str(*c, "--append");
  d.location = Str(*c, "--location");
  d.password = Str(*c, "--password");
  d.boot_drive = Str(*c, "--boot-drive");
  d.timeout = Int(*c, "--timeout");
  d.iscrypted = Flag(*c, "--iscrypted");
  d.leavebootorder = Flag(*c, "--leavebootorder");
  d.driveorder = List(*c, "--driveorder");
  return d;
}

std::vector<PartData> ReadParts(const Kickstart& ks) {
  std::vector<PartData> out;
  for (const ParsedCommand& c : ks.List("part")) {
    PartData d;
    d.line = c.where.line;
    d.mountpoint = Arg(c, 0);
    d.fstype = Str(c, "--fstype");
    d.ondisk = Str(c, "--ondisk");
    d.label = Str(c, "--label");
    d.fsoptions = Str(c, "--fsoptions");
    d.size = Int(c, "--size");
    d.maxsize = Int(c, "--maxsize");
    d.grow = Flag(c, "--grow");
    d.recommended = Flag(c, "--recommended");
    d.noformat = Flag(c, "--noformat");
    d.encrypted = Flag(c, "--encrypted");
    d.asprimary = Flag(c, "--asprimary");
    out.push_back(std::move(d));
  }
  return out;
}

std::optional<AutopartData> ReadAutopart(const Kickstart& ks) {
  const ParsedCommand* c = ks.Single("autopart");
  if (c == nullptr) return std::nullopt;
  AutopartData d;
  d.type = Str(*c, "--type");
  d.fstype = Str(*c, "--fstype");
  d.encrypted = Flag(*c, "--encrypted");
  d.nohome = Flag(*c, "--nohome");
  d.noboot = Flag(*c, "--noboot");
  d.noswap = Flag(*c, "--noswap");
  return d;
}

std::optional<ClearpartData> ReadClearpart(const Kickstart& ks) {
  const ParsedCommand* c = ks.Single("clearpart");
  if (c == nullptr) return std::nullopt;
  ClearpartData d;
  std::string_view which = LastGiven(*c, {"--all", "--linux", "--none", "--list"});
  if (!which.empty()) d.type = std::string(which.substr(2));
  d.drives = List(*c, "--drives");
  d.devices = List(*c, "--list");
  // Devices listed on any line make it a list clear, whatever else a line says
  // (pykickstart clearpart.py:126-131 checks the merged object).
  if (!d.devices.empty()) d.type = "list";
  d.initlabel = Flag(*c, "--initlabel");
  d.disklabel = Str(*c, "--disklabel");
  return d;
}

bool ReadZerombr(const Kickstart& ks) { return ks.Single("zerombr") != nullptr; }

std::optional<bool> ReadReqpart(const Kickstart& ks) {
  const ParsedCommand* c = ks.Single("reqpart");
  if (c == nullptr) return std::nullopt;
  return Flag(*c, "--add-boot");
}

std::vector<SshkeyData> ReadSshkeys(const Kickstart& ks) {
  std::vector<SshkeyData> out;
  for (const ParsedCommand& c : ks.List("sshkey"))
    out.push_back({c.where, Str(c, "--username"), Arg(c, 0)});
  return out;
}

std::optional<XconfigData> ReadXconfig(const Kickstart& ks) {
  const ParsedCommand* c = ks.Single("xconfig");
  if (c == nullptr) return std::nullopt;
  return XconfigData{Flag(*c, "--startxonboot"), Str(*c, "--defaultdesktop")};
}

bool ReadSkipx(const Kickstart& ks) { return ks.Single("skipx") != nullptr; }

std::optional<DisplayMode> ReadDisplayMode(const Kickstart& ks) {
  const ParsedCommand* c = ks.Single("text");
  if (c == nullptr) return std::nullopt;
  if (c->name == "cmdline") return DisplayMode::kCmdline;
  if (c->name == "graphical") return DisplayMode::kGraphical;
  return DisplayMode::kText;
}

std::optional<FirstbootAction> ReadFirstboot(const Kickstart& ks) {
  const ParsedCommand* c = ks.Single("firstboot");
  if (c == nullptr) return std::nullopt;
  std::string_view which =
      LastGiven(*c, {"--enable", "--enabled", "--disable", "--disabled", "--reconfig"});
  if (which == "--disable" || which == "--disabled") return FirstbootAction::kDisable;
  if (which == "--reconfig") return FirstbootAction::kReconfig;
  return FirstbootAction::kEnable;
}

std::optional<RebootData> ReadReboot(const Kickstart& ks) {
  const ParsedCommand* c = ks.Single("reboot");
  if (c == nullptr) return std::nullopt;
  RebootData d;
  if (c->name == "halt") d.action = RebootAction::kHalt;
  if (c->name == "poweroff") d.action = RebootAction::kPoweroff;
  if (c->name == "shutdown") d.action = RebootAction::kShutdown;
  d.eject = Flag(*c, "--eject");
  d.kexec = Flag(*c, "--kexec");
  return d;
}

std::optional<bool> ReadEula(const Kickstart& ks) {
  const ParsedCommand* c = ks.Single("eula");
  if (c == nullptr) return std::nullopt;
  return Flag(*c, "--agreed");
}

std::optional<LoggingData> ReadLogging(const Kickstart& ks) {
  const ParsedCommand* c = ks.Single("logging");
  if (c == nullptr) return std::nullopt;
  return LoggingData{Str(*c, "--host"), Str(*c, "--level"), Int(*c, "--port")};
}

std::optional<LiveimgData> ReadLiveimg(const Kickstart& ks) {
  const ParsedCommand* c = ks.Single("liveimg");
  if (c == nullptr) return std::nullopt;
  return LiveimgData{Str(*c, "--url"), Str(*c, "--proxy"), Str(*c, "--checksum"),
                     Flag(*c, "--noverifyssl")};
}

std::optional<OstreesetupData> ReadOstreesetup(const Kickstart& ks) {
  const ParsedCommand* c = ks.Single("ostreesetup");
  if (c == nullptr) return std::nullopt;
  return OstreesetupData{Str(*c, "--osname"), Str(*c, "--remote"), Str(*c, "--url"),
                         Str(*c, "--ref"), Flag(*c, "--nogpg")};
}

bool ReadInstall(const Kickstart& ks) { return ks.Single("install") != nullptr; }

std::optional<IgnorediskData> ReadIgnoredisk(const Kickstart& ks) {
  const ParsedCommand* c = ks.Single("ignoredisk");
  if (c == nullptr) return std::nullopt;
  return IgnorediskData{List(*c, "--drives"), List(*c, "--only-use"), Flag(*c, "--interactive")};
}

std::optional<BootcData> ReadBootc(const Kickstart& ks) {
  const ParsedCommand* c = ks.Single("bootc");
  if (c == nullptr) return std::nullopt;
  return BootcData{Str(*c, "--source-imgref"), Str(*c, "--stateroot"), Str(*c, "--target-imgref")};
}

}  // namespace kiln::spec
