// Typed views of the kickstart commands kiln acts on. Each reader takes the parsed
// kickstart and returns plain data with pykickstart's defaults for what was not given.
// Options are looked up by their flag, so these views stay right if the table's internal
// dest names change.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "spec/kickstart.h"

namespace kiln::spec {

struct UrlData {
  std::string url, mirrorlist, metalink, proxy;
  bool noverifyssl = false;
  std::string sslcacert, sslclientcert, sslclientkey;
};

struct RepoData {
  SourceLocation where;  // its line
  std::string name, baseurl, mirrorlist, metalink, proxy;
  std::optional<long long> cost;
  std::vector<std::string> includepkgs, excludepkgs;
  bool install = false;
  bool noverifyssl = false;
};

struct LangData {
  std::string lang;
  std::vector<std::string> addsupport;
};

struct KeyboardData {
  std::string keyboard;  // the positional layout, if given
  std::string vckeymap;
  std::vector<std::string> xlayouts;
  std::vector<std::string> switch_options;
};

struct TimezoneData {
  std::string timezone;
  bool utc = false;
};

struct TimesourceData {
  std::string ntp_server, ntp_pool;
  bool nts = false;
  bool ntp_disable = false;
};

struct RootpwData {
  std::string password;
  bool is_crypted = false;
  bool lock = false;
  bool allow_ssh = false;
};

struct UserData {
  SourceLocation where;  // its line
  std::string name, password, homedir, shell, gecos;
  bool is_crypted = false;
  bool lock = false;
  std::vector<std::string> groups;
  std::optional<long long> uid, gid;
};

struct GroupData {
  SourceLocation where;  // its line
  std::string name;
  std::optional<long long> gid;
};

struct NetworkData {
  SourceLocation where;  // its line
  std::string device, bootproto = "dhcp", ip, netmask, gateway, hostname, ipv6;
  std::vector<std::string> nameservers;
  bool activate = false;
  bool onboot = true;
  bool noipv4 = false;
  bool noipv6 = false;
  std::string mtu;
};

struct ServicesData {
  std::vector<std::string> enabled, disabled;
};

struct FirewallData {
  std::optional<bool> enabled;  // --enabled / --disabled
  bool use_system_defaults = false;
  std::vector<std::string> ports, services, remove_services, trusts;
};

enum class SelinuxMode { kEnforcing, kPermissive, kDisabled };

struct BootloaderData {
  std::string append, location, password, boot_drive;
  std::optional<long long> timeout;
  bool iscrypted = false;
  bool leavebootorder = false;
  std::vector<std::string> driveorder;
};

struct PartData {
  int line = 0;  // where the part line is in the (flattened) kickstart
  std::string mountpoint, fstype, ondisk, label, fsoptions;
  std::optional<long long> size, maxsize;
  bool grow = false;
  bool recommended = false;
  bool noformat = false;
  bool encrypted = false;
  bool asprimary = false;
};

struct AutopartData {
  std::string type, fstype;
  bool encrypted = false;
  bool nohome = false;
  bool noboot = false;
  bool noswap = false;
};

struct ClearpartData {
  std::string type;  // "all", "linux", "none", "list" or "" (not given)
  std::vector<std::string> drives, devices;
  bool initlabel = false;
  std::string disklabel;
};

struct SshkeyData {
  SourceLocation where;  // its line
  std::string username, key;
};

struct XconfigData {
  bool startxonboot = false;
  std::string defaultdesktop;
};

enum class DisplayMode { kCmdline, kGraphical, kText };
enum class RebootAction { kHalt, kPoweroff, kReboot, kShutdown };
enum class FirstbootAction { kEnable, kDisable, kReconfig };

struct RebootData {
  RebootAction action = RebootAction::kReboot;
  bool eject = false;
  bool kexec = false;
};

struct LoggingData {
  std::string host, level;
  std::optional<long long> port;
};

struct LiveimgData {
  std::string url, proxy, checksum;
  bool noverifyssl = false;
};

struct OstreesetupData {
  std::string osname, remote, url, ref;
  bool nogpg = false;
};

struct IgnorediskData {
  std::vector<std::string> drives, only_use;
  bool interactive = false;
};

struct BootcData {
  std::string source_imgref, stateroot, target_imgref;
};

// The readers: nullopt / empty when the kickstart does not use the command.
std::optional<UrlData> ReadUrl(const Kickstart& ks);
std::vector<RepoData> ReadRepos(const Kickstart& ks);
std::optional<LangData> ReadLang(const Kickstart& ks);
std::optional<KeyboardData> ReadKeyboard(const Kickstart& ks);
std::optional<TimezoneData> ReadTimezone(const Kickstart& ks);
std::vector<TimesourceData> ReadTimesources(const Kickstart& ks);
std::optional<RootpwData> ReadRootpw(const Kickstart& ks);
std::vector<UserData> ReadUsers(const Kickstart& ks);
std::vector<GroupData> ReadGroups(const Kickstart& ks);
std::vector<NetworkData> ReadNetworks(const Kickstart& ks);
std::optional<ServicesData> ReadServices(const Kickstart& ks);
std::optional<FirewallData> ReadFirewall(const Kickstart& ks);
std::optional<SelinuxMode> ReadSelinux(const Kickstart& ks);
std::optional<BootloaderData> ReadBootloader(const Kickstart& ks);
std::vector<PartData> ReadParts(const Kickstart& ks);
std::optional<AutopartData> ReadAutopart(const Kickstart& ks);
std::optional<ClearpartData> ReadClearpart(const Kickstart& ks);
bool ReadZerombr(const Kickstart& ks);
std::optional<bool> ReadReqpart(const Kickstart& ks);  // value: --add-boot
std::vector<SshkeyData> ReadSshkeys(const Kickstart& ks);
std::optional<XconfigData> ReadXconfig(const Kickstart& ks);
bool ReadSkipx(const Kickstart& ks);
std::optional<DisplayMode> ReadDisplayMode(const Kickstart& ks);  // text/graphical/cmdline
std::optional<FirstbootAction> ReadFirstboot(const Kickstart& ks);
std::optional<RebootData> ReadReboot(const Kickstart& ks);  // shutdown/reboot/poweroff/halt
std::optional<bool> ReadEula(const Kickstart& ks);          // value: --agreed
std::optional<LoggingData> ReadLogging(const Kickstart& ks);
std::optional<LiveimgData> ReadLiveimg(const Kickstart& ks);
std::optional<OstreesetupData> ReadOstreesetup(const Kickstart& ks);
bool ReadInstall(const Kickstart& ks);  // removed in F34: true only if it parsed
std::optional<IgnorediskData> ReadIgnoredisk(const Kickstart& ks);
std::optional<BootcData> ReadBootc(const Kickstart& ks);

}  // namespace kiln::spec
