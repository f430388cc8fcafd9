#include "spec/imagebuild_conf.h"

#include <gtest/gtest.h>

namespace kiln::spec {
namespace {

TEST(IniTest, ConfigParserRules) {
  IniFile ini;
  Diagnostics diags;
  ASSERT_TRUE(
      ParseIni("# comment\n; other comment\n[DEFAULT]\nType = live\narch: x86_64\n\n"
               "[live]\nlabel=\"Kiln Live\"\ntitle='A B'\nnvr=a;\n  b\n",
               "x.conf", ini, diags));
  EXPECT_EQ(ini.Get("live", "type")->value, "live") << "[DEFAULT] is inherited";
  EXPECT_EQ(ini.Get("live", "TYPE")->value, "live") << "keys are case-insensitive";
  EXPECT_EQ(ini.Get("live", "arch")->value, "x86_64");
  EXPECT_EQ(ini.Get("live", "label")->value, "Kiln Live");
  EXPECT_EQ(ini.Get("live", "title")->value, "A B");
  EXPECT_EQ(ini.Get("live", "nvr")->value, "a;\nb");
  EXPECT_EQ(ini.Get("live", "label")->line, 8);
  EXPECT_EQ(ini.Get("live", "missing"), nullptr);
}

TEST(IniTest, Errors) {
  IniFile ini;
  Diagnostics diags;
  EXPECT_FALSE(ParseIni("key=value\n[a]\nx=1\nx=2\n[a]\nnot a pair\n[b\n", "bad.conf", ini, diags));
  ASSERT_EQ(diags.ErrorCount(), 5);
  EXPECT_EQ(diags.items()[0].where.line, 1);
  EXPECT_NE(diags.items()[1].message.find("'x' appears twice"), std::string::npos);
  EXPECT_NE(diags.items()[2].message.find("[a] appears twice"), std::string::npos);
  EXPECT_EQ(diags.items()[4].where.line, 7);
}

}  // namespace
}  // namespace kiln::spec
