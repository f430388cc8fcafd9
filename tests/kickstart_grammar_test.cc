// The kickstart grammar: comments, quoting, continuation, options, sections, errors.
#include <gtest/gtest.h>

#include "spec/kickstart_writer.h"
#include "spec/typed_commands.h"
#include "test_util.h"

namespace kiln::spec {
namespace {

using testing::AllMessages;
using testing::HasMessage;
using testing::ParseText;

TEST(GrammarTest, CommentsAndBlankLinesAreSkipped) {
  ParseResult r =
      ParseText("# a comment\n\n   \t\n  # indented comment\nlang en_US.UTF-8 # trailing\n");
  ASSERT_TRUE(r.ok()) << AllMessages(r.diagnostics);
  const ParsedCommand* lang = r.kickstart.Single("lang");
  ASSERT_NE(lang, nullptr);
  EXPECT_EQ(lang->args, std::vector<std::string>{"en_US.UTF-8"});
  EXPECT_EQ(lang->where.line, 5);
}

TEST(GrammarTest, OptionFormsAreEquivalent) {
  for (const char* line : {"network --hostname=box", "network --hostname box",
                           "network --hostn=box", "network \"--hostname=box\""}) {
    ParseResult r = ParseText(std::string(line) + "\n");
    ASSERT_TRUE(r.ok()) << line << "\n" << AllMessages(r.diagnostics);
    const auto& items = r.kickstart.List("network");
    ASSERT_EQ(items.size(), 1u) << line;
    ASSERT_NE(items[0].String("hostname"), nullptr) << line;
    EXPECT_EQ(*items[0].String("hostname"), "box") << line;
  }
}

TEST(GrammarTest, QuotedValuesKeepSpaces) {
  ParseResult r = ParseText("bootloader --append=\"console=ttyS0,115200 quiet\"\n");
  ASSERT_TRUE(r.ok()) << AllMessages(r.diagnostics);
  const ParsedCommand* b = r.kickstart.Single("bootloader");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(WriteCommand(*b, "bootloader"), "bootloader --append=\"console=ttyS0,115200 quiet\"");
}

TEST(GrammarTest, BackslashContinuesALine) {
  ParseResult r = ParseText("network --bootproto=dhcp \\\n   --hostname=box\nlang C\n");
  ASSERT_TRUE(r.ok()) << AllMessages(r.diagnostics);
  const auto& items = r.kickstart.List("network");
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(*items[0].String("hostname"), "box");
  EXPECT_EQ(*items[0].String("bootProto"), "dhcp");
  EXPECT_EQ(items[0].where.line, 1);
  ASSERT_NE(r.kickstart.Single("lang"), nullptr);
  EXPECT_EQ(r.kickstart.Single("lang")->where.line, 3);
}

TEST(GrammarTest, UnclosedQuoteIsAnErrorWithItsLine) {
  ParseResult r = ParseText("lang C\nrootpw \"abc\n");
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(HasMessage(r.diagnostics, Severity::kError,
                         "ks.cfg:2: General error in input file: No closing quotation"))
      << AllMessages(r.diagnostics);
}

TEST(GrammarTest, UnknownCommandHasLineAndHint) {
  ParseResult r = ParseText("lang C\nnetwrok --bootproto=dhcp\n");
  EXPECT_FALSE(r.ok());
  ASSERT_EQ(r.diagnostics.items().size(), 1u);
  const Diagnostic& d = r.diagnostics.items()[0];
  EXPECT_EQ(d.where.line, 2);
  EXPECT_EQ(d.message, "Unknown command: netwrok");
  EXPECT_EQ(d.hint, "did you mean network?");
}

TEST(GrammarTest, UnknownOptionHasHint) {
  ParseResult r = ParseText("network --hostnme=box\n");
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(HasMessage(r.diagnostics, Severity::kError,
                         "ks.cfg:1: network: unknown option --hostnme (did you mean --hostname?)"))
      << AllMessages(r.diagnostics);
}

TEST(GrammarTest, EveryErrorIsReported) {
  ParseResult r = ParseText("bogus1\nlang C\nbogus2\npart / --size=abc\n");
  EXPECT_EQ(r.diagnostics.ErrorCount(), 3) << AllMessages(r.diagnostics);
}

TEST(GrammarTest, ValueTypesAreChecked) {
  ParseResult r = ParseText("part / --size=big\n");
  EXPECT_TRUE(HasMessage(r.diagnostics, Severity::kError, "invalid integer value 'big'"))
      << AllMessages(r.diagnostics);
  r = ParseText("network --bootproto=dhcpp\n");
  EXPECT_TRUE(HasMessage(r.diagnostics, Severity::kError, "invalid choice 'dhcpp'"))
      << AllMessages(r.diagnostics);
}

TEST(GrammarTest, OptionNeedingAValue) {
  ParseResult r = ParseText("network --hostname --activate\n");
  EXPECT_TRUE(HasMessage(r.diagnostics, Severity::kError, "option --hostname needs a value"))
      << AllMessages(r.diagnostics);
}

TEST(GrammarTest, FlagWithValueIsAnError) {
  ParseResult r = ParseText("network --activate=yes\n");
  EXPECT_TRUE(HasMessage(r.diagnostics, Severity::kError, "takes no value"))
      << AllMessages(r.diagnostics);
}

TEST(GrammarTest, WrongArgumentCount) {
  ParseResult r = ParseText("lang\n");
  EXPECT_FALSE(r.ok());
  r = ParseText("lang en_US de_DE\n");
  EXPECT_FALSE(r.ok());
  r = ParseText("zerombr extra\n");
  EXPECT_FALSE(r.ok());
}

TEST(GrammarTest, RepeatedOneOffCommandMergesOptions) {
  ParseResult r = ParseText("bootloader --append=\"quiet\" --timeout=5\nbootloader --timeout=1\n");
  ASSERT_TRUE(r.ok()) << AllMessages(r.diagnostics);
  const ParsedCommand* b = r.kickstart.Single("bootloader");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(*b->Int("timeout"), 1);
  ASSERT_NE(b->String("appendLine"), nullptr);
  EXPECT_EQ(*b->String("appendLine"), "quiet");
  EXPECT_EQ(WriteCommand(*b, "bootloader"), "bootloader --append=quiet --timeout=1");
}

TEST(GrammarTest, LaterPositionalReplacesEarlier) {
  ParseResult r = ParseText("lang en_US.UTF-8\nlang de_DE.UTF-8\n");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.kickstart.Single("lang")->args[0], "de_DE.UTF-8");
}

TEST(GrammarTest, AliasesShareOneObject) {
  ParseResult r = ParseText("text\ngraphical\nreboot\npoweroff\n");
  ASSERT_TRUE(r.ok()) << AllMessages(r.diagnostics);
  ASSERT_NE(r.kickstart.Single("text"), nullptr);
  EXPECT_EQ(r.kickstart.Single("text")->name, "graphical");
  EXPECT_EQ(r.kickstart.Single("reboot")->name, "poweroff");
  std::string out = WriteKickstart(r.kickstart);
  EXPECT_NE(out.find("\ngraphical\n"), std::string::npos) << out;
  EXPECT_NE(out.find("\npoweroff\n"), std::string::npos) << out;
  EXPECT_EQ(out.find("\ntext\n"), std::string::npos) << out;
}

TEST(GrammarTest, DataListCommandsKeepEveryLine) {
  ParseResult r =
      ParseText("part /boot --size=512\npartition / --size=2048 --grow\npart swap --size=256\n");
  ASSERT_TRUE(r.ok()) << AllMessages(r.diagnostics);
  const auto& parts = r.kickstart.List("part");
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[1].args[0], "/");
  EXPECT_TRUE(parts[1].Bool("grow"));
}

