#include "stages/configure.h"

#include <crypt.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "core/sha256.h"
#include "core/text.h"
#include "spec/typed_commands.h"
#include "stages/scripts.h"
#include "sys/files.h"
#include "sys/sandbox.h"

namespace kiln::stages {
namespace fs = std::filesystem;

namespace {

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) out.push_back(line);
  return out;
}

std::string JoinLines(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& l : lines) out += l + "\n";
  return out;
}

std::vector<std::string> Fields(const std::string& line) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t colon = line.find(':', start);
    out.push_back(line.substr(start, colon - start));
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  return out;
}

std::string JoinFields(const std::vector<std::string>& f) {
  std::string out;
  for (size_t i = 0; i < f.size(); ++i) out += (i ? ":" : "") + f[i];
  return out;
}

// An /etc/passwd-like table: lines of ':'-separated fields, keyed by the first.
struct Table {
  fs::path path;
  std::vector<std::vector<std::string>> rows;

  static Table Load(const fs::path& p) {
    Table t{p, {}};
    for (const std::string& l : Lines(sys::ReadFileText(p))) {
      if (!l.empty()) t.rows.push_back(Fields(l));
    }
    return t;
  }
  std::vector<std::string>* Find(const std::string& name) {
    for (auto& r : rows) {
      if (!r.empty() && r[0] == name) return &r;
    }
    return nullptr;
  }
  bool IdUsed(long long id, size_t column) const {
    for (const auto& r : rows) {
      if (r.size() > column && r[column] == std::to_string(id)) return true;
    }
    return false;
  }
  void Save(mode_t mode) const {
    std::vector<std::string> lines;
    for (const auto& r : rows) lines.push_back(JoinFields(r));
    sys::WriteFileAtomic(path, JoinLines(lines), mode);
  }
};

long long FreeId(const Table& t, size_t column, long long from) {
  long long id = from;
  while (t.IdUsed(id, column)) ++id;
  return id;
}

std::string ShadowHash(const SystemConfig::Password& p, const std::string& seed) {
  std::string hash;
  if (!p.set || p.value.empty()) {
    hash = p.lock ? "!" : "*";
    return hash;
  }
  hash = p.crypted ? p.value : HashPassword(p.value, seed);
  if (p.lock) hash = "!" + hash;
  return hash;
}

}  // namespace

std::string HashPassword(const std::string& password, const std::string& salt_seed) {
  static constexpr char kSaltChars[] =
      "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  std::string digest = Sha256Hex(salt_seed + "\n" + password);
  std::string salt = "$6$";
  for (size_t i = 0; i < 16; ++i) {
    salt += kSaltChars[std::stoi(digest.substr(i * 2, 2), nullptr, 16) % 64];
  }
  crypt_data data{};
  const char* out = crypt_r(password.c_str(), salt.c_str(), &data);
  return out == nullptr || out[0] == '*' ? std::string() : std::string(out);
}

std::string SystemConfig::Canonical() const {
  std::ostringstream o;
  o << "hostname=" << hostname << "\ntimezone=" << timezone << " utc=" << utc << "\nlang=" << lang
    << "\nkeyboard=" << keyboard << " vc=" << vc_keymap << "\nroot=" << root.set << root.crypted
    << root.lock << Sha256Hex(root.value) << "\n";
  for (const Group& g : groups) o << "group=" << g.name << ":" << g.gid << "\n";
  for (const User& u : users) {
    o << "user=" << u.name << ":" << u.uid << ":" << u.gid << ":" << u.gecos << ":" << u.homedir
      << ":" << u.shell << ":" << Sha256Hex(u.password.value) << u.password.crypted
      << u.password.lock << ":";
    for (const std::string& g : u.groups) o << g << ",";
    o << "\n";
  }
  for (const SshKey& k : ssh_keys) o << "sshkey=" << k.user << ":" << k.key << "\n";
  o << "network=" << network.present << network.device << "/" << network.bootproto << "/"
    << network.ip << "/" << network.netmask << "/" << network.gateway << "/";
  for (const std::string& n : network.nameservers) o << n << ",";
  o << "\nenable=";
  for (const std::string& s : services_enabled) o << s << ",";
  o << "\ndisable=";
  for (const std::string& s : services_disabled) o << s << ",";
  o << "\nepoch=" << source_date_epoch << "\n";
  return o.str();
}

