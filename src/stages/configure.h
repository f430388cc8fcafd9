// The configure stage: the kickstart's system settings written into a copy of the root —
// host name, time zone, locale, keyboard, root password, groups, users, SSH keys, network
// and services. Files are edited directly (passwd, shadow, group, ...), so the result does
// not depend on which tools the image happens to contain; what needs the image's own tools
// (locale-gen, systemctl) runs in the sandbox. Commands with no Debian meaning are named in
// the log as warnings.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "engine/executor.h"
#include "spec/kickstart.h"

namespace kiln::stages {

// What the configure stage applies, read from the kickstart.
struct SystemConfig {
  std::string hostname = "debian";
  std::string timezone;  // "" = leave Debian's default (UTC)
  bool utc = true;
  std::string lang;      // "" = leave the default
  std::string keyboard;  // XKB layout, "" = leave
  std::string vc_keymap;
  struct Password {
    bool set = false;
    std::string value;  // plaintext or crypted
    bool crypted = false;
    bool lock = false;
  } root;
  struct Group {
    std::string name;
    long long gid = -1;
  };
  std::vector<Group> groups;
  struct User {
    std::string name, gecos, homedir, shell;
    long long uid = -1, gid = -1;
    std::vector<std::string> groups;
    Password password;
  };
  std::vector<User> users;
  struct SshKey {
    std::string user, key;
  };
  std::vector<SshKey> ssh_keys;
  struct Network {
    bool present = false;
    std::string device, bootproto = "dhcp", ip, netmask, gateway;
    std::vector<std::string> nameservers;
  } network;
  std::vector<std::string> services_enabled, services_disabled;
  long long source_date_epoch = 0;  // for shadow's "last changed" day

  // A canonical text of everything above: the stage's cache input.
  std::string Canonical() const;
};

// Reads the settings from a kickstart; commands that cannot apply on Debian are reported as
// warnings in `warnings`.
SystemConfig ReadSystemConfig(const spec::Kickstart& ks, std::vector<std::string>& warnings);

// Removes the SSH host keys openssh-server made while the image was built (every machine made
// from the image would share them) and installs a unit that makes new ones at first boot.
void ResetSshHostKeys(const std::filesystem::path& root, std::vector<std::string>& log);

class ConfigureStage : public engine::Stage {
 public:
  explicit ConfigureStage(SystemConfig config) : config_(std::move(config)) {}
  std::string name() const override { return "configure"; }
  engine::StageInputs Inputs() const override;
  bool Run(const engine::StageContext& ctx, engine::StageFailure& failure) override;

 private:
  SystemConfig config_;
};

// The file edits, on a root tree (exposed for tests). ApplyAccounts fails (saying why) when
// the root lacks what it needs.
Status ApplyAccounts(const std::filesystem::path& root, const SystemConfig& config,
                     std::vector<std::string>& log);
bool ApplyHostAndLocale(const std::filesystem::path& root, const SystemConfig& config,
                        std::vector<std::string>& log);

// A SHA-512 crypt(3) hash of `password` with a salt derived from `salt_seed`, so the same
// request always gives the same bytes.
std::string HashPassword(const std::string& password, const std::string& salt_seed);

}  // namespace kiln::stages