TEST(GrammarTest, DuplicatePartitionIsAWarning) {
  ParseResult r = ParseText("part / --size=512\npart / --size=1024\n");
  EXPECT_TRUE(r.ok());
  EXPECT_TRUE(HasMessage(r.diagnostics, Severity::kWarning, "ks.cfg:2:"))
      << AllMessages(r.diagnostics);
}

TEST(GrammarTest, DuplicatesWithSeveralFields) {
  ParseResult r = ParseText(
      "logvol /a --vgname=vg1 --name=lv --size=10\nlogvol /b --vgname=vg2 --name=lv --size=10\n"
      "logvol /c --vgname=vg1 --name=lv --size=10\n");
  EXPECT_TRUE(r.ok()) << AllMessages(r.diagnostics);
  ASSERT_EQ(r.diagnostics.WarningCount(), 1) << AllMessages(r.diagnostics);
  EXPECT_TRUE(
      HasMessage(r.diagnostics, Severity::kWarning,
                 "ks.cfg:3: warning: A logical volume with the name lv has already been defined "
                 "in volume group vg1."))
      << AllMessages(r.diagnostics);
}

TEST(GrammarTest, DuplicateSnapshotIsAnError) {
  ParseResult r = ParseText(
      "snapshot vg/root --name=pre --when=pre-install\nsnapshot vg/root --name=pre "
      "--when=post-install\n");
  EXPECT_TRUE(HasMessage(r.diagnostics, Severity::kError,
                         "ks.cfg:2: Snapshot with the name pre has been already defined!"))
      << AllMessages(r.diagnostics);
}