SystemConfig ReadSystemConfig(const spec::Kickstart& ks, std::vector<std::string>& warnings) {
  SystemConfig c;
  if (auto tz = spec::ReadTimezone(ks)) {
    c.timezone = tz->timezone;
  }
  if (auto lang = spec::ReadLang(ks)) c.lang = lang->lang;
  if (auto kb = spec::ReadKeyboard(ks)) {
    c.keyboard = !kb->xlayouts.empty() ? kb->xlayouts[0] : kb->keyboard;
    c.vc_keymap = kb->vckeymap;
  }
  if (auto root = spec::ReadRootpw(ks)) {
    c.root = {true, root->password, root->is_crypted, root->lock};
  }
  for (const spec::GroupData& g : spec::ReadGroups(ks))
    c.groups.push_back({g.name, g.gid.value_or(-1)});
  for (const spec::UserData& u : spec::ReadUsers(ks)) {
    SystemConfig::User user;
    user.name = u.name;
    user.gecos = u.gecos;
    user.homedir = u.homedir;
    user.shell = u.shell;
    user.uid = u.uid.value_or(-1);
    user.gid = u.gid.value_or(-1);
    user.groups = u.groups;
    user.password = {!u.password.empty(), u.password, u.is_crypted, u.lock};
    c.users.push_back(user);
  }
  for (const spec::SshkeyData& k : spec::ReadSshkeys(ks)) c.ssh_keys.push_back({k.username, k.key});
  std::vector<spec::NetworkData> nets = spec::ReadNetworks(ks);
  for (const spec::NetworkData& n : nets) {
    if (!n.hostname.empty()) c.hostname = n.hostname;
  }
  if (!nets.empty()) {
    const spec::NetworkData& n = nets.front();
    c.network = {true, n.device, n.bootproto, n.ip, n.netmask, n.gateway, n.nameservers};
    if (nets.size() > 1) warnings.push_back("network: only the first interface is configured");
  }
  if (auto s = spec::ReadServices(ks)) {
    c.services_enabled = s->enabled;
    c.services_disabled = s->disabled;
  }
  // Commands without a Debian meaning: said, not silently skipped.
  for (const char* name :
       {"selinux", "firewall", "authselect", "firstboot", "xconfig", "skipx", "eula", "logging",
        "reqpart", "ignoredisk", "iscsi", "zfcp", "text", "reboot", "realm", "timesource"}) {
    if (ks.Find(name) != nullptr) {
      warnings.push_back(std::string("kickstart command '") + name +
                         "' does not apply to a Debian image build and is ignored");
    }
  }
  return c;
}

bool ApplyHostAndLocale(const fs::path& root, const SystemConfig& c,
                        std::vector<std::string>& log) {
  // mmdebstrap copies some of the build host's files: replace them, so the image does not
  // depend on where it was built.
  sys::WriteFileAtomic(root / "etc/hostname", c.hostname + "\n");
  sys::WriteFileAtomic(root / "etc/hosts", "127.0.0.1\tlocalhost\n127.0.1.1\t" + c.hostname +
                                               "\n\n::1\tlocalhost ip6-localhost ip6-loopback\n"
                                               "ff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n");
  sys::WriteFileAtomic(root / "etc/resolv.conf", "");
  if (!c.timezone.empty()) {
    fs::path zone = root / "usr/share/zoneinfo" / c.timezone;
    if (fs::exists(zone)) {
      std::error_code ec;
      fs::remove(root / "etc/localtime", ec);
      fs::create_symlink("/usr/share/zoneinfo/" + c.timezone, root / "etc/localtime");
      sys::WriteFileAtomic(root / "etc/timezone", c.timezone + "\n");
    } else {
      log.push_back("warning: timezone " + c.timezone +
                    " is not in the image (is tzdata in %packages?); left as UTC");
    }
  }
  if (!c.lang.empty()) sys::WriteFileAtomic(root / "etc/default/locale", "LANG=" + c.lang + "\n");
  if (!c.keyboard.empty()) {
    sys::WriteFileAtomic(root / "etc/default/keyboard",
                         "XKBMODEL=\"pc105\"\nXKBLAYOUT=\"" + c.keyboard +
                             "\"\nXKBVARIANT=\"\"\nXKBOPTIONS=\"\"\nBACKSPACE=\"guess\"\n");
  }
  if (!c.vc_keymap.empty())
    sys::WriteFileAtomic(root / "etc/vconsole.conf", "KEYMAP=" + c.vc_keymap + "\n");
  return true;
}

