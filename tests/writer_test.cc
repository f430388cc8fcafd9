// Flattening: canonical output, and flatten(flatten(x)) == flatten(x).
#include <gtest/gtest.h>

#include "spec/kickstart_writer.h"
#include "test_util.h"

namespace kiln::spec {
namespace {

using testing::AllMessages;
using testing::ParseText;

const char* kSample = R"(# sample
%post --nochroot --interpreter /bin/bash
echo "$INSTALL_ROOT"
%end
part / --fstype ext4 --size 2048 --grow
part /boot/efi --fstype=efi --size=128
network --bootproto dhcp --hostname kiln-demo --activate
lang en_US.UTF-8
bootloader --append "console=ttyS0,115200 quiet" --timeout 1
rootpw --plaintext "se cret"
services --enabled=ssh,chronyd --disabled cups
user --name=tester --groups=sudo,adm --password=x --plaintext
firewall --enabled --ssh --service=mdns
selinux --permissive
shutdown
%packages --excludedocs
@core
openssh-server
-nano
%end
%pre
echo pre
%end
)";

TEST(WriterTest, CommandsFirstThenScriptsThenPackages) {
  ParseResult r = ParseText(kSample);
  ASSERT_TRUE(r.ok()) << AllMessages(r.diagnostics);
  std::string out = WriteKickstart(r.kickstart);
  size_t lang = out.find("\nlang en_US.UTF-8\n");
  size_t part = out.find("\npart / --fstype=ext4 --size=2048 --grow\n");
  size_t post =
      out.find("\n%post --interpreter=/bin/bash --nochroot\necho \"$INSTALL_ROOT\"\n%end\n");
  size_t pre = out.find("\n%pre\necho pre\n%end\n");
  size_t packages = out.find("\n%packages --excludedocs\n@core\nopenssh-server\n-nano\n\n%end\n");
  ASSERT_NE(lang, std::string::npos) << out;
  ASSERT_NE(part, std::string::npos) << out;
  ASSERT_NE(post, std::string::npos) << out;
  ASSERT_NE(pre, std::string::npos) << out;
  ASSERT_NE(packages, std::string::npos) << out;
  EXPECT_LT(lang, post);
  EXPECT_LT(part, post);
  EXPECT_LT(post, pre) << "scripts keep file order";
  EXPECT_LT(pre, packages);
  EXPECT_NE(out.find("\nbootloader --append=\"console=ttyS0,115200 quiet\" --timeout=1\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("rootpw --plaintext \"se cret\"\n"), std::string::npos) << out;
  EXPECT_NE(out.find("firewall --enable --ssh --service=mdns\n"), std::string::npos) << out;
}

TEST(WriterTest, FlattenIsIdempotent) {
  ParseResult r = ParseText(kSample);
  ASSERT_TRUE(r.ok());
  std::string once = WriteKickstart(r.kickstart);
  ParseResult again = ParseText(once);
  ASSERT_TRUE(again.ok()) << AllMessages(again.diagnostics) << once;
  EXPECT_EQ(WriteKickstart(again.kickstart), once);
}

TEST(WriterTest, PositionalThatLooksLikeAnOptionStaysPositional) {
  ParseResult r = ParseText("rootpw --iscrypted -- -x$6$abc\n");
  ASSERT_TRUE(r.ok()) << AllMessages(r.diagnostics);
  std::string out = WriteKickstart(r.kickstart);
  ParseResult again = ParseText(out);
  ASSERT_TRUE(again.ok()) << AllMessages(again.diagnostics) << out;
  EXPECT_EQ(again.kickstart.Single("rootpw")->args, std::vector<std::string>{"-x$6$abc"});
}

TEST(WriterTest, EmptyKickstart) {
  ParseResult r = ParseText("");
  ASSERT_TRUE(r.ok());
  std::string out = WriteKickstart(r.kickstart);
  EXPECT_EQ(out.find("%packages"), std::string::npos);
  EXPECT_NE(out.find("#version=DEVEL"), std::string::npos);
}

}  // namespace
}  // namespace kiln::spec