TEST(GrammarTest, SeveralSwapAreasAreFine) {
  ParseResult r = ParseText("part swap --size=100\npart swap --size=100\n");
  EXPECT_TRUE(r.diagnostics.items().empty()) << AllMessages(r.diagnostics);
}

TEST(GrammarTest, MountPointsAreNormalized) {
  ParseResult r = ParseText("logvol /home//user/ --vgname=vg --name=home --size=10\n");
  ASSERT_TRUE(r.ok()) << AllMessages(r.diagnostics);
  EXPECT_EQ(r.kickstart.List("logvol")[0].args[0], "/home/user");
}

TEST(GrammarTest, RemovedInF34IsAnError) {
  // pykickstart's F45 handler has no merely deprecated commands left; install was removed.
  ParseResult r = ParseText("install\nlang C\n");
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(HasMessage(r.diagnostics, Severity::kError, "The install command has been removed"))
      << AllMessages(r.diagnostics);
}

TEST(GrammarTest, RemovedCommandIsAnError) {
  ParseResult r = ParseText("auth --useshadow --passalgo=sha512\n");
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(
      HasMessage(r.diagnostics, Severity::kError, "ks.cfg:1: The auth command has been removed"))
      << AllMessages(r.diagnostics);
}

TEST(GrammarTest, DeprecatedOptionWarnsAndStillApplies) {
  // pykickstart 3.74 (F45): `timezone --isUtc Etc/UTC` warns "Ignoring deprecated option ..."
  // and ksflatten writes `timezone Etc/UTC --utc`: the value is stored all the same.
  ParseResult r = ParseText("timezone Etc/UTC --isUtc\n");
  EXPECT_TRUE(r.ok()) << AllMessages(r.diagnostics);
  EXPECT_TRUE(
      HasMessage(r.diagnostics, Severity::kWarning, "The --isUtc option has been deprecated"))
      << AllMessages(r.diagnostics);
  const ParsedCommand* tz = r.kickstart.Single("timezone");
  ASSERT_NE(tz, nullptr);
  EXPECT_TRUE(tz->Bool("isUtc"));
  EXPECT_EQ(WriteCommand(*tz, "timezone"), "timezone Etc/UTC --utc");
  ASSERT_TRUE(ReadTimezone(r.kickstart).has_value());
  EXPECT_TRUE(ReadTimezone(r.kickstart)->utc);
  // Alone it is enough: pykickstart's "at least one option" test looks at the words.
  r = ParseText("timezone --isUtc\n");
  EXPECT_TRUE(r.ok()) << AllMessages(r.diagnostics);
  // --nontp and --ntpservers apply too, so together they conflict: "Options --nontp and
  // --ntpservers are mutually exclusive".
  r = ParseText("timezone --nontp --ntpservers=a Etc/UTC\n");
  EXPECT_TRUE(HasMessage(r.diagnostics, Severity::kError,
                         "ks.cfg:1: Options --nontp and --ntpservers are mutually exclusive"))
      << AllMessages(r.diagnostics);
  // On two lines they do not: the second line resets --nontp (store_true) before the check
  // looks at the object (ksflatten: timezone Etc/UTC --ntpservers=a).
  r = ParseText("timezone --nontp Etc/UTC\ntimezone --ntpservers=a Etc/UTC\n");
  ASSERT_TRUE(r.ok()) << AllMessages(r.diagnostics);
  EXPECT_EQ(WriteCommand(*r.kickstart.Single("timezone"), "timezone"),
            "timezone Etc/UTC --ntpservers=a");
}