bool ApplyAccounts(const fs::path& root, const SystemConfig& c, std::vector<std::string>& log,
                   std::string& error) {
  Table passwd = Table::Load(root / "etc/passwd");
  Table shadow = Table::Load(root / "etc/shadow");
  Table group = Table::Load(root / "etc/group");
  Table gshadow = Table::Load(root / "etc/gshadow");
  if (passwd.rows.empty() || group.rows.empty()) {
    error = "the root has no /etc/passwd or /etc/group";
    return false;
  }
  std::string day = std::to_string(c.source_date_epoch / 86400);
  auto set_shadow = [&](const std::string& name, const std::string& hash) {
    std::vector<std::string>* row = shadow.Find(name);
    if (row == nullptr) {
      shadow.rows.push_back({name, hash, day, "0", "99999", "7", "", "", ""});
    } else {
      if (row->size() < 9) row->resize(9);
      (*row)[1] = hash;
      (*row)[2] = day;
    }
  };
  auto add_group = [&](const std::string& name, long long gid) {
    if (group.Find(name) != nullptr) return;
    if (gid < 0) gid = FreeId(group, 2, 1000);
    group.rows.push_back({name, "x", std::to_string(gid), ""});
    if (gshadow.Find(name) == nullptr) gshadow.rows.push_back({name, "!", "", ""});
  };
  if (c.root.set) set_shadow("root", ShadowHash(c.root, "root"));
  for (const SystemConfig::Group& g : c.groups) add_group(g.name, g.gid);
  for (const SystemConfig::User& u : c.users) {
    if (passwd.Find(u.name) != nullptr) {
      log.push_back("warning: user " + u.name + " exists in the image already; left as it is");
      continue;
    }
    long long uid = u.uid >= 0 ? u.uid : FreeId(passwd, 2, 1000);
    long long gid = u.gid;
    if (gid < 0) {
      // Debian's user private groups: a group of the user's name, same number if free.
      gid = group.IdUsed(uid, 2) ? FreeId(group, 2, 1000) : uid;
      add_group(u.name, gid);
    }
    std::string home = u.homedir.empty() ? "/home/" + u.name : u.homedir;
    std::string shell = u.shell.empty() ? "/bin/bash" : u.shell;
    if (!fs::exists(root / fs::path(shell).relative_path())) shell = "/bin/sh";
    passwd.rows.push_back(
        {u.name, "x", std::to_string(uid), std::to_string(gid), u.gecos, home, shell});
    set_shadow(u.name, ShadowHash(u.password, "user " + u.name));
    for (const std::string& g : u.groups) {
      std::vector<std::string>* row = group.Find(g);
      if (row == nullptr) {
        log.push_back("warning: user " + u.name + ": group " + g +
                      " does not exist in the image; not added (Debian's admin group is sudo)");
        continue;
      }
      if (row->size() < 4) row->resize(4);
      (*row)[3] += ((*row)[3].empty() ? "" : ",") + u.name;
      if (std::vector<std::string>* gs = gshadow.Find(g)) {
        if (gs->size() < 4) gs->resize(4);
        (*gs)[3] += ((*gs)[3].empty() ? "" : ",") + u.name;
      }
    }
    // The home directory from /etc/skel, owned by the user.
    fs::path home_dir = root / fs::path(home).relative_path();
    if (!fs::exists(home_dir)) {
      fs::create_directories(home_dir);
      std::error_code ec;
      if (fs::exists(root / "etc/skel")) {
        fs::copy(root / "etc/skel", home_dir, fs::copy_options::recursive, ec);
      }
      for (auto it = fs::recursive_directory_iterator(home_dir, ec);
           it != fs::recursive_directory_iterator(); it.increment(ec)) {
        lchown(it->path().c_str(), static_cast<uid_t>(uid), static_cast<gid_t>(gid));
      }
      lchown(home_dir.c_str(), static_cast<uid_t>(uid), static_cast<gid_t>(gid));
      chmod(home_dir.c_str(), 0700);
    }
  }
  for (const SystemConfig::SshKey& k : c.ssh_keys) {
    std::vector<std::string>* row = passwd.Find(k.user);
    if (row == nullptr || row->size() < 6) {
      log.push_back("warning: sshkey for unknown user " + k.user + " ignored");
      continue;
    }
    fs::path dir = root / fs::path((*row)[5]).relative_path() / ".ssh";
    fs::create_directories(dir);
    fs::path keys = dir / "authorized_keys";
    std::string text = sys::ReadFileText(keys) + k.key + "\n";
    sys::WriteFileAtomic(keys, text, 0600);
    uid_t uid = static_cast<uid_t>(std::stoul((*row)[2]));
    gid_t gid = static_cast<gid_t>(std::stoul((*row)[3]));
    chmod(dir.c_str(), 0700);
    lchown(dir.c_str(), uid, gid);
    lchown(keys.c_str(), uid, gid);
  }
  passwd.Save(0644);
  shadow.Save(0640);
  group.Save(0644);
  gshadow.Save(0640);
  return true;
}

