#include "spec/build_values.h"

#include "core/grammar.h"
#include "core/text.h"
#include "spec/typed_commands.h"

namespace kiln::spec {
namespace {

bool IsMacAddress(std::string_view s) {
  if (s.size() != 17) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    if (i % 3 == 2 ? c != ':' : !hex) return false;
  }
  return true;
}

// The kernel command line lands in grub.cfg's `linux` line, where ';', '$', quotes, braces
// and '#' mean something to GRUB: only what kernel parameters are made of is let through.
bool IsKernelArguments(std::string_view s) {
  if (s.size() > 1024) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              (c != '\0' && std::string_view(" =,._:/@+%-~").find(c) != std::string_view::npos);
    if (!ok) return false;
  }
  return true;
}

// A suite or component word of a repo's --baseurl ("bookworm-backports", "main").
bool IsSuiteWord(std::string_view s) {
  if (s.empty() || s.size() > 64 || s[0] == '-' || s[0] == '.') return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.' || c == '_' || c == '/';
    if (!ok) return false;
  }
  return s.find("..") == std::string_view::npos;
}

class Checker {
 public:
  Checker(const std::string& file, Diagnostics& diags) : file_(file), diags_(diags) {}

  // `what` names the option as the user wrote it ("user --homedir"); `rule` says what the
  // value may be.
  void Check(bool ok, const SourceLocation& where, std::string_view what, std::string_view value,
             std::string_view rule) {
    if (ok) return;
    diags_.Error(where.file.empty() ? SourceLocation{file_, where.line} : where,
                 std::string(what) + ": '" + Printable(value) + "' is not allowed",
                 "it must be " + std::string(rule));
  }

 private:
  const std::string& file_;
  Diagnostics& diags_;
};

constexpr std::string_view kPathRule =
    "an absolute path of letters, digits, spaces and / . _ + - @ = , without '..', '.' or "
    "'//' components";
constexpr std::string_view kAccountRule =
    "a user or group name: a lower case letter or '_', then lower case letters, digits, '_' "
    "or '-' (at most 32)";
constexpr std::string_view kIdRule = "a number from 0 to 65533 (the ids a build maps)";

bool IsImageId(const std::optional<long long>& id) { return !id || (*id >= 0 && *id <= 65533); }

// The interpreter and log file of every %pre, %post, ... script.
void CheckScripts(const Kickstart& ks, Checker& c) {
  for (const Script& s : ks.scripts) {
    std::string section(ScriptSectionName(s.kind));
    c.Check(IsCleanAbsolutePath(s.interpreter), s.where, section + " --interpreter", s.interpreter,
            kPathRule);
    if (s.log) c.Check(IsCleanAbsolutePath(*s.log), s.where, section + " --log", *s.log, kPathRule);
  }
}

// The %packages names and exclusions (globs keep only a name's characters).
void CheckPackages(const Kickstart& ks, const std::string& file, Checker& c) {
  SourceLocation packages_at{file, 0};
  auto package_ok = [](const std::string& p) {
    if (!IsPackageGlob(p)) return IsPackageReference(p);
    // A glob is skipped by the build; it still may only hold a name's characters.
    std::string plain;
    for (char ch : p) plain += (ch == '*' || ch == '?' || ch == '[' || ch == ']') ? 'x' : ch;
    return IsPackageReference(plain);
  };
  constexpr std::string_view kPackageRule =
      "a package name (letters, digits, '+', '-', '.'), optionally with :ARCH and =VERSION";
  for (const std::string& p : ks.packages.packages) {
    c.Check(package_ok(p), packages_at, "%packages", p, kPackageRule);
  }
  for (const std::string& p : ks.packages.excluded) {
    c.Check(package_ok(p), packages_at, "%packages exclusion", "-" + p, kPackageRule);
  }
}