// A one-off command given again: each case is pykickstart 3.74's result (ksflatten of the
// two lines), which follows from argparse defaults and set_to_obj skipping None values.
struct RepeatCase {
  const char* kickstart;
  const char* command;
  const char* flattened;  // kiln's spelling of pykickstart's result
};

TEST(RepeatTest, ALaterLineResetsOptionsWithDefaultsAndKeepsTheRest) {
  const RepeatCase cases[] = {
      // ksflatten: rootpw --plaintext vagrant (unlocked, plain text).
      {"rootpw --lock --iscrypted locked\nrootpw vagrant\n", "rootpw", "rootpw vagrant"},
      // ksflatten: rootpw --lock --plaintext $6$abc (the password stays, --iscrypted does not).
      {"rootpw --iscrypted $6$abc\nrootpw --lock\n", "rootpw", "rootpw --lock $6$abc"},
      // ksflatten: firewall --enabled --service=ssh.
      {"firewall --disabled\nfirewall --service=ssh\n", "firewall", "firewall --service=ssh"},
      // ksflatten: bootloader --append="quiet" --location=mbr --timeout=3.
      {"bootloader --location=none --password=x --append=quiet\nbootloader --timeout=3\n",
       "bootloader", "bootloader --append=quiet --timeout=3"},
      // ksflatten: timezone --utc (the zone is nargs='*': a line without one clears it).
      {"timezone --utc Europe/Prague\ntimezone --utc\n", "timezone", "timezone --utc"},
      // ksflatten: timezone Europe/Prague (--utc is store_true: reset).
      {"timezone --utc\ntimezone Europe/Prague\n", "timezone", "timezone Europe/Prague"},
      // ksflatten: shutdown (--eject and --kexec reset; the word picks the action).
      {"reboot --eject --kexec\npoweroff\n", "poweroff", "poweroff"},
      // ksflatten: keyboard --xlayouts='us' --switch='grp:alt' (checked on the merged object).
      {"keyboard --xlayouts=us\nkeyboard --switch=grp:alt\n", "keyboard",
       "keyboard --xlayouts=us --switch=grp:alt"},
      // ksflatten: logging --host=h --port=5.
      {"logging --host=h\nlogging --port=5\n", "logging", "logging --host=h --port=5"},
      // ksflatten: services --enabled="sshd".
      {"services --enabled=sshd\nservices\n", "services", "services --enabled=sshd"},
      // ksflatten: selinux --disabled (store_const: default None, kept).
      {"selinux --disabled\nselinux\n", "selinux", "selinux --disabled"},
      // ksflatten: lang cs_CZ --addsupport=de_DE.
      {"lang en_US --addsupport=de_DE\nlang cs_CZ\n", "lang", "lang cs_CZ --addsupport=de_DE"},
      // ksflatten: autopart --type=lvm (--encrypted reset; --passphrase kept, written only
      // with --encrypted).
      {"autopart --encrypted --passphrase=x --type=lvm\nautopart\n", "autopart",
       "autopart --passphrase=x --type=lvm"},
      // ksflatten: graphical.
      {"text --non-interactive\ngraphical\n", "graphical", "graphical"},
  };
  for (const RepeatCase& c : cases) {
    ParseResult r = ParseText(c.kickstart);
    ASSERT_TRUE(r.ok()) << c.kickstart << AllMessages(r.diagnostics);
    const ParsedCommand* cmd = r.kickstart.Single(c.command);
    ASSERT_NE(cmd, nullptr) << c.kickstart;
    EXPECT_EQ(WriteCommand(*cmd, cmd->name), c.flattened) << c.kickstart;
  }
}