void ResetSshHostKeys(const fs::path& root, std::vector<std::string>& log) {
  if (!fs::exists(root / "etc/ssh/sshd_config")) return;
  std::error_code ec;
  int removed = 0;
  for (const fs::directory_entry& e : fs::directory_iterator(root / "etc/ssh", ec)) {
    if (StartsWith(e.path().filename().string(), "ssh_host_")) removed += fs::remove(e.path(), ec);
  }
  sys::WriteFileAtomic(root / "etc/systemd/system/kiln-ssh-host-keys.service",
                       "# Written by kiln: every machine made from the image gets its own keys.\n"
                       "[Unit]\n"
                       "Description=Generate SSH host keys on first boot\n"
                       "Before=ssh.service\n"
                       "ConditionPathExistsGlob=!/etc/ssh/ssh_host_*_key\n\n"
                       "[Service]\n"
                       "Type=oneshot\n"
                       "ExecStart=/usr/bin/ssh-keygen -A\n\n"
                       "[Install]\n"
                       "WantedBy=multi-user.target\n");
  fs::path wants = root / "etc/systemd/system/multi-user.target.wants";
  fs::create_directories(wants, ec);
  fs::remove(wants / "kiln-ssh-host-keys.service", ec);
  fs::create_symlink("/etc/systemd/system/kiln-ssh-host-keys.service",
                     wants / "kiln-ssh-host-keys.service", ec);
  log.push_back("removed " + std::to_string(removed) +
                " SSH host key files: each machine generates its own at first boot");
}

engine::StageInputs ConfigureStage::Inputs() const {
  return {"configure", 2, "", {{"system settings", Sha256Hex(config_.Canonical())}}};
}

bool ConfigureStage::Run(const engine::StageContext& ctx, engine::StageFailure& failure) {
  if (!CopyTree(ctx.input / "root", ctx.output / "root", ctx, failure, "configure")) return false;
  fs::path root = ctx.output / "root";
  std::vector<std::string> log;
  ApplyHostAndLocale(root, config_, log);
  ResetSshHostKeys(root, log);
  std::string error;
  if (!ApplyAccounts(root, config_, log, error)) {
    failure = {engine::FailureClass::kInternal, "configure-failed", "configure: " + error,
               "see build.log"};
    return false;
  }
  for (const std::string& l : log) ctx.reporter->Log(l);
  // What needs the image's own tools runs inside it.
  auto in_root = [&](std::vector<std::string> argv, const std::string& what) {
    sys::RunOptions run;
    run.argv = std::move(argv);
    run.cancel = ctx.cancel;
    run.timeout = std::chrono::minutes(10);
    run.on_line = [&](std::string_view line) { ctx.reporter->Log(line); };
    sys::RunResult r = sys::RunInSandbox({root, config_.hostname}, run);
    if (!r.ok()) ctx.reporter->Log("warning: " + what + " failed: " + r.Describe());
    return r.ok();
  };
  if (!config_.lang.empty() && config_.lang != "C" && !StartsWith(config_.lang, "C.") &&
      config_.lang != "POSIX") {
    if (fs::exists(root / "usr/sbin/locale-gen")) {
      std::string entry = config_.lang + (EndsWith(config_.lang, "UTF-8") ? " UTF-8" : "");
      sys::WriteFileAtomic(root / "etc/locale.gen", entry + "\n");
      in_root({"locale-gen"}, "locale-gen");
    } else {
      ctx.reporter->Log("warning: lang " + config_.lang +
                        ": the locales package is not in the image, so the locale is set but "
                        "not generated (add locales to %packages)");
    }
  }
  bool has_systemctl = fs::exists(root / "usr/bin/systemctl") || fs::exists(root / "bin/systemctl");
  if (!config_.services_enabled.empty() || !config_.services_disabled.empty()) {
    if (!has_systemctl) {
      ctx.reporter->Log("warning: services: systemd is not in the image; services not changed");
    } else {
      for (const std::string& s : config_.services_enabled)
        in_root({"systemctl", "enable", s}, "enable " + s);
      for (const std::string& s : config_.services_disabled)
        in_root({"systemctl", "disable", s}, "disable " + s);
    }
  }
  if (config_.network.present) {
    const auto& n = config_.network;
    std::string match = n.device.empty() || n.device == "link" ? "en* eth*" : n.device;
    std::string text = "[Match]\nName=" + match + "\n\n[Network]\n";
    if (n.bootproto == "static" && !n.ip.empty()) {
      int prefix = 0;
      for (const std::string& part : SplitNonEmpty(n.netmask, '.')) {
        prefix += __builtin_popcount(static_cast<unsigned>(std::stoi(part)));
      }
      text += "Address=" + n.ip + "/" + std::to_string(prefix ? prefix : 24) + "\n";
      if (!n.gateway.empty()) text += "Gateway=" + n.gateway + "\n";
    } else {
      text += "DHCP=yes\n";
    }
    for (const std::string& ns : n.nameservers) text += "DNS=" + ns + "\n";
    sys::WriteFileAtomic(root / "etc/systemd/network/10-kiln.network", text);
    if (has_systemctl) {
      in_root({"systemctl", "enable", "systemd-networkd"}, "enable systemd-networkd");
    } else {
      ctx.reporter->Log(
          "note: network settings written for systemd-networkd, which the image "
          "does not contain yet");
    }
  }
  return true;
}

}  // namespace kiln::stages
