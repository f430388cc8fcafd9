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
#include "sys/root_dir.h"
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

// An /etc/passwd-like table of the image: lines of ':'-separated fields, keyed by the first.
struct Table {
  std::string path;  // in the image
  std::vector<std::vector<std::string>> rows;

  static Table Load(const sys::RootDir& root, const std::string& p) {
    Table t{p, {}};
    for (const std::string& l : Lines(root.ReadFile(p).value_or(""))) {
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
  Status Save(const sys::RootDir& root, mode_t mode) const {
    std::vector<std::string> lines;
    for (const auto& r : rows) lines.push_back(JoinFields(r));
    return root.WriteFile(path, JoinLines(lines), mode);
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

bool ApplyHostAndLocale(const fs::path& root_path, const SystemConfig& c,
                        std::vector<std::string>& log) {
  sys::RootDir root(root_path);
  // mmdebstrap copies some of the build host's files: replace them, so the image does not
  // depend on where it was built. Best effort, as ever: these edits do not fail the build.
  (void)root.WriteFile("/etc/hostname", c.hostname + "\n");
  (void)root.WriteFile("/etc/hosts", "127.0.0.1\tlocalhost\n127.0.1.1\t" + c.hostname +
                                         "\n\n::1\tlocalhost ip6-localhost ip6-loopback\n"
                                         "ff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n");
  (void)root.WriteFile("/etc/resolv.conf", "");
  if (!c.timezone.empty()) {
    // The name passed IsTimeZoneName (spec/build_values.h): no "..", no leading '/'.
    std::string zone = "/usr/share/zoneinfo/" + c.timezone;
    if (root.Exists(zone)) {
      (void)root.Symlink(zone, "/etc/localtime");
      (void)root.WriteFile("/etc/timezone", c.timezone + "\n");
    } else {
      log.push_back("warning: timezone " + c.timezone +
                    " is not in the image (is tzdata in %packages?); left as UTC");
    }
  }
  if (!c.lang.empty() || !c.keyboard.empty()) (void)root.MakeDirs("/etc/default");
  if (!c.lang.empty()) (void)root.WriteFile("/etc/default/locale", "LANG=" + c.lang + "\n");
  if (!c.keyboard.empty()) {
    (void)root.WriteFile("/etc/default/keyboard",
                         "XKBMODEL=\"pc105\"\nXKBLAYOUT=\"" + c.keyboard +
                             "\"\nXKBVARIANT=\"\"\nXKBOPTIONS=\"\"\nBACKSPACE=\"guess\"\n");
  }
  if (!c.vc_keymap.empty())
    (void)root.WriteFile("/etc/vconsole.conf", "KEYMAP=" + c.vc_keymap + "\n");
  return true;
}

namespace {

// The image's account files (passwd, shadow, group, gshadow), edited in memory by
// ApplyAccounts's steps and written back together at the end.
class AccountFiles {
 public:
  AccountFiles(const sys::RootDir& root, long long source_date_epoch)
      : root_(root),
        passwd_(Table::Load(root, "/etc/passwd")),
        shadow_(Table::Load(root, "/etc/shadow")),
        group_(Table::Load(root, "/etc/group")),
        gshadow_(Table::Load(root, "/etc/gshadow")),
        day_(std::to_string(source_date_epoch / 86400)) {}

  // False when the root has no accounts to add to (not a Debian root).
  bool Loaded() const { return !passwd_.rows.empty() && !group_.rows.empty(); }

  // Sets `name`'s password hash, changed on the build's day (a new shadow row if none).
  void SetShadow(const std::string& name, const std::string& hash) {
    std::vector<std::string>* row = shadow_.Find(name);
    if (row == nullptr) {
      shadow_.rows.push_back({name, hash, day_, "0", "99999", "7", "", "", ""});
    } else {
      if (row->size() < 9) row->resize(9);
      (*row)[1] = hash;
      (*row)[2] = day_;
    }
  }

  // Adds a group unless it exists; a negative gid takes the first free one from 1000.
  void AddGroup(const std::string& name, long long gid) {
    if (group_.Find(name) != nullptr) return;
    if (gid < 0) gid = FreeId(group_, 2, 1000);
    group_.rows.push_back({name, "x", std::to_string(gid), ""});
    if (gshadow_.Find(name) == nullptr) gshadow_.rows.push_back({name, "!", "", ""});
  }

  // Adds a kickstart user (left alone if the image has one of that name): its rows, its
  // groups and its home directory. Fails only when the home cannot be made.
  Status AddUser(const SystemConfig::User& u, std::vector<std::string>& log) {
    if (passwd_.Find(u.name) != nullptr) {
      log.push_back("warning: user " + u.name + " exists in the image already; left as it is");
      return Status::Ok();
    }
    long long uid = u.uid >= 0 ? u.uid : FreeId(passwd_, 2, 1000);
    long long gid = u.gid;
    if (gid < 0) {
      // Debian's user private groups: a group of the user's name, same number if free.
      gid = group_.IdUsed(uid, 2) ? FreeId(group_, 2, 1000) : uid;
      AddGroup(u.name, gid);
    }
    std::string home = u.homedir.empty() ? "/home/" + u.name : u.homedir;
    std::string shell = u.shell.empty() ? "/bin/bash" : u.shell;
    if (!root_.Exists(shell)) shell = "/bin/sh";
    passwd_.rows.push_back(
        {u.name, "x", std::to_string(uid), std::to_string(gid), u.gecos, home, shell});
    SetShadow(u.name, ShadowHash(u.password, "user " + u.name));
    JoinGroups(u, log);
    return MakeHome(home, static_cast<uid_t>(uid), static_cast<gid_t>(gid));
  }

  // Appends an SSH key to its user's authorized_keys; a key for an unknown user is a warning.
  Status AddSshKey(const SystemConfig::SshKey& k, std::vector<std::string>& log) {
    std::vector<std::string>* row = passwd_.Find(k.user);
    if (row == nullptr || row->size() < 6) {
      log.push_back("warning: sshkey for unknown user " + k.user + " ignored");
      return Status::Ok();
    }
    std::string dir = (*row)[5] + "/.ssh";
    std::string keys = dir + "/authorized_keys";
    // The image's passwd is the image's (its packages wrote it): numbers are checked.
    auto id = [](const std::string& text) -> unsigned {
      return text.empty() || text.size() > 9 ||
                     text.find_first_not_of("0123456789") != std::string::npos
                 ? 65534u
                 : static_cast<unsigned>(std::stoul(text));
    };
    uid_t uid = id((*row)[2]);
    gid_t gid = id((*row)[3]);
    if (Status made = root_.MakeDirs(dir, 0700); !made.ok()) return made;
    if (Status written =
            root_.WriteFile(keys, root_.ReadFile(keys).value_or("") + k.key + "\n", 0600);
        !written.ok()) {
      return written;
    }
    root_.Chmod(dir, 0700);
    root_.Chown(dir, uid, gid);
    root_.Chown(keys, uid, gid);
    return Status::Ok();
  }

  // Writes the four files back, stopping at the first that cannot be written.
  Status Save() const {
    Status saved = passwd_.Save(root_, 0644);
    if (saved.ok()) saved = shadow_.Save(root_, 0640);
    if (saved.ok()) saved = group_.Save(root_, 0644);
    if (saved.ok()) saved = gshadow_.Save(root_, 0640);
    return saved;
  }

 private:
  // Adds the user to its --groups that exist in the image; the others are warnings.
  void JoinGroups(const SystemConfig::User& u, std::vector<std::string>& log) {
    for (const std::string& g : u.groups) {
      std::vector<std::string>* row = group_.Find(g);
      if (row == nullptr) {
        log.push_back("warning: user " + u.name + ": group " + g +
                      " does not exist in the image; not added (Debian's admin group is sudo)");
        continue;
      }
      if (row->size() < 4) row->resize(4);
      (*row)[3] += ((*row)[3].empty() ? "" : ",") + u.name;
      if (std::vector<std::string>* gs = gshadow_.Find(g)) {
        if (gs->size() < 4) gs->resize(4);
        (*gs)[3] += ((*gs)[3].empty() ? "" : ",") + u.name;
      }
    }
  }

  // The home directory from /etc/skel, owned by the user, unless it exists; made through
  // RootDir, so a symlink in the image (an earlier package's) cannot turn it into a host path.
  Status MakeHome(const std::string& home, uid_t uid, gid_t gid) {
    if (root_.Exists(home)) return Status::Ok();
    if (Status made = root_.MakeDirs(fs::path(home).parent_path().string(), 0755); !made.ok()) {
      return made;
    }
    if (Status made = root_.MakeDirs(home, 0700); !made.ok()) return made;
    if (root_.IsDirectory("/etc/skel")) (void)root_.CopyTree("/etc/skel", home, uid, gid);
    root_.Chown(home, uid, gid);
    root_.Chmod(home, 0700);
    return Status::Ok();
  }

  const sys::RootDir& root_;
  Table passwd_, shadow_, group_, gshadow_;
  std::string day_;
};

}  // namespace

Status ApplyAccounts(const fs::path& root_path, const SystemConfig& c,
                     std::vector<std::string>& log) {
  sys::RootDir root(root_path);
  AccountFiles files(root, c.source_date_epoch);
  if (!files.Loaded()) return Status::Error("the root has no /etc/passwd or /etc/group");
  if (c.root.set) files.SetShadow("root", ShadowHash(c.root, "root"));
  for (const SystemConfig::Group& g : c.groups) files.AddGroup(g.name, g.gid);
  for (const SystemConfig::User& u : c.users) {
    if (Status added = files.AddUser(u, log); !added.ok()) return added;
  }
  for (const SystemConfig::SshKey& k : c.ssh_keys) {
    if (Status added = files.AddSshKey(k, log); !added.ok()) return added;
  }
  return files.Save();
}

void ResetSshHostKeys(const fs::path& root_path, std::vector<std::string>& log) {
  sys::RootDir root(root_path);
  if (!root.Exists("/etc/ssh/sshd_config")) return;
  int removed = 0;
  for (const std::string& name : root.List("/etc/ssh").value_or(std::vector<std::string>{})) {
    if (StartsWith(name, "ssh_host_")) removed += root.Remove("/etc/ssh/" + name) ? 1 : 0;
  }
  (void)root.MakeDirs("/etc/systemd/system/multi-user.target.wants");
  (void)root.WriteFile("/etc/systemd/system/kiln-ssh-host-keys.service",
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
  (void)root.Symlink("/etc/systemd/system/kiln-ssh-host-keys.service",
                     "/etc/systemd/system/multi-user.target.wants/kiln-ssh-host-keys.service");
  log.push_back("removed " + std::to_string(removed) +
                " SSH host key files: each machine generates its own at first boot");
}

engine::StageInputs ConfigureStage::Inputs() const {
  return {"configure", 3, "", {{"system settings", Sha256Hex(config_.Canonical())}}};
}

bool ConfigureStage::Run(const engine::StageContext& ctx, engine::StageFailure& failure) {
  if (!CopyTree(ctx.input / "root", ctx.output / "root", ctx, failure, "configure")) return false;
  fs::path root = ctx.output / "root";
  sys::RootDir image(root);
  std::vector<std::string> log;
  ApplyHostAndLocale(root, config_, log);
  ResetSshHostKeys(root, log);
  if (Status accounts = ApplyAccounts(root, config_, log); !accounts.ok()) {
    failure = {engine::FailureClass::kInput, "configure-failed", "configure: " + accounts.message(),
               "the image's files (its packages') or the kickstart's user lines are in the way; "
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
    sys::SandboxOptions sandbox;
    sandbox.root = root;
    sandbox.hostname = config_.hostname;
    sys::RunResult r = sys::RunInSandbox(sandbox, run);
    if (!r.ok()) ctx.reporter->Log("warning: " + what + " failed: " + r.Describe());
    return r.ok();
  };
  if (!config_.lang.empty() && config_.lang != "C" && !StartsWith(config_.lang, "C.") &&
      config_.lang != "POSIX") {
    if (image.Exists("/usr/sbin/locale-gen")) {
      std::string entry = config_.lang + (EndsWith(config_.lang, "UTF-8") ? " UTF-8" : "");
      (void)image.WriteFile("/etc/locale.gen", entry + "\n");
      in_root({"locale-gen"}, "locale-gen");
    } else {
      ctx.reporter->Log("warning: lang " + config_.lang +
                        ": the locales package is not in the image, so the locale is set but "
                        "not generated (add locales to %packages)");
    }
  }
  bool has_systemctl = image.Exists("/usr/bin/systemctl") || image.Exists("/bin/systemctl");
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
    std::string match = n.device.empty() || n.device == "link"        ? "Name=en* eth*"
                        : n.device.size() == 17 && n.device[2] == ':' ? "MACAddress=" + n.device
                                                                      : "Name=" + n.device;
    std::string text = "[Match]\n" + match + "\n\n[Network]\n";
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
    (void)image.MakeDirs("/etc/systemd/network");
    (void)image.WriteFile("/etc/systemd/network/10-kiln.network", text);
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