TEST(RepeatTest, TheImagesSettingsFollowPykickstart) {
  // The case: a base that locks root, then a kickstart that sets a password.
  ParseResult r = ParseText("rootpw --lock --iscrypted locked\nrootpw vagrant\n");
  ASSERT_TRUE(r.ok()) << AllMessages(r.diagnostics);
  std::optional<RootpwData> root = ReadRootpw(r.kickstart);
  ASSERT_TRUE(root.has_value());
  EXPECT_FALSE(root->lock);
  EXPECT_FALSE(root->is_crypted);
  EXPECT_EQ(root->password, "vagrant");
  // clearpart: a --list on any line wins (ksflatten: clearpart --list=sda1).
  r = ParseText("clearpart --list=sda1\nclearpart --all\n");
  ASSERT_TRUE(r.ok()) << AllMessages(r.diagnostics);
  ASSERT_TRUE(ReadClearpart(r.kickstart).has_value());
  EXPECT_EQ(ReadClearpart(r.kickstart)->type, "list");
}

TEST(RepeatTest, SomeCommandsAreReplacedOutright) {
  // firstboot and authselect assign their value outright: a bare repeat unsets it, and
  // ksflatten writes neither.
  for (const char* ks :
       {"firstboot --enable\nfirstboot\n", "authselect select sssd\nauthselect\n"}) {
    ParseResult r = ParseText(ks);
    ASSERT_TRUE(r.ok()) << ks << AllMessages(r.diagnostics);
    std::string flat = WriteKickstart(r.kickstart);
    EXPECT_EQ(flat.find("--enable"), std::string::npos) << flat;
    EXPECT_EQ(flat.find("select sssd"), std::string::npos) << flat;
  }
}

TEST(RepeatTest, ValuesPykickstartRewrites) {
  // ksflatten: bootloader --location=mbr --password="$1$abc" --iscrypted; a later line without
  // it resets both (ksflatten: bootloader --location=mbr --timeout=3).
  ParseResult r = ParseText("bootloader --md5pass=$1$abc\n");
  ASSERT_TRUE(r.ok()) << AllMessages(r.diagnostics);
  ASSERT_TRUE(ReadBootloader(r.kickstart).has_value());
  EXPECT_EQ(ReadBootloader(r.kickstart)->password, "$1$abc");
  EXPECT_TRUE(ReadBootloader(r.kickstart)->iscrypted);
  r = ParseText("bootloader --md5pass=$1$abc\nbootloader --timeout=3\n");
  ASSERT_TRUE(r.ok()) << AllMessages(r.diagnostics);
  EXPECT_EQ(WriteCommand(*r.kickstart.Single("bootloader"), "bootloader"),
            "bootloader --timeout=3");
  // firewall ports: ['22:tcp', ':tcp', '80:udp', '443:tcp'].
  r = ParseText("firewall --enabled --port=22,,80:udp --port=443\n");
  ASSERT_TRUE(r.ok()) << AllMessages(r.diagnostics);
  const std::vector<std::string>* ports = r.kickstart.Single("firewall")->List("ports");
  ASSERT_NE(ports, nullptr);
  EXPECT_EQ(*ports, (std::vector<std::string>{"22:tcp", ":tcp", "80:udp", "443:tcp"}));
  // part --onpart=/dev/sda1: onPart is "sda1".
  r = ParseText("part / --onpart=/dev/sda1\n");
  ASSERT_TRUE(r.ok()) << AllMessages(r.diagnostics);
  EXPECT_EQ(*r.kickstart.List("part")[0].String("onPart"), "sda1");
}

TEST(RepeatTest, RealmJoinsOnce) {
  // "The realm command 'join' should only be specified once" (line 2).
  ParseResult r = ParseText("realm join example.com\nrealm join other.com\n");
  EXPECT_TRUE(HasMessage(r.diagnostics, Severity::kError,
                         "ks.cfg:2: The realm command 'join' should only be specified once"))
      << AllMessages(r.diagnostics);
}

TEST(RepeatTest, ChecksOnTheMergedCommand) {
  // pykickstart: "One of --drives or --only-use must be specified for ignoredisk command." on
  // line 2, because both are then set on the one object.
  ParseResult r = ParseText("ignoredisk --drives=sda\nignoredisk --only-use=sdb\n");
  EXPECT_TRUE(HasMessage(
      r.diagnostics, Severity::kError,
      "ks.cfg:2: One of --drives or --only-use must be specified for ignoredisk command."))
      << AllMessages(r.diagnostics);
}

