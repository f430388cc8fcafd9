// The configure stage's file edits on a small root tree.
#include "stages/configure.h"

#include <crypt.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "test_util.h"

namespace kiln::stages {
namespace {

namespace fs = std::filesystem;

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class ConfigureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("kiln-configure-" + std::to_string(getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_ / "etc/skel");
    fs::create_directories(root_ / "bin");
    fs::create_directories(root_ / "usr/share/zoneinfo/Europe");
    std::ofstream(root_ / "usr/share/zoneinfo/Europe/Paris") << "TZif";
    std::ofstream(root_ / "bin/bash") << "";
    std::ofstream(root_ / "etc/skel/.profile") << "# profile\n";
    std::ofstream(root_ / "etc/passwd") << "root:x:0:0:root:/root:/bin/bash\n"
                                           "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n";
    std::ofstream(root_ / "etc/shadow")
        << "root:*:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n";
    std::ofstream(root_ / "etc/group") << "root:x:0:\nsudo:x:27:\nusers:x:100:\n";
    std::ofstream(root_ / "etc/gshadow") << "root:*::\nsudo:*::\nusers:*::\n";
  }
  void TearDown() override { fs::remove_all(root_); }

  SystemConfig Read(const std::string& ks_text) {
    spec::ParseResult r = spec::testing::ParseText(ks_text);
    EXPECT_TRUE(r.ok()) << spec::testing::AllMessages(r.diagnostics);
    std::vector<std::string> warnings;
    SystemConfig c = ReadSystemConfig(r.kickstart, warnings);
    c.source_date_epoch = 1746868407;
    return c;
  }

