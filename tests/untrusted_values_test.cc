// The grammars of user values (core/grammar.h) and the kickstart's values a build uses
// (spec/build_values.h): what a hostile user writes is refused with the option and its line.
#include <gtest/gtest.h>

#include "core/build_spec.h"
#include "core/grammar.h"
#include "spec/build_values.h"
#include "spec/kickstart_parser.h"
#include "spec/spec_builder.h"
#include "test_util.h"

namespace kiln {
namespace {

using spec::testing::AllMessages;
using spec::testing::HasMessage;

// What a hostile user tries in a value: shell, newlines, apt and config syntax, paths.
const std::vector<std::string> kHostile = {
    "a;id>/tmp/x",
    "a$(id)",
    "a`id`",
    "a|id",
    "a&&id",
    "a\nb",
    "a\rb",
    "a\"b",
    "a'b",
    "a b",
    "-o=APT::X",
    "a\\b",
    "/../../etc",
    "../etc",
    "a\tb",
    "a{b}",
    std::string("a\0b", 3),
};

TEST(GrammarTest, PackageReferences) {
  for (const char* ok : {"jq", "openssh-server=1:9.2p1-2+deb12u3", "libc6:i386", "g++",
                         "NetworkManager-wifi", "linux-image-amd64"}) {
    EXPECT_TRUE(IsPackageReference(ok)) << ok;
  }
  for (const std::string& bad : kHostile) EXPECT_FALSE(IsPackageReference(bad)) << bad;
  for (const char* bad : {"-nano", "", "jq=", "jq:", "jq:AMD64", "=1.0", "jq=1.0 x"}) {
    EXPECT_FALSE(IsPackageReference(bad)) << bad;
  }
}

TEST(GrammarTest, AccountsPathsAndNames) {
  EXPECT_TRUE(IsAccountName("liveuser"));
  EXPECT_TRUE(IsAccountName("_apt"));
  EXPECT_TRUE(IsAccountName("machine$"));
  for (const char* bad : {"Root", "1user", "a:b", "", "-x", "abcdefghijklmnopqrstuvwxyz0123456"}) {
    EXPECT_FALSE(IsAccountName(bad)) << bad;
  }
  EXPECT_TRUE(IsCleanAbsolutePath("/home/live user"));
  EXPECT_TRUE(IsCleanAbsolutePath("/"));
  for (const char* bad : {"home", "/a/../b", "/..", "/a//b", "/a/./b", "/a/", "/a:b", "/a\nb"}) {
    EXPECT_FALSE(IsCleanAbsolutePath(bad)) << bad;
  }
  EXPECT_TRUE(IsHostName("build-1.example.org"));
  EXPECT_FALSE(IsHostName("-a.example"));
  EXPECT_FALSE(IsHostName("a..b"));
  EXPECT_TRUE(IsTimeZoneName("America/Argentina/Buenos_Aires"));
  EXPECT_TRUE(IsTimeZoneName("Etc/GMT+5"));
  EXPECT_FALSE(IsTimeZoneName("../../../etc/shadow"));
  EXPECT_FALSE(IsTimeZoneName("/etc/shadow"));
  EXPECT_TRUE(IsLocaleName("sr_RS.UTF-8@latin"));
  EXPECT_TRUE(IsKeymapName("de(nodeadkeys)"));
  EXPECT_TRUE(IsKeymapName("cz (qwerty)")) << "Fedora's --xlayouts spelling";
  for (const char* bad : {"us\"", "us\nx", "us$x", " us", "us;x", "us`x`"}) {
    EXPECT_FALSE(IsKeymapName(bad)) << bad;
  }
  EXPECT_TRUE(IsUnitName("getty@tty1.service"));
  EXPECT_FALSE(IsUnitName("--root=/"));
  EXPECT_TRUE(IsIpAddress("fe80::1"));
  EXPECT_FALSE(IsIpAddress("10.0.0.1/24"));
  for (const std::string& bad : kHostile) {
    EXPECT_FALSE(IsAccountName(bad) || IsHostName(bad) || IsTimeZoneName(bad) ||
                 IsLocaleName(bad) || IsUnitName(bad) || IsIpAddress(bad) || IsInterfaceName(bad) ||
                 IsPlainFileName(bad))
        << bad;
  }
}

TEST(GrammarTest, UrlsAreParsedAndReserialised) {
  EXPECT_EQ(NormalizeUrl("HTTP://Deb.Debian.ORG/debian", {"http"}), "http://deb.debian.org/debian");
  EXPECT_EQ(NormalizeUrl("http://user:p%40ss@[::1]:3142/x?y=1", {"http"}),
            "http://user:p%40ss@[::1]:3142/x?y=1");
  EXPECT_EQ(NormalizeUrl("file:///srv/mirror", {"file"}), "file:///srv/mirror");
  std::string why;
  for (const char* bad :
       {"http://proxy:3128\";\nAPT::Update::Pre-Invoke {\"id\"};", "http://a b/", "http://a/b c",
        "http://a/\"", "http://a/%zz", "http://a:0/", "http://a:99999/", "http://a/#x", "http:///x",
        "ftp://a/", "http://a/b\\c", "http://a/{b}", "http://a/`id`"}) {
    EXPECT_FALSE(NormalizeUrl(bad, {"http", "https"}, &why)) << bad;
    EXPECT_FALSE(why.empty()) << bad;
  }
}

TEST(GrammarTest, RequestFieldsAreRefusedWithTheField) {
  BuildSpec spec;
  spec.type = ImageType::kTar;
  spec.proxy = "http://proxy:3128\";\nAPT::Update::Pre-Invoke {\"touch /tmp/x\"};";
  spec.mirror = "http://deb.debian.org/debian bookworm main\ndeb http://evil/ x";
  spec.title = "t' { insmod x }";
  spec.package_files = {{"../x.deb", "/tmp/x.deb", ""}, {"-o.deb", "/tmp/y.deb", ""}};
  spec.notify.email = {"a@b.org\r\nBcc: c@d.org"};
  spec.notify.webhook = {"http://hook/\nx"};
  spec.staging = {"file:///srv/images x"};
  ApplyDefaults(spec);
  Diagnostics diags;
  ValidateBuildSpec(spec, {"request", 0}, diags);
  for (const char* field :
       {"proxy:", "mirror:", "title:", "package_files: '../x.deb'", "package_files: '-o.deb'",
        "notify.email:", "notify.webhook:", "staging:"}) {
    EXPECT_TRUE(HasMessage(diags, Severity::kError, field)) << field << "\n" << AllMessages(diags);
  }
  EXPECT_EQ(AllMessages(diags).find('\r'), std::string::npos) << "messages escape control bytes";
}

// Each line, alone in a kickstart, must be refused with `needle` in the message.
struct Refusal {
  std::string line;
  std::string needle;
};

TEST(BuildValuesTest, HostileKickstartValuesAreRefusedWithOptionAndLine) {
  const std::vector<Refusal> cases = {
      {"%packages\n-zzz;id>/tmp/x\n%end", "%packages exclusion: '-zzz;id>/tmp/x'"},
      {"%packages\njq$(id)\n%end", "%packages: 'jq$(id)'"},
      {"%post --log=/../../../../tmp/x\ntrue\n%end", "%post --log: '/../../../../tmp/x'"},
      {"%post --interpreter=../bin/sh\ntrue\n%end", "%post --interpreter"},
      {"user --name=evil --homedir=/../../../../tmp/h", "user --homedir"},
      {"user --name=evil --shell=/bin/sh:x", "user --shell"},
      {"user --name=\"a;b\"", "user --name: 'a;b'"},
      {"user --name=evil --gecos=\"x:0:0::/root:/bin/sh\"", "user --gecos"},
      {"user --name=evil --groups=\"sudo,a b\"", "user --groups: 'a b'"},
      {"user --name=evil --uid=100000", "user --uid"},
      {"group --name=\"x\\$y\"", "group --name"},
      {"sshkey --username=root \"ssh-ed25519 AAAA x\"\nsshkey --username=\"../r\" \"k\"",
       "sshkey --username: '../r'"},
      {"network --hostname=\"a;reboot\"", "network --hostname"},
      {"network --device=\"eth0;x\"", "network --device"},
      {"network --bootproto=static --ip=1.2.3.4 --netmask=\"255.255.255.0\\nx\"",
       "network --netmask"},
      {"network --nameserver=\"8.8.8.8,1.1.1.1;x\"", "network --nameserver"},
      {"timezone ../../../../etc/shadow", "timezone: '../../../../etc/shadow'"},
      {"lang \"en_US.UTF-8;x\"", "lang"},
      {"keyboard --vckeymap=\"us\\\"x\"", "keyboard --vckeymap"},
      {"services --enabled=\"--root=/,ssh\"", "services --enabled: '--root=/'"},
      {"bootloader --append=\"quiet; insmod evil\"", "bootloader --append"},
      {"part /srv:x --size=100", "part: '/srv:x'"},
      {"part / --size=100 --fsoptions=\"defaults 0 0\\n/dev/sda1\"", "part --fsoptions"},
      {"url --url=\"http://a b/\"", "url --url"},
      {"repo --name=x --baseurl=\"http://a/debian bookworm main;id\"", "repo --baseurl: 'main;id'"},
  };
  for (const Refusal& c : cases) {
    spec::MemoryResolver files;
    spec::ParseResult parsed = spec::ParseKickstartText(c.line + "\n", "hostile.ks", files);
    Diagnostics diags = parsed.diagnostics;
    spec::CheckBuildValues(parsed.kickstart, "hostile.ks", diags);
    EXPECT_TRUE(HasMessage(diags, Severity::kError, c.needle)) << c.line << "\n"
                                                               << AllMessages(diags);
    EXPECT_TRUE(HasMessage(diags, Severity::kError, "hostile.ks:")) << AllMessages(diags);
  }
}

TEST(BuildValuesTest, OrdinaryKickstartsPass) {
  const std::string ks =
      "lang en_US.UTF-8\nkeyboard --vckeymap=us --xlayouts='us','cz (qwerty)'\n"
      "timezone Europe/Prague --utc\nnetwork --bootproto=static --device=eth0 --ip=10.0.0.2 "
      "--netmask=255.255.255.0 --gateway=10.0.0.1 --nameserver=10.0.0.1 --hostname=box\n"
      "rootpw --iscrypted $6$abc$def\nuser --name=live --groups=sudo --homedir=/home/live "
      "--shell=/bin/bash --gecos=\"Live User\" --uid=1000\ngroup --name=builders --gid=2000\n"
      "services --enabled=ssh,getty@tty1\nbootloader --append=\"console=ttyS0,115200n8 quiet\"\n"
      "part / --size=2048 --grow --fsoptions=defaults,noatime --label=root\n"
      "repo --name=updates --baseurl=\"http://deb.debian.org/debian bookworm-updates main\"\n"
      "%packages\njq\n-nano\niwl*-firmware\n-iwl*-firmware\n%end\n"
      "%post --nochroot --log=/mnt/sysimage/root/post.log\ntrue\n%end\n";
  spec::MemoryResolver files;
  spec::ParseResult parsed = spec::ParseKickstartText(ks, "ok.ks", files);
  Diagnostics diags = parsed.diagnostics;
  spec::CheckBuildValues(parsed.kickstart, "ok.ks", diags);
  EXPECT_FALSE(diags.HasErrors()) << AllMessages(diags);
}

TEST(BuildValuesTest, SubmitRefusesThemToo) {
  spec::MemoryResolver files;
  Diagnostics diags;
  spec::RequestFields fields;
  fields.proxy = "http://p:3128\";\nAPT::Update::Pre-Invoke {\"id\"};";
  auto spec =
      spec::SpecFromKickstartText("%post --log=/../x\ntrue\n%end\n", "k.ks", fields, files, diags);
  EXPECT_FALSE(spec);
  EXPECT_TRUE(HasMessage(diags, Severity::kError, "k.ks:1: %post --log")) << AllMessages(diags);
  EXPECT_TRUE(HasMessage(diags, Severity::kError, "proxy:")) << AllMessages(diags);
}

}  // namespace
}  // namespace kiln