TEST(SectionsTest, ScriptsKeepOrderOptionsAndBodies) {
  ParseResult r = ParseText(
      "%pre --interpreter=/usr/bin/python3\nprint('hi')\n%end\n"
      "%post --nochroot --log=/tmp/post.log --erroronfail\ncp a $INSTALL_ROOT/b\n%end\n"
      "%post\n# a comment kept in the body\n\necho done\n%end\n"
      "%pre-install\ntrue\n%end\n%onerror\nfalse\n%end\n%traceback\nexit 1\n%end\n");
  ASSERT_TRUE(r.ok()) << AllMessages(r.diagnostics);
  const auto& s = r.kickstart.scripts;
  ASSERT_EQ(s.size(), 6u);
  EXPECT_EQ(s[0].kind, ScriptKind::kPre);
  EXPECT_EQ(s[0].interpreter, "/usr/bin/python3");
  EXPECT_FALSE(s[0].in_chroot);
  EXPECT_EQ(s[0].body, "print('hi')\n");
  EXPECT_EQ(s[1].kind, ScriptKind::kPost);
  EXPECT_FALSE(s[1].in_chroot);
  EXPECT_EQ(s[1].log, "/tmp/post.log");
  EXPECT_TRUE(s[1].error_on_fail);
  EXPECT_TRUE(s[2].in_chroot);
  EXPECT_EQ(s[2].body, "# a comment kept in the body\n\necho done\n");
  EXPECT_EQ(s[3].kind, ScriptKind::kPreInstall);
  EXPECT_EQ(s[4].kind, ScriptKind::kOnError);
  EXPECT_EQ(s[5].kind, ScriptKind::kTraceback);
}

TEST(SectionsTest, EmptyScriptIsDropped) {
  ParseResult r = ParseText("%post\n\n   \n%end\n");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r.kickstart.scripts.empty());
}

TEST(SectionsTest, PercentLinesInsideAScriptAreBody) {
  ParseResult r = ParseText("%post\nprintf '%s\\n' x\n%notasection\n%end\n");
  ASSERT_TRUE(r.ok()) << AllMessages(r.diagnostics);
  EXPECT_EQ(r.kickstart.scripts[0].body, "printf '%s\\n' x\n%notasection\n");
}

TEST(SectionsTest, MissingEndIsAnError) {
  ParseResult r = ParseText("%post\necho hi\n");
  EXPECT_TRUE(HasMessage(r.diagnostics, Severity::kError,
                         "ks.cfg:1: Section %post does not end with %end."))
      << AllMessages(r.diagnostics);
  r = ParseText("%post\necho hi\n%packages\nvim\n%end\n");
  EXPECT_TRUE(HasMessage(r.diagnostics, Severity::kError, "Section %post does not end with %end."));
  // The next section is still read.
  EXPECT_EQ(r.kickstart.packages.packages, std::vector<std::string>{"vim"});
}

TEST(SectionsTest, UnknownSectionIsAnError) {
  ParseResult r = ParseText("%packges\nvim\n%end\nlang C\n");
  EXPECT_TRUE(HasMessage(r.diagnostics, Severity::kError,
                         "Unknown kickstart section: %packges (did you mean %packages?)"))
      << AllMessages(r.diagnostics);
  EXPECT_NE(r.kickstart.Single("lang"), nullptr);
}

TEST(SectionsTest, ScriptOptionErrors) {
  ParseResult r = ParseText("%post --nochrot\ntrue\n%end\n");
  EXPECT_TRUE(HasMessage(r.diagnostics, Severity::kError,
                         "unknown option --nochrot (did you mean --nochroot?)"))
      << AllMessages(r.diagnostics);
  r = ParseText("%pre --nochroot\ntrue\n%end\n");
  EXPECT_FALSE(r.ok()) << "--nochroot exists only for %post";
}

TEST(SectionsTest, AddonAndAnacondaAreKept) {
  ParseResult r = ParseText(
      "%addon com_redhat_kdump --enable --reserve-mb=auto\n\n%end\n%anaconda\npwpolicy root "
      "--minlen=6\n%end\n");
  ASSERT_TRUE(r.ok()) << AllMessages(r.diagnostics);
  ASSERT_EQ(r.kickstart.opaque_sections.size(), 2u);
  EXPECT_EQ(r.kickstart.opaque_sections[0].header[1], "com_redhat_kdump");
  EXPECT_EQ(r.kickstart.opaque_sections[1].body, "pwpolicy root --minlen=6\n");
}