// Every user line: name, home, shell, gecos, crypted password, groups and ids.
void CheckUsers(const Kickstart& ks, Checker& c) {
  for (const UserData& u : ReadUsers(ks)) {
    c.Check(IsAccountName(u.name), u.where, "user --name", u.name, kAccountRule);
    if (!u.homedir.empty()) {
      c.Check(IsCleanAbsolutePath(u.homedir), u.where, "user --homedir", u.homedir, kPathRule);
    }
    if (!u.shell.empty()) {
      c.Check(IsCleanAbsolutePath(u.shell), u.where, "user --shell", u.shell, kPathRule);
    }
    c.Check(u.gecos.find(':') == std::string::npos && !HasControlChar(u.gecos), u.where,
            "user --gecos", u.gecos, "text without ':' or control characters");
    if (u.is_crypted) {
      c.Check(u.password.find(':') == std::string::npos && !HasControlChar(u.password), u.where,
              "user --password", "(crypted)", "a crypt(3) hash without ':' or control characters");
    }
    for (const std::string& g : u.groups) {
      c.Check(IsAccountName(g), u.where, "user --groups", g, kAccountRule);
    }
    c.Check(IsImageId(u.uid), u.where, "user --uid", u.uid ? std::to_string(*u.uid) : "", kIdRule);
    c.Check(IsImageId(u.gid), u.where, "user --gid", u.gid ? std::to_string(*u.gid) : "", kIdRule);
  }
}

// The group and sshkey lines and a crypted rootpw.
void CheckGroupsKeysRootpw(const Kickstart& ks, Checker& c) {
  for (const GroupData& g : ReadGroups(ks)) {
    c.Check(IsAccountName(g.name), g.where, "group --name", g.name, kAccountRule);
    c.Check(IsImageId(g.gid), g.where, "group --gid", g.gid ? std::to_string(*g.gid) : "", kIdRule);
  }
  for (const SshkeyData& k : ReadSshkeys(ks)) {
    c.Check(IsAccountName(k.username), k.where, "sshkey --username", k.username, kAccountRule);
    c.Check(!HasControlChar(k.key) && k.key.size() <= 16384, k.where, "sshkey", k.key,
            "one authorized_keys line without control characters");
  }
  if (const ParsedCommand* root = ks.Single("rootpw")) {
    if (auto r = ReadRootpw(ks); r && r->is_crypted) {
      c.Check(r->password.find(':') == std::string::npos && !HasControlChar(r->password),
              root->where, "rootpw", "(crypted)",
              "a crypt(3) hash without ':' or control characters");
    }
  }
}

// Every network line: host name, device, addresses, netmask and name servers.
void CheckNetworks(const Kickstart& ks, Checker& c) {
  for (const NetworkData& n : ReadNetworks(ks)) {
    if (!n.hostname.empty()) {
      c.Check(IsHostName(n.hostname), n.where, "network --hostname", n.hostname,
              "a host name: labels of letters, digits and '-' separated by dots");
    }
    if (!n.device.empty()) {
      c.Check(IsInterfaceName(n.device) || IsMacAddress(n.device), n.where, "network --device",
              n.device, "an interface name (eth0, enp1s0), a MAC address, or link");
    }
    for (auto [what, value] : {std::pair<const char*, const std::string*>{"network --ip", &n.ip},
                               {"network --gateway", &n.gateway}}) {
      if (!value->empty()) c.Check(IsIpAddress(*value), n.where, what, *value, "an IP address");
    }
    if (!n.netmask.empty()) {
      c.Check(IsIpv4Address(n.netmask), n.where, "network --netmask", n.netmask,
              "a dotted IPv4 netmask such as 255.255.255.0");
    }
    for (const std::string& ns : n.nameservers) {
      c.Check(IsIpAddress(ns), n.where, "network --nameserver", ns, "an IP address");
    }
  }
}

// The timezone, lang and keyboard names.
void CheckLocalization(const Kickstart& ks, Checker& c) {
  if (auto tz = ReadTimezone(ks); tz && !tz->timezone.empty()) {
    c.Check(IsTimeZoneName(tz->timezone), ks.Single("timezone")->where, "timezone", tz->timezone,
            "a tzdata zone name such as Europe/Prague or UTC");
  }
  if (auto lang = ReadLang(ks); lang && !lang->lang.empty()) {
    c.Check(IsLocaleName(lang->lang), ks.Single("lang")->where, "lang", lang->lang,
            "a locale such as en_US.UTF-8");
  }
  if (auto kb = ReadKeyboard(ks)) {
    const SourceLocation& at = ks.Single("keyboard")->where;
    constexpr std::string_view kKeymapRule = "a keymap or layout name such as us or de(nodeadkeys)";
    if (!kb->keyboard.empty())
      c.Check(IsKeymapName(kb->keyboard), at, "keyboard", kb->keyboard, kKeymapRule);
    if (!kb->vckeymap.empty()) {
      c.Check(IsKeymapName(kb->vckeymap), at, "keyboard --vckeymap", kb->vckeymap, kKeymapRule);
    }
    for (const std::string& l : kb->xlayouts) {
      c.Check(IsKeymapName(l), at, "keyboard --xlayouts", l, kKeymapRule);
    }
  }
}

