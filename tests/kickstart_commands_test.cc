// The commands kiln acts on, read into typed data; and the command table's invariants.
#include <gtest/gtest.h>

#include <set>

#include "spec/kickstart_writer.h"
#include "spec/typed_commands.h"
#include "test_util.h"

namespace kiln::spec {
namespace {

using testing::AllMessages;
using testing::HasMessage;
using testing::ParseText;

Kickstart ParseOk(const std::string& text) {
  ParseResult r = ParseText(text);
  EXPECT_TRUE(r.ok()) << text << "\n" << AllMessages(r.diagnostics);
  return std::move(r.kickstart);
}

TEST(CommandTableTest, EveryF45CommandIsKnown) {
  const char* names[] = {"auth",
                         "authconfig",
                         "authselect",
                         "autopart",
                         "autostep",
                         "bootc",
                         "bootloader",
                         "btrfs",
                         "cdrom",
                         "clearpart",
                         "cmdline",
                         "device",
                         "deviceprobe",
                         "dmraid",
                         "driverdisk",
                         "module",
                         "eula",
                         "fcoe",
                         "firewall",
                         "firstboot",
                         "graphical",
                         "group",
                         "halt",
                         "harddrive",
                         "hmc",
                         "ignoredisk",
                         "install",
                         "iscsi",
                         "iscsiname",
                         "keyboard",
                         "lang",
                         "liveimg",
                         "logging",
                         "logvol",
                         "mediacheck",
                         "method",
                         "mount",
                         "multipath",
                         "network",
                         "nfs",
                         "nvdimm",
                         "timesource",
                         "ostreecontainer",
                         "ostreesetup",
                         "part",
                         "partition",
                         "poweroff",
                         "raid",
                         "rdp",
                         "realm",
                         "reboot",
                         "repo",
                         "reqpart",
                         "rescue",
                         "rootpw",
                         "selinux",
                         "services",
                         "shutdown",
                         "skipx",
                         "snapshot",
                         "sshpw",
                         "sshkey",
                         "text",
                         "timezone",
                         "updates",
                         "url",
                         "user",
                         "vnc",
                         "volgroup",
                         "xconfig",
                         "zerombr",
                         "zfcp",
                         "zipl"};
  std::set<std::string_view> expected(std::begin(names), std::end(names));
  std::set<std::string_view> table;
  for (const CommandSpec& c : AllCommands()) table.insert(c.name);
  EXPECT_EQ(table, expected);
}

TEST(CommandTableTest, OptionsAreWellFormed) {
  for (const CommandSpec& c : AllCommands()) {
    std::set<std::string_view> flags;
    for (const OptionSpec& o : c.options) {
      EXPECT_FALSE(o.dest.empty()) << c.name << " " << o.flags;
      EXPECT_EQ(o.flags.substr(0, 1), "-") << c.name << " " << o.flags;
      for (size_t start = 0; start < o.flags.size();) {
        size_t end = o.flags.find(' ', start);
        if (end == std::string_view::npos) end = o.flags.size();
        EXPECT_TRUE(flags.insert(o.flags.substr(start, end - start)).second)
            << c.name << ": flag listed twice: " << o.flags.substr(start, end - start);
        start = end + 1;
      }
    }
    if (c.kind == CommandKind::kDataList) {
      EXPECT_TRUE(c.check || !c.options.empty()) << c.name;
    }
  }
}

TEST(TypedCommandsTest, Url) {
  Kickstart ks =
      ParseOk("url --url=http://deb.debian.org/debian --proxy=http://p:3128 --noverifyssl\n");
  auto url = ReadUrl(ks);
  ASSERT_TRUE(url);
  EXPECT_EQ(url->url, "http://deb.debian.org/debian");
  EXPECT_EQ(url->proxy, "http://p:3128");
  EXPECT_TRUE(url->noverifyssl);
  EXPECT_FALSE(ParseText("url --proxy=http://p\n").ok()) << "one of --url/--mirrorlist/--metalink";
}

TEST(TypedCommandsTest, Repo) {
  Kickstart ks = ParseOk(
      "repo --name=updates --baseurl=http://deb.debian.org/debian --cost=50 "
      "--excludepkgs=a,b --install\nrepo --name=extra --mirrorlist=http://m/list\n");
  auto repos = ReadRepos(ks);
  ASSERT_EQ(repos.size(), 2u);
  EXPECT_EQ(repos[0].name, "updates");
  EXPECT_EQ(repos[0].cost, 50);
  EXPECT_EQ(repos[0].excludepkgs, (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(repos[0].install);
  EXPECT_EQ(repos[1].mirrorlist, "http://m/list");
  EXPECT_FALSE(ParseText("repo --baseurl=http://x\n").ok()) << "--name is required";
}

TEST(TypedCommandsTest, LangKeyboardTimezone) {
  Kickstart ks = ParseOk(
      "lang en_US.UTF-8 --addsupport=de_DE,fr_FR\nkeyboard --vckeymap=de --xlayouts='de','us'\n"
      "timezone Europe/Berlin --utc\ntimesource --ntp-server=ntp.example.org\n");
  EXPECT_EQ(ReadLang(ks)->lang, "en_US.UTF-8");
  EXPECT_EQ(ReadLang(ks)->addsupport, (std::vector<std::string>{"de_DE", "fr_FR"}));
  EXPECT_EQ(ReadKeyboard(ks)->vckeymap, "de");
  EXPECT_EQ(ReadKeyboard(ks)->xlayouts, (std::vector<std::string>{"de", "us"}));
  EXPECT_EQ(ReadTimezone(ks)->timezone, "Europe/Berlin");
  EXPECT_TRUE(ReadTimezone(ks)->utc);
  ASSERT_EQ(ReadTimesources(ks).size(), 1u);
  EXPECT_EQ(ReadTimesources(ks)[0].ntp_server, "ntp.example.org");
}

TEST(TypedCommandsTest, RootpwUserGroupSshkey) {
  Kickstart ks = ParseOk(
      "rootpw --iscrypted $6$salt$hash\nuser --name=tester --groups=sudo,adm --uid=1001 "
      "--password=x --plaintext --shell=/bin/bash\ngroup --name=builders --gid=2000\n"
      "sshkey --username=tester \"ssh-ed25519 AAAA tester@host\"\n");
  auto root = ReadRootpw(ks);
  ASSERT_TRUE(root);
  EXPECT_EQ(root->password, "$6$salt$hash");
  EXPECT_TRUE(root->is_crypted);
  auto users = ReadUsers(ks);
  ASSERT_EQ(users.size(), 1u);
  EXPECT_EQ(users[0].name, "tester");
  EXPECT_EQ(users[0].groups, (std::vector<std::string>{"sudo", "adm"}));
  EXPECT_EQ(users[0].uid, 1001);
  EXPECT_FALSE(users[0].is_crypted);
  EXPECT_EQ(users[0].shell, "/bin/bash");
  EXPECT_EQ(ReadGroups(ks)[0].gid, 2000);
  EXPECT_EQ(ReadSshkeys(ks)[0].key, "ssh-ed25519 AAAA tester@host");
  EXPECT_EQ(ReadSshkeys(ks)[0].username, "tester");

  Kickstart locked = ParseOk("rootpw --lock\n");
  EXPECT_TRUE(ReadRootpw(locked)->lock);
  EXPECT_FALSE(ParseText("user --password=x\n").ok()) << "--name is required";
  EXPECT_FALSE(ParseText("sshkey \"ssh-rsa AAA\"\n").ok()) << "--username is required";
}

TEST(TypedCommandsTest, Network) {
  Kickstart ks = ParseOk(
      "network --bootproto=static --device=eth0 --ip=10.0.0.5 --netmask=255.255.255.0 "
      "--gateway=10.0.0.1 --nameserver=10.0.0.2,10.0.0.3 --hostname=box --activate\n"
      "network --device=eth1 --bootproto=dhcp --onboot=no\n");
  auto nets = ReadNetworks(ks);
  ASSERT_EQ(nets.size(), 2u);
  EXPECT_EQ(nets[0].bootproto, "static");
  EXPECT_EQ(nets[0].ip, "10.0.0.5");
  EXPECT_EQ(nets[0].gateway, "10.0.0.1");
  EXPECT_EQ(nets[0].hostname, "box");
  EXPECT_TRUE(nets[0].activate);
  EXPECT_FALSE(nets[0].nameservers.empty());
  EXPECT_FALSE(nets[1].onboot);
}

TEST(TypedCommandsTest, ServicesFirewallSelinux) {
  Kickstart ks = ParseOk(
      "services --enabled=ssh,chronyd --disabled=cups\nfirewall --enabled --ssh "
      "--service=mdns --port=8080:tcp\nselinux --permissive\n");
  EXPECT_EQ(ReadServices(ks)->enabled, (std::vector<std::string>{"ssh", "chronyd"}));
  EXPECT_EQ(ReadServices(ks)->disabled, std::vector<std::string>{"cups"});
  auto fw = ReadFirewall(ks);
  ASSERT_TRUE(fw);
  EXPECT_EQ(fw->enabled, true);
  EXPECT_EQ(fw->services.size(), 2u) << "--ssh and --service=mdns both add a service";
  EXPECT_EQ(ReadSelinux(ks), SelinuxMode::kPermissive);
  Kickstart off = ParseOk("firewall --disabled\nselinux --disabled\n");
  EXPECT_EQ(ReadFirewall(off)->enabled, false);
  EXPECT_EQ(ReadSelinux(off), SelinuxMode::kDisabled);
}

TEST(TypedCommandsTest, BootloaderAndPartitioning) {
  Kickstart ks = ParseOk(
      "bootloader --location=mbr --timeout=3 --append=\"console=ttyS0 quiet\"\n"
      "zerombr\nclearpart --all --initlabel --drives=sda\nreqpart --add-boot\n"
      "part /boot/efi --fstype=efi --size=128\npart / --fstype=ext4 --size=2048 --grow "
      "--label=root\npart swap --recommended\n");
  auto b = ReadBootloader(ks);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->location, "mbr");
  EXPECT_EQ(b->timeout, 3);
  EXPECT_EQ(b->append, "console=ttyS0 quiet");
  EXPECT_TRUE(ReadZerombr(ks));
  auto cp = ReadClearpart(ks);
  ASSERT_TRUE(cp);
  EXPECT_EQ(cp->type, "all");
  EXPECT_TRUE(cp->initlabel);
  EXPECT_EQ(cp->drives, std::vector<std::string>{"sda"});
  EXPECT_EQ(ReadReqpart(ks), true);
  auto parts = ReadParts(ks);
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[0].mountpoint, "/boot/efi");
  EXPECT_EQ(parts[0].fstype, "efi");
  EXPECT_EQ(parts[1].size, 2048);
  EXPECT_TRUE(parts[1].grow);
  EXPECT_EQ(parts[1].label, "root");
  EXPECT_TRUE(parts[2].recommended);
}

TEST(TypedCommandsTest, Autopart) {
  Kickstart ks = ParseOk("autopart --type=plain --nohome --fstype=ext4\n");
  auto a = ReadAutopart(ks);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->type, "plain");
  EXPECT_TRUE(a->nohome);
  EXPECT_EQ(a->fstype, "ext4");
  // pykickstart 3.74: "The part and autopart commands can't be used at the same time." — the
  // later command's conflictingCommands name the earlier one.
  ParseResult conflict = ParseText("autopart\npart / --size=100\n");
  EXPECT_TRUE(
      HasMessage(conflict.diagnostics, Severity::kError,
                 "ks.cfg:2: The part and autopart commands can't be used at the same time."))
      << AllMessages(conflict.diagnostics);
  conflict = ParseText("part / --size=100\nautopart\n");
  EXPECT_TRUE(HasMessage(conflict.diagnostics, Severity::kError,
                         "ks.cfg:2: The autopart and partition commands can't be used at the same "
                         "time."))
      << AllMessages(conflict.diagnostics);
  // autopart's list has no mount (mount.py:76 has autopart): accepted in this order only.
  EXPECT_TRUE(ParseText("mount /dev/sda1 /\nautopart\n").ok());
  EXPECT_FALSE(ParseText("autopart\nmount /dev/sda1 /\n").ok());
  // btrfs conflicts with nothing.
  EXPECT_TRUE(ParseText("autopart\nbtrfs / --subvol --name=root LABEL=x\n").ok());
}

TEST(CommandTableTest, StratisIsNotPykickstarts) {
  // stratisfs/stratispool and autopart --type=stratis exist only in unmerged pykickstart
  // commits: pykickstart 3.74 answers "Unknown command" and "Invalid autopart type".
  for (const char* ks : {"stratispool pool /dev/sda\n", "stratisfs /data --name=d --poolname=p\n",
                         "autopart --type=stratis\n"}) {
    ParseResult r = ParseText(ks);
    EXPECT_FALSE(r.ok()) << ks;
  }
}

TEST(TypedCommandsTest, ModesAndActions) {
  Kickstart ks = ParseOk(
      "cmdline\nhalt --eject\nxconfig --startxonboot\nskipx\nfirstboot --disable\n"
      "eula --agreed\n");
  EXPECT_EQ(ReadDisplayMode(ks), DisplayMode::kCmdline);
  EXPECT_EQ(ReadReboot(ks)->action, RebootAction::kHalt);
  EXPECT_TRUE(ReadReboot(ks)->eject);
  EXPECT_TRUE(ReadXconfig(ks)->startxonboot);
  EXPECT_TRUE(ReadSkipx(ks));
  EXPECT_EQ(ReadFirstboot(ks), FirstbootAction::kDisable);
  EXPECT_EQ(ReadEula(ks), true);
  for (auto [line, action] : {std::pair{"shutdown\n", RebootAction::kShutdown},
                              {"reboot\n", RebootAction::kReboot},
                              {"poweroff\n", RebootAction::kPoweroff}}) {
    EXPECT_EQ(ReadReboot(ParseOk(line))->action, action) << line;
  }
  EXPECT_EQ(ReadDisplayMode(ParseOk("text\n")), DisplayMode::kText);
  EXPECT_EQ(ReadDisplayMode(ParseOk("graphical\n")), DisplayMode::kGraphical);
  EXPECT_FALSE(ParseText("eula\n").ok()) << "eula needs --agreed";
}

TEST(TypedCommandsTest, LoggingLiveimgOstreeIgnorediskBootc) {
  Kickstart ks = ParseOk(
      "logging --host=loghost --port=514\nliveimg --url=http://x/root.img --checksum=abc\n"
      "ignoredisk --only-use=sda,sdb\n");
  EXPECT_EQ(ReadLogging(ks)->host, "loghost");
  EXPECT_EQ(ReadLogging(ks)->port, 514);
  EXPECT_EQ(ReadLiveimg(ks)->url, "http://x/root.img");
  EXPECT_EQ(ReadLiveimg(ks)->checksum, "abc");
  EXPECT_EQ(ReadIgnoredisk(ks)->only_use, (std::vector<std::string>{"sda", "sdb"}));
  Kickstart os = ParseOk(
      "ostreesetup --osname=fedora-iot --remote=iot --url=http://o/repo "
      "--ref=fedora/stable/x86_64/iot --nogpg\n");
  EXPECT_EQ(ReadOstreesetup(os)->osname, "fedora-iot");
  EXPECT_TRUE(ReadOstreesetup(os)->nogpg);
  Kickstart bc = ParseOk("bootc --source-imgref=registry:quay.io/fedora/fedora-bootc:42\n");
  EXPECT_EQ(ReadBootc(bc)->source_imgref, "registry:quay.io/fedora/fedora-bootc:42");
  EXPECT_FALSE(ParseText("logging --port=514\n").ok()) << "--port needs --host";
  EXPECT_FALSE(ReadInstall(ParseText("install\n").kickstart));
}

TEST(RawCommandsTest, RealmUsesGetoptRules) {
  EXPECT_TRUE(
      ParseText("realm join --one-time-password=secret --client-software sssd EXAMPLE.COM\n").ok());
  EXPECT_TRUE(ParseText("realm join --no-pass EXAMPLE.COM\n").ok()) << "unique prefix";
  struct Case {
    const char* line;
    const char* message;
  };
  const Case cases[] = {
      {"realm\n", "Missing realm command arguments"},
      {"realm leave X\n", "Unsupported realm 'leave' command"},
      {"realm join --bogus X\n", "Invalid realm arguments: option --bogus not recognized"},
      {"realm join --no-password=1 X\n", "option --no-password must not have an argument"},
      {"realm join --computer-ou\n", "option --computer-ou requires argument"},
      // getopt stops at the first realm name: what follows is a second realm.
      {"realm join X --no-password\n", "Specify only one realm to join"},
      {"realm join\n", "Specify only one realm to join"},
  };
  for (const Case& c : cases) {
    ParseResult r = ParseText(c.line);
    EXPECT_TRUE(HasMessage(r.diagnostics, Severity::kError, c.message))
        << c.line << AllMessages(r.diagnostics);
  }
}

TEST(RawCommandsTest, AuthselectKeepsItsWordsAndFlattensBack) {
  ParseResult r = ParseText("authselect select sssd with-mkhomedir --force\n");
  ASSERT_TRUE(r.ok()) << AllMessages(r.diagnostics);
  EXPECT_EQ(r.kickstart.Single("authselect")->args,
            (std::vector<std::string>{"select", "sssd", "with-mkhomedir", "--force"}));
  std::string flat = WriteKickstart(r.kickstart);
  EXPECT_NE(flat.find("\nauthselect select sssd with-mkhomedir --force\n"), std::string::npos)
      << flat;
  EXPECT_FALSE(ParseText("cdrom --foo\n").ok());
}

TEST(TypedCommandsTest, UnusedCommandsReadAsAbsent) {
  Kickstart ks = ParseOk("lang C\n");
  EXPECT_FALSE(ReadUrl(ks));
  EXPECT_TRUE(ReadRepos(ks).empty());
  EXPECT_FALSE(ReadBootloader(ks));
  EXPECT_FALSE(ReadZerombr(ks));
  EXPECT_FALSE(ReadDisplayMode(ks));
}

}  // namespace
}  // namespace kiln::spec