TEST(SectionsTest, Certificate) {
  ParseResult r = ParseText(
      "%certificate --filename=ca.pem --dir=/etc/pki/ca\n-----BEGIN CERTIFICATE-----\nAAA\n"
      "-----END CERTIFICATE-----\n%end\n");
  ASSERT_TRUE(r.ok()) << AllMessages(r.diagnostics);
  ASSERT_EQ(r.kickstart.certificates.size(), 1u);
  EXPECT_EQ(r.kickstart.certificates[0].dir, "/etc/pki/ca");
  // pykickstart 3.74: --dir is optional with --type (F45); ksflatten writes
  // %certificate --filename="a.pem" --type="anchor", after %packages.
  r = ParseText("%packages\nvim\n%end\n%certificate --filename=a.pem --type=anchor\nAAA\n%end\n");
  ASSERT_TRUE(r.ok()) << AllMessages(r.diagnostics);
  ASSERT_EQ(r.kickstart.certificates.size(), 1u);
  EXPECT_EQ(r.kickstart.certificates[0].type, "anchor");
  EXPECT_EQ(r.kickstart.certificates[0].dir, "");
  std::string flat = WriteKickstart(r.kickstart);
  EXPECT_NE(flat.find("%certificate --filename=a.pem --type=anchor\nAAA\n%end\n"),
            std::string::npos)
      << flat;
  EXPECT_GT(flat.find("%certificate"), flat.find("%packages")) << flat;
  // Neither: "One of --dir or --type must be specified for %certificate" (line 1).
  r = ParseText("%certificate --filename=ca.pem\nX\n%end\n");
  EXPECT_TRUE(HasMessage(r.diagnostics, Severity::kError,
                         "ks.cfg:1: One of --dir or --type must be specified for %certificate"))
      << AllMessages(r.diagnostics);
  // An empty body: "The %certificate section is empty".
  r = ParseText("%certificate --filename=a.pem --dir=/x\n\n%end\n");
  EXPECT_TRUE(HasMessage(r.diagnostics, Severity::kError, "The %certificate section is empty"))
      << AllMessages(r.diagnostics);
}

TEST(PackagesTest, GroupsEnvironmentsExclusionsAndGlobs) {
  ParseResult r = ParseText(
      "%packages --nocore --excludedocs --inst-langs=en:de --multilib --ignoremissing\n"
      "@^server-product-environment\n@core\n@standard --nodefaults\n@extra --optional\n"
      "vim*\nkernel # the kernel\n-nano\n-@dial-up\n%end\n");
  ASSERT_TRUE(r.ok()) << AllMessages(r.diagnostics);
  const Packages& p = r.kickstart.packages;
  EXPECT_TRUE(p.seen);
  EXPECT_TRUE(p.no_core);
  EXPECT_TRUE(p.exclude_docs);
  EXPECT_TRUE(p.multilib);
  EXPECT_TRUE(p.ignore_missing);
  EXPECT_EQ(p.inst_langs, "en:de");
  EXPECT_EQ(p.environment, "server-product-environment");
  ASSERT_EQ(p.groups.size(), 3u);
  EXPECT_EQ(p.groups[1].include, GroupInclude::kRequired);
  EXPECT_EQ(p.groups[2].include, GroupInclude::kAll);
  EXPECT_EQ(p.packages, (std::vector<std::string>{"kernel", "vim*"}));
  EXPECT_EQ(p.excluded, std::vector<std::string>{"nano"});
  ASSERT_EQ(p.excluded_groups.size(), 1u);
  EXPECT_EQ(p.excluded_groups[0].name, "dial-up");
}

TEST(PackagesTest, LaterSectionsMergeLikePykickstart) {
  ParseResult r = ParseText(
      "%packages\nvim\nnano\n@core\n%end\n%packages\n-vim\nemacs\n-@core\n%end\n"
      "%packages\nvim\n%end\n");
  ASSERT_TRUE(r.ok()) << AllMessages(r.diagnostics);
  const Packages& p = r.kickstart.packages;
  EXPECT_EQ(p.packages, (std::vector<std::string>{"emacs", "nano", "vim"}));
  EXPECT_TRUE(p.excluded.empty()) << "re-adding vim cancels its exclusion";
  EXPECT_TRUE(p.groups.empty()) << "-@core cancels @core";
}