// The services' unit names and the bootloader's kernel command line.
void CheckServicesBootloader(const Kickstart& ks, Checker& c) {
  if (auto s = ReadServices(ks)) {
    const SourceLocation& at = ks.Single("services")->where;
    for (const std::string& u : s->enabled) {
      c.Check(IsUnitName(u), at, "services --enabled", u, "a systemd unit name such as ssh");
    }
    for (const std::string& u : s->disabled) {
      c.Check(IsUnitName(u), at, "services --disabled", u, "a systemd unit name such as ssh");
    }
  }
  if (auto b = ReadBootloader(ks)) {
    c.Check(IsKernelArguments(b->append), ks.Single("bootloader")->where, "bootloader --append",
            b->append,
            "kernel parameters: letters, digits, spaces and = , . _ : / @ + % - ~ (no quotes, "
            "';', '$', '#' or braces)");
  }
}

// Every part line: mount point, label and mount options.
void CheckParts(const Kickstart& ks, Checker& c) {
  // ReadParts reads the part lines in order: item i is line i.
  const std::vector<ParsedCommand>& part_lines = ks.List("part");
  std::vector<PartData> parts = ReadParts(ks);
  for (size_t i = 0; i < parts.size() && i < part_lines.size(); ++i) {
    const ParsedCommand& part = part_lines[i];
    const PartData& p = parts[i];
    if (StartsWith(p.mountpoint, "/")) {
      c.Check(IsCleanAbsolutePath(p.mountpoint), part.where, "part", p.mountpoint, kPathRule);
    }
    if (!p.label.empty()) {
      c.Check(IsPlainFileName(p.label) && p.label.size() <= 16, part.where, "part --label", p.label,
              "up to 16 letters, digits, '.', '_', '+' or '-'");
    }
    if (!p.fsoptions.empty()) {
      c.Check(p.fsoptions.find_first_of(" \t") == std::string::npos && !HasControlChar(p.fsoptions),
              part.where, "part --fsoptions", p.fsoptions,
              "mount options separated by commas, without spaces");
    }
  }
}

// The url and repo lines: URLs, repo names, suites and components.
void CheckSources(const Kickstart& ks, Checker& c) {
  if (auto u = ReadUrl(ks); u && !u->url.empty()) {
    std::string why;
    c.Check(NormalizeUrl(u->url, {"http", "https", "ftp", "file"}, &why).has_value(),
            ks.Single("url")->where, "url --url", u->url,
            "a valid http, https, ftp or file URL" +
                (why.empty() ? std::string() : " (this one: " + why + ")"));
  }
  for (const RepoData& r : ReadRepos(ks)) {
    c.Check(IsPlainFileName(r.name) || IsAccountName(r.name), r.where, "repo --name", r.name,
            "letters, digits, '.', '_', '+' or '-'");
    std::vector<std::string> words = SplitNonEmpty(r.baseurl, ' ');
    if (words.empty()) continue;
    std::string why;
    c.Check(NormalizeUrl(words[0], {"http", "https", "ftp", "file"}, &why).has_value(), r.where,
            "repo --baseurl", words[0],
            "a valid http, https, ftp or file URL" +
                (why.empty() ? std::string() : " (this one: " + why + ")"));
    for (size_t i = 1; i < words.size(); ++i) {
      c.Check(IsSuiteWord(words[i]), r.where, "repo --baseurl", words[i],
              "a suite or component: letters, digits, '-', '.', '_' or '/'");
    }
  }
}

}  // namespace

bool IsPackageGlob(std::string_view name) {
  return name.find_first_of("*?[") != std::string_view::npos;
}

void CheckBuildValues(const Kickstart& ks, const std::string& file, Diagnostics& diags) {
  // The diagnostics come out in the order of these checks (callers and tests see it).
  Checker c(file, diags);
  CheckScripts(ks, c);
  CheckPackages(ks, file, c);
  CheckUsers(ks, c);
  CheckGroupsKeysRootpw(ks, c);
  CheckNetworks(ks, c);
  CheckLocalization(ks, c);
  CheckServicesBootloader(ks, c);
  CheckParts(ks, c);
  CheckSources(ks, c);
}

}  // namespace kiln::spec
