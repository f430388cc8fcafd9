// %include and %ksappend: relative paths, nesting, scripts, cycles and missing files.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "test_util.h"

namespace kiln::spec {
namespace {

using testing::AllMessages;
using testing::HasMessage;

TEST(IncludeTest, IncludedCommandsAndSectionsAreRead) {
  MemoryResolver files;
  files.Add("common/base.ks", "lang de_DE.UTF-8\n%packages\nsudo\n%end\n");
  files.Add("main.ks", "%include common/base.ks\nkeyboard us\n%packages\nvim\n%end\n");
  ParseResult r = ParseKickstartFile("main.ks", files);
  ASSERT_TRUE(r.ok()) << AllMessages(r.diagnostics);
  EXPECT_EQ(r.kickstart.Single("lang")->args[0], "de_DE.UTF-8");
  EXPECT_EQ(r.kickstart.Single("lang")->where.file, "common/base.ks");
  EXPECT_EQ(r.kickstart.packages.packages, (std::vector<std::string>{"sudo", "vim"}));
  EXPECT_EQ(r.files, (std::vector<std::string>{"main.ks", "common/base.ks"}));
}

TEST(IncludeTest, PathsAreRelativeToTheIncludingFile) {
  MemoryResolver files;
  files.Add("a/top.ks", "%include b/mid.ks\n");
  files.Add("a/b/mid.ks", "%include leaf.ks\n");
  files.Add("a/b/leaf.ks", "lang C\n");
  ParseResult r = ParseKickstartFile("a/top.ks", files);
  ASSERT_TRUE(r.ok()) << AllMessages(r.diagnostics);
  EXPECT_EQ(r.kickstart.Single("lang")->where.file, "a/b/leaf.ks");
}

TEST(IncludeTest, MissingIncludeNamesTheChain) {
  MemoryResolver files;
  files.Add("top.ks", "lang C\n%include mid.ks\n");
  files.Add("mid.ks", "\n\n%include gone.ks\n");
  ParseResult r = ParseKickstartFile("top.ks", files);
  EXPECT_FALSE(r.ok());
  ASSERT_EQ(r.diagnostics.ErrorCount(), 1) << AllMessages(r.diagnostics);
  std::string msg = FormatDiagnostic(r.diagnostics.items()[0]);
  EXPECT_NE(msg.find("mid.ks:3:"), std::string::npos) << msg;
  EXPECT_NE(msg.find("gone.ks"), std::string::npos) << msg;
  EXPECT_NE(msg.find("top.ks -> mid.ks"), std::string::npos) << msg;
}

TEST(IncludeTest, CycleIsAnErrorNamingTheChain) {
  MemoryResolver files;
  files.Add("a.ks", "%include b.ks\n");
  files.Add("b.ks", "%include c.ks\n");
  files.Add("c.ks", "%include a.ks\n");
  ParseResult r = ParseKickstartFile("a.ks", files);
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(HasMessage(r.diagnostics, Severity::kError,
                         "c.ks:1: %include cycle: a.ks -> b.ks -> c.ks -> a.ks"))
      << AllMessages(r.diagnostics);
}

TEST(IncludeTest, SelfIncludeIsACycle) {
  MemoryResolver files;
  files.Add("a.ks", "lang C\n%include a.ks\n");
  ParseResult r = ParseKickstartFile("a.ks", files);
  EXPECT_TRUE(HasMessage(r.diagnostics, Severity::kError, "%include cycle"));
}

TEST(IncludeTest, SameFileTwiceIsNotACycle) {
  MemoryResolver files;
  files.Add("pkgs.ks", "%packages\nvim\n%end\n");
  files.Add("top.ks", "%include pkgs.ks\n%include pkgs.ks\n");
  ParseResult r = ParseKickstartFile("top.ks", files);
  EXPECT_TRUE(r.ok()) << AllMessages(r.diagnostics);
}

TEST(IncludeTest, IncludeInsideAScriptSplicesItsLines) {
  // pykickstart reads an %include inside a script body and adds the file's lines to it.
  MemoryResolver files;
  files.Add("snippet.sh", "echo from-snippet\n");
  files.Add("top.ks", "%post\necho before\n%include snippet.sh\necho after\n%end\n");
  ParseResult r = ParseKickstartFile("top.ks", files);
  ASSERT_TRUE(r.ok()) << AllMessages(r.diagnostics);
  ASSERT_EQ(r.kickstart.scripts.size(), 1u);
  EXPECT_EQ(r.kickstart.scripts[0].body, "echo before\necho from-snippet\necho after\n");
}

TEST(IncludeTest, IncludedFileMayCloseASectionOpenedBefore) {
  MemoryResolver files;
  files.Add("tail.ks", "vim\n%end\nlang C\n");
  files.Add("top.ks", "%packages\nemacs\n%include tail.ks\nkeyboard us\n");
  ParseResult r = ParseKickstartFile("top.ks", files);
  ASSERT_TRUE(r.ok()) << AllMessages(r.diagnostics);
  EXPECT_EQ(r.kickstart.packages.packages, (std::vector<std::string>{"emacs", "vim"}));
  EXPECT_NE(r.kickstart.Single("keyboard"), nullptr);
}

TEST(IncludeTest, KsappendIsExpandedInTheTopLevelFile) {
  MemoryResolver files;
  files.Add("extra.ks", "keyboard de\n%post\necho appended\n%end\n");
  files.Add("top.ks", "lang C\n%ksappend extra.ks\n");
  ParseResult r = ParseKickstartFile("top.ks", files);
  ASSERT_TRUE(r.ok()) << AllMessages(r.diagnostics);
  EXPECT_NE(r.kickstart.Single("keyboard"), nullptr);
  ASSERT_EQ(r.kickstart.scripts.size(), 1u);
}

TEST(IncludeTest, KsappendErrors) {
  MemoryResolver files;
  files.Add("top.ks", "%ksappend\n%ksappend missing.ks\n");
  ParseResult r = ParseKickstartFile("top.ks", files);
  EXPECT_TRUE(HasMessage(r.diagnostics, Severity::kError, "top.ks:1: Illegal url for %ksappend"));
  EXPECT_TRUE(
      HasMessage(r.diagnostics, Severity::kError, "top.ks:2: Unable to open %ksappend file"));
}

TEST(IncludeTest, IncludeWithoutAName) {
  ParseResult r = testing::ParseText("%include\n");
  EXPECT_TRUE(HasMessage(r.diagnostics, Severity::kError, "%include needs a file name"));
}

TEST(IncludeTest, NotFollowingIncludes) {
  MemoryResolver files;
  files.Add("top.ks", "%include nowhere.ks\nlang C\n");
  ParserOptions options;
  options.follow_includes = false;
  ParseResult r = ParseKickstartFile("top.ks", files, options);
  EXPECT_TRUE(r.ok()) << AllMessages(r.diagnostics);
}

TEST(IncludeTest, RealFilesRelativeToTheIncludingFile) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("kiln-include-" + std::to_string(::getpid()));
  fs::create_directories(dir / "sub");
  std::ofstream(dir / "top.ks") << "%include sub/inner.ks\n";
  std::ofstream(dir / "sub" / "inner.ks") << "lang C\n%include ../last.ks\n";
  std::ofstream(dir / "last.ks") << "keyboard us\n";
  FileResolver resolver;
  ParseResult r = ParseKickstartFile((dir / "top.ks").string(), resolver);
  EXPECT_TRUE(r.ok()) << AllMessages(r.diagnostics);
  EXPECT_NE(r.kickstart.Single("keyboard"), nullptr);
  // A file including itself through another path spelling is still a cycle.
  std::ofstream(dir / "loop.ks") << "%include sub/../loop.ks\n";
  r = ParseKickstartFile((dir / "loop.ks").string(), resolver);
  EXPECT_TRUE(HasMessage(r.diagnostics, Severity::kError, "%include cycle"))
      << AllMessages(r.diagnostics);
  r = ParseKickstartFile((dir / "absent.ks").string(), resolver);
  EXPECT_TRUE(HasMessage(r.diagnostics, Severity::kError, "Unable to open input kickstart file"));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace kiln::spec