TEST(PackagesTest, EachLineMergesInTurn) {
  // fedora-container-common.ks lists util-linux, later -util-linux, and a second section
  // follows: pykickstart 3.74 adds line by line, so util-linux stays excluded.
  ParseResult r =
      ParseText("%packages\nutil-linux\nvim\n-util-linux\n%end\n%packages\nbash\n%end\n");
  ASSERT_TRUE(r.ok()) << AllMessages(r.diagnostics);
  EXPECT_EQ(r.kickstart.packages.packages, (std::vector<std::string>{"bash", "vim"}));
  EXPECT_EQ(r.kickstart.packages.excluded, (std::vector<std::string>{"util-linux"}));
}

TEST(PackagesTest, CamelCaseOptionsWarnAndApply) {
  // pykickstart 3.74: "Ignoring deprecated option on line 1: The --instLangs option has been
  // deprecated ..."; ksflatten writes %packages --inst-langs=en --exclude-weakdeps.
  ParseResult r = ParseText("%packages --instLangs=en --excludeWeakdeps\n%end\n");
  EXPECT_TRUE(r.ok());
  EXPECT_TRUE(HasMessage(r.diagnostics, Severity::kWarning,
                         "Ignoring deprecated option on line 1: The --instLangs option has been "
                         "deprecated"))
      << AllMessages(r.diagnostics);
  EXPECT_TRUE(HasMessage(r.diagnostics, Severity::kWarning, "The --excludeWeakdeps option"));
  EXPECT_EQ(r.kickstart.packages.inst_langs, "en");
  EXPECT_TRUE(r.kickstart.packages.exclude_weakdeps);
}

TEST(SectionsTest, TracebackIsDeprecated) {
  ParseResult r = ParseText("%traceback\necho\n%end\n");
  EXPECT_TRUE(r.ok());
  EXPECT_TRUE(HasMessage(r.diagnostics, Severity::kWarning,
                         "ks.cfg:1: warning: The %traceback section has been deprecated."))
      << AllMessages(r.diagnostics);
  ASSERT_EQ(r.kickstart.scripts.size(), 1u);
}

TEST(PackagesTest, HeaderErrors) {
  ParseResult r = ParseText("%packages --default --nocore\n%end\n");
  EXPECT_TRUE(HasMessage(r.diagnostics, Severity::kError,
                         "--default and --nocore cannot be used together"));
  r = ParseText("%packages --nobase\n%end\n");
  EXPECT_TRUE(HasMessage(r.diagnostics, Severity::kError, "--nobase is no longer supported"));
  r = ParseText("%packages\n@x --nodefaults --optional\n%end\n");
  EXPECT_TRUE(HasMessage(r.diagnostics, Severity::kError, "both --nodefaults and --optional"));
}

TEST(GrammarTest, PlatformComment) {
  ParseResult r = ParseText("#platform=x86, AMD64, or Intel EM64T\nlang C\n");
  EXPECT_EQ(r.kickstart.platform, "x86, AMD64, or Intel EM64T");
}

}  // namespace
}  // namespace kiln::spec

namespace kiln::spec {
namespace {

// Found by the fuzzer: pykickstart takes "%packages#x" inside %packages for a package line
// (its section check splits on whitespace) and so did kiln, which then flattened it into a
// second "%packages" header that does not parse. No package name starts with '%'.
TEST(GrammarTest, APercentLineInsidePackagesIsNotAPackage) {
  ParseResult r = ParseText("%packages\nvim\n%packages#x\n%end\n");
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(HasMessage(r.diagnostics, Severity::kError, "'%packages' is not a package name"))
      << AllMessages(r.diagnostics);
  EXPECT_EQ(r.diagnostics.items().front().where.line, 3);
  ParseResult fine = ParseText("%packages\nvim # editor\n%end\n");
  ASSERT_TRUE(fine.ok()) << AllMessages(fine.diagnostics);
  ParseResult again = ParseText(WriteKickstart(fine.kickstart));
  EXPECT_TRUE(again.ok()) << AllMessages(again.diagnostics);
}

}  // namespace
}  // namespace kiln::spec