  fs::path root_;
};

bool Verifies(const std::string& password, const std::string& hash) {
  crypt_data data{};
  const char* out = crypt_r(password.c_str(), hash.c_str(), &data);
  return out != nullptr && hash == out;
}

TEST(HashPasswordTest, DeterministicAndVerifiable) {
  std::string a = HashPassword("kiln", "root");
  EXPECT_EQ(a.substr(0, 3), "$6$");
  EXPECT_EQ(a, HashPassword("kiln", "root")) << "same request, same bytes";
  EXPECT_NE(a, HashPassword("kiln", "user admin")) << "another salt for another account";
  EXPECT_TRUE(Verifies("kiln", a));
  EXPECT_FALSE(Verifies("nope", a));
}

TEST_F(ConfigureTest, AccountsAreWrittenIntoTheFiles) {
  SystemConfig c = Read(
      "rootpw --plaintext secret\ngroup --name=builders --gid=2000\n"
      "user --name=alice --password=pw --plaintext --groups=sudo,builders,wheel --gecos=\"Alice "
      "A\"\n"
      "user --name=bob --iscrypted --password=$6$x$y --uid=1600 --lock\n"
      "sshkey --username=alice \"ssh-ed25519 AAAA alice@host\"\n");
  std::vector<std::string> log;
  Status applied = ApplyAccounts(root_, c, log);
  ASSERT_TRUE(applied.ok()) << applied.message();
  std::string passwd = ReadFile(root_ / "etc/passwd");
  EXPECT_NE(passwd.find("alice:x:1000:1000:Alice A:/home/alice:/bin/bash\n"), std::string::npos)
      << passwd;
  EXPECT_NE(passwd.find("bob:x:1600:1600::/home/bob:/bin/bash\n"), std::string::npos) << passwd;
  std::string group = ReadFile(root_ / "etc/group");
  EXPECT_NE(group.find("sudo:x:27:alice\n"), std::string::npos) << group;
  EXPECT_NE(group.find("builders:x:2000:alice\n"), std::string::npos) << group;
  EXPECT_NE(group.find("alice:x:1000:\n"), std::string::npos) << group;
  std::string shadow = ReadFile(root_ / "etc/shadow");
  std::istringstream lines(shadow);
  std::string line;
  std::map<std::string, std::string> hashes;
  while (std::getline(lines, line)) {
    size_t c1 = line.find(':'), c2 = line.find(':', c1 + 1);
    hashes[line.substr(0, c1)] = line.substr(c1 + 1, c2 - c1 - 1);
    if (line.rfind("alice:", 0) == 0) {
      // "last changed" is the day of SOURCE_DATE_EPOCH, not of the build.
      EXPECT_NE(line.find(":20218:"), std::string::npos) << line;
    }
  }
  EXPECT_TRUE(Verifies("secret", hashes["root"]));
  EXPECT_TRUE(Verifies("pw", hashes["alice"]));
  EXPECT_EQ(hashes["bob"], "!$6$x$y") << "crypted as given, locked";
  EXPECT_EQ(hashes["daemon"], "*") << "other accounts untouched";
  EXPECT_TRUE(fs::exists(root_ / "home/alice/.profile")) << "home from /etc/skel";
  EXPECT_EQ(ReadFile(root_ / "home/alice/.ssh/authorized_keys"), "ssh-ed25519 AAAA alice@host\n");
  if (geteuid() == 0) {
    struct stat st {};
    ASSERT_EQ(stat((root_ / "home/alice/.ssh/authorized_keys").c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, 1000u);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
  }
  bool warned = false;
  for (const std::string& l : log)
    warned = warned || l.find("group wheel does not exist") != std::string::npos;
  EXPECT_TRUE(warned);
}

TEST_F(ConfigureTest, SshHostKeysAreMadeOnFirstBootNotBakedIn) {
  std::vector<std::string> log;
  ResetSshHostKeys(root_, log);
  EXPECT_TRUE(log.empty()) << "no openssh-server, nothing to do";
  EXPECT_FALSE(fs::exists(root_ / "etc/systemd/system/kiln-ssh-host-keys.service"));

  fs::create_directories(root_ / "etc/ssh");
  std::ofstream(root_ / "etc/ssh/sshd_config") << "# config\n";
  for (const char* k : {"ssh_host_ed25519_key", "ssh_host_ed25519_key.pub", "ssh_host_rsa_key"}) {
    std::ofstream(root_ / "etc/ssh" / k) << "secret";
  }
  ResetSshHostKeys(root_, log);
  ASSERT_EQ(log.size(), 1u);
  EXPECT_NE(log[0].find("removed 3 SSH host key files"), std::string::npos) << log[0];
  EXPECT_FALSE(fs::exists(root_ / "etc/ssh/ssh_host_ed25519_key"));
  EXPECT_TRUE(fs::exists(root_ / "etc/ssh/sshd_config"));
  std::string unit = ReadFile(root_ / "etc/systemd/system/kiln-ssh-host-keys.service");
  EXPECT_NE(unit.find("ExecStart=/usr/bin/ssh-keygen -A"), std::string::npos);
  EXPECT_NE(unit.find("Before=ssh.service"), std::string::npos);
  EXPECT_EQ(fs::read_symlink(
                root_ / "etc/systemd/system/multi-user.target.wants/kiln-ssh-host-keys.service"),
            "/etc/systemd/system/kiln-ssh-host-keys.service");
}

// An image's packages can hold symlinks aimed at the build host; configure's edits follow
// them only inside the image.
TEST_F(ConfigureTest, SymlinksInTheImageDoNotLeadToTheHost) {
  fs::path host = root_.string() + "-host";
  fs::remove_all(host);
  fs::create_directories(host / "ssh");
  std::ofstream(host / "ssh/sshd_config") << "# the host's\n";
  std::ofstream(host / "ssh/ssh_host_ed25519_key") << "the host's key";
  fs::create_directories(root_ / "home");
  fs::create_symlink(host, root_ / "home/evil");        // a home that is the host's dir
  fs::create_symlink(host / "ssh", root_ / "etc/ssh");  // /etc/ssh -> the host's
  fs::create_symlink(host, root_ / "etc/skel/link");    // a skeleton entry -> host
  std::vector<std::string> log;
  ResetSshHostKeys(root_, log);
  EXPECT_EQ(ReadFile(host / "ssh/ssh_host_ed25519_key"), "the host's key");
  Status applied = ApplyAccounts(root_, Read("user --name=mallory\n"), log);
  EXPECT_TRUE(applied.ok()) << applied.message();
  SystemConfig c = Read(
      "user --name=evil --homedir=/home/evil/x\nsshkey --username=evil \"ssh-ed25519 AAAA e\"\n");
  applied = ApplyAccounts(root_, c, log);
  EXPECT_FALSE(applied.ok()) << "the home resolves inside the image";
  EXPECT_NE(applied.message().find("/home/evil"), std::string::npos) << applied.message();
  EXPECT_FALSE(fs::exists(host / "x")) << "no home made on the host";
  EXPECT_EQ(fs::read_symlink(root_ / "home/mallory/link"), host) << "a link stays a link";
  std::vector<std::string> host_files;
  for (const auto& e : fs::recursive_directory_iterator(host)) host_files.push_back(e.path());
  EXPECT_EQ(host_files.size(), 3u) << "the host's directory is unchanged";
  fs::remove_all(host);
}

TEST_F(ConfigureTest, LockedRootWithoutPassword) {
  SystemConfig c = Read("rootpw --lock\n");
  std::vector<std::string> log;
  ASSERT_TRUE(ApplyAccounts(root_, c, log).ok());
  EXPECT_NE(ReadFile(root_ / "etc/shadow").find("root:!:"), std::string::npos);
}

TEST_F(ConfigureTest, HostTimezoneLocaleKeyboard) {
  SystemConfig c = Read(
      "network --bootproto=dhcp --hostname=box\ntimezone Europe/Paris\nlang de_DE.UTF-8\n"
      "keyboard --vckeymap=de --xlayouts=de,us\n");
  std::vector<std::string> log;
  ApplyHostAndLocale(root_, c, log);
  EXPECT_EQ(ReadFile(root_ / "etc/hostname"), "box\n");
  EXPECT_NE(ReadFile(root_ / "etc/hosts").find("127.0.1.1\tbox\n"), std::string::npos);
  EXPECT_EQ(fs::read_symlink(root_ / "etc/localtime"), "/usr/share/zoneinfo/Europe/Paris");
  EXPECT_EQ(ReadFile(root_ / "etc/timezone"), "Europe/Paris\n");
  EXPECT_EQ(ReadFile(root_ / "etc/default/locale"), "LANG=de_DE.UTF-8\n");
  EXPECT_NE(ReadFile(root_ / "etc/default/keyboard").find("XKBLAYOUT=\"de\""), std::string::npos);
  EXPECT_EQ(ReadFile(root_ / "etc/vconsole.conf"), "KEYMAP=de\n");
  SystemConfig missing = Read("timezone Mars/Olympus_Mons\n");
  log.clear();
  ApplyHostAndLocale(root_, missing, log);
  ASSERT_EQ(log.size(), 1u);
  EXPECT_NE(log[0].find("tzdata"), std::string::npos);
}

TEST_F(ConfigureTest, SettingsChangeTheCacheKey) {
  SystemConfig a = Read("rootpw --plaintext a\n");
  SystemConfig b = Read("rootpw --plaintext b\n");
  EXPECT_NE(ConfigureStage(a).Inputs().Key(), ConfigureStage(b).Inputs().Key());
  EXPECT_EQ(ConfigureStage(a).Inputs().Key(),
            ConfigureStage(Read("rootpw --plaintext a\n")).Inputs().Key());
  EXPECT_EQ(a.Canonical().find(" a\n"), std::string::npos)
      << "no plaintext password in the key text";
}

TEST_F(ConfigureTest, NonDebianCommandsAreReported) {
  spec::ParseResult r = spec::testing::ParseText("selinux --enforcing\nfirewall --enabled\n");
  std::vector<std::string> warnings;
  ReadSystemConfig(r.kickstart, warnings);
  EXPECT_EQ(warnings.size(), 2u);
}

}  // namespace
}  // namespace kiln::stages
