#include "core/build_spec.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/build_spec_json.h"

namespace kiln {
namespace {

BuildSpec FullSpec() {
  BuildSpec s;
  s.type = ImageType::kQcow2;
  s.arch = Arch::kI686;
  s.release = "trixie";
  s.kickstart = "lang C\n";
  s.kickstart_url = "http://example.org/ks.cfg";
  s.kickstart_name = "ks.cfg";
  s.name = "kiln-server";
  s.label = "KILN_SERVER";
  s.title = "Kiln Server";
  s.product = "kiln";
  s.version = "1.0";
  s.extra_packages = {{"htop", ""}, {"jq", "1.6-2.1"}};
  s.package_files = {{"tool_1.0_i386.deb", "uploads/ab12", std::string(64, 'a')}};
  s.mirror = "http://deb.debian.org/debian";
  s.proxy = "http://proxy.example.org:3128";
  s.script_network = "none";
  s.staging = {"file:///srv/stage", "ftp://127.0.0.1/pub"};
  s.notify.email = {"a@example.org"};
  s.notify.webhook = {"https://hooks.example.org/kiln"};
  s.ignored = {"qcow2.outdir"};
  return s;
}

TEST(BuildSpecTest, JsonRoundTrip) {
  BuildSpec s = FullSpec();
  nlohmann::json j = BuildSpecToJson(s);
  BuildSpec back;
  Diagnostics diags;
  ASSERT_TRUE(BuildSpecFromJson(j, back, {"test", 0}, diags));
  EXPECT_EQ(back, s);
  // And through text.
  BuildSpec again;
  ASSERT_TRUE(BuildSpecFromJson(nlohmann::json::parse(j.dump()), again, {"test", 0}, diags));
  EXPECT_EQ(again, s);
}

TEST(BuildSpecTest, ArchAliases) {
  EXPECT_EQ(ParseArch("x86_64"), Arch::kX86_64);
  EXPECT_EQ(ParseArch("amd64"), Arch::kX86_64);
  EXPECT_EQ(ParseArch("i686"), Arch::kI686);
  EXPECT_EQ(ParseArch("I386"), Arch::kI686);
  EXPECT_EQ(ParseArch("arm64"), std::nullopt);
  EXPECT_EQ(DebianArch(Arch::kI686), "i386");
}

TEST(BuildSpecTest, ImageTypes) {
  for (const char* t : {"live", "raw", "qcow2", "tar", "boot", "dvd"}) {
    auto parsed = ParseImageType(t);
    ASSERT_TRUE(parsed) << t;
    EXPECT_EQ(ToString(*parsed), t);
  }
  EXPECT_EQ(ParseImageType("iso"), std::nullopt);
}

TEST(BuildSpecTest, ValidSpecHasNoDiagnostics) {
  Diagnostics diags;
  ValidateBuildSpec(FullSpec(), {"test", 0}, diags);
  EXPECT_TRUE(diags.items().empty()) << FormatDiagnostic(diags.items()[0]);
}

TEST(BuildSpecTest, EveryProblemIsReported) {
  BuildSpec s = FullSpec();
  s.release = "bookwrom";
  s.name = "../etc/passwd";
  s.label = "THIS LABEL IS FAR TOO LONG FOR ISO 9660";
  s.extra_packages = {{"Bad_Name", ""}, {"jq", ""}, {"jq", ""}};
  s.mirror = "gopher://x";
  s.staging = {"http://nope"};
  s.notify.email = {"not-an-address"};
  s.kickstart = std::string(5u << 20, '#');
  s.script_network = "everything";
  Diagnostics diags;
  ValidateBuildSpec(s, {"req.json", 0}, diags);
  EXPECT_EQ(diags.ErrorCount(), 10);
  std::string all;
  for (const auto& d : diags.items()) all += FormatDiagnostic(d) + "\n";
  EXPECT_NE(all.find("unknown release 'bookwrom' (did you mean bookworm?)"), std::string::npos)
      << all;
  EXPECT_NE(all.find("'jq' is listed twice"), std::string::npos) << all;
  EXPECT_NE(all.find("script_network: 'everything' is not none or outbound"), std::string::npos)
      << all;
}

TEST(BuildSpecTest, AtMostTenAddressesAndNoLineBreakInOne) {
  BuildSpec s = FullSpec();
  s.notify.email.clear();
  for (int i = 0; i < 11; ++i) s.notify.email.push_back("u" + std::to_string(i) + "@example.org");
  Diagnostics diags;
  ValidateBuildSpec(s, {"req.json", 0}, diags);
  ASSERT_EQ(diags.ErrorCount(), 1);
  EXPECT_NE(FormatDiagnostic(diags.items()[0]).find("notify.email: 11 addresses, more than the 10"),
            std::string::npos);
  s.notify.email = {"a@example.org\r\nBcc: everyone@example.org"};
  Diagnostics injected;
  ValidateBuildSpec(s, {"req.json", 0}, injected);
  EXPECT_EQ(injected.ErrorCount(), 1) << "a line break never reaches a mail header";
}

TEST(BuildSpecTest, NoBuildTurnsIntoAFloodOfCallsOrCopies) {
  BuildSpec s = FullSpec();
  s.notify.webhook.clear();
  s.staging.clear();
  for (size_t i = 0; i < kMaxBuildWebhooks; ++i) {
    s.notify.webhook.push_back("https://h" + std::to_string(i) + ".example.org/hook");
    s.staging.push_back("ftp://f" + std::to_string(i) + ".example.org/pub/");
  }
  Diagnostics at_limit;
  ValidateBuildSpec(s, {"req.json", 0}, at_limit);
  EXPECT_EQ(at_limit.ErrorCount(), 0) << "five of each are fine";
  s.notify.webhook.push_back("https://one-more.example.org/hook");
  s.staging.push_back("ftp://one-more.example.org/pub/");
  Diagnostics over;
  ValidateBuildSpec(s, {"req.json", 0}, over);
  ASSERT_EQ(over.ErrorCount(), 2);
  std::string all = FormatDiagnostic(over.items()[0]) + FormatDiagnostic(over.items()[1]);
  EXPECT_NE(all.find("notify.webhook: 6 webhooks, more than the 5"), std::string::npos) << all;
  EXPECT_NE(all.find("staging: 6 staging targets, more than the 5"), std::string::npos) << all;
}

TEST(BuildSpecTest, UnknownJsonFieldsAndTypes) {
  BuildSpec s;
  Diagnostics diags;
  nlohmann::json j = {{"tyep", "live"},
                      {"arch", 64},
                      {"release", "bookworm"},
                      {"extra_packages", {"ok", 5}},
                      {"notify", {{"sms", "x"}}}};
  EXPECT_FALSE(BuildSpecFromJson(j, s, {"req.json", 0}, diags));
  std::string all;
  for (const auto& d : diags.items()) all += FormatDiagnostic(d) + "\n";
  EXPECT_NE(all.find("tyep: unknown field (did you mean type?)"), std::string::npos) << all;
  EXPECT_NE(all.find("arch: must be a string"), std::string::npos) << all;
  EXPECT_NE(all.find("extra_packages[1]"), std::string::npos) << all;
  EXPECT_NE(all.find("notify.sms: unknown field"), std::string::npos) << all;
}

TEST(BuildSpecTest, ExtraPackageReferences) {
  ExtraPackage p;
  EXPECT_TRUE(ParseExtraPackage("jq=1.6-2.1", p));
  EXPECT_EQ(p.name, "jq");
  EXPECT_EQ(p.version, "1.6-2.1");
  EXPECT_TRUE(ParseExtraPackage(" libc6 ", p));
  EXPECT_EQ(p.version, "");
  EXPECT_TRUE(ParseExtraPackage("g++=4:12.2.0-3", p));
  EXPECT_FALSE(ParseExtraPackage("Vim", p));
  EXPECT_FALSE(ParseExtraPackage("vim=", p));
  EXPECT_FALSE(ParseExtraPackage("vim;rm -rf", p));
}

TEST(BuildSpecTest, DefaultsFillMetadata) {
  BuildSpec s;
  s.type = ImageType::kRaw;
  ApplyDefaults(s);
  EXPECT_EQ(s.name, "kiln-bookworm-raw-x86_64");
  EXPECT_EQ(s.label, "KILN-BOOKWORM-RAW-X86_64");
  EXPECT_LE(s.label.size(), 32u);
  Diagnostics diags;
  ValidateBuildSpec(s, {"x", 0}, diags);
  EXPECT_FALSE(diags.HasErrors());
}

}  // namespace
}  // namespace kiln
