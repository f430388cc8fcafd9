// What one kickstart may hold: a text of a million short lines is refused at a limit (or after
// 200 problems) instead of costing many times its size, and lines are read one at a time.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/diagnostics.h"
#include "spec/line_stream.h"
#include "test_util.h"

namespace kiln::spec {
namespace {

using testing::AllMessages;
using testing::HasMessage;
using testing::ParseText;

// `count` lines made of `unit` and a number, after `head`.
std::string Lines(const std::string& head, const std::string& unit, int count) {
  std::string text = "lang C\n" + head;
  for (int i = 0; i < count; ++i) text += unit + std::to_string(i) + "\n";
  return text;
}

TEST(KickstartLimitsTest, RealKickstartsStayFarBelowTheLimits) {
  ParseResult ok =
      ParseText(Lines("%packages\n", "pkg", 10000) + "%end\n" + Lines("", "user --name=u", 999));
  EXPECT_TRUE(ok.ok()) << AllMessages(ok.diagnostics);
  EXPECT_EQ(ok.kickstart.packages.packages.size(), 10000u);
}

TEST(KickstartLimitsTest, PastALimitTheParseStopsWithOneError) {
  struct Case {
    std::string text, error;
  };
  const std::vector<Case> cases = {
      {Lines("", "user --name=u", 5000), "more than 1000 repeatable commands"},
      {Lines("", "group --name=g", 5000), "more than 1000 repeatable commands"},
      {Lines("%packages\n", "p", 20000) + "%end\n", "more than 10000 package lines"},
      {Lines("", "%post\ntrue\n%end\n#", 1000), "more than 200 sections"},
  };
  for (const Case& c : cases) {
    ParseResult r = ParseText(c.text);
    EXPECT_FALSE(r.ok()) << c.error;
    EXPECT_EQ(r.diagnostics.ErrorCount(), 1) << AllMessages(r.diagnostics);
    EXPECT_TRUE(HasMessage(r.diagnostics, Severity::kError, c.error)) << AllMessages(r.diagnostics);
  }
}

TEST(KickstartLimitsTest, AfterTwoHundredProblemsTheRestAreCountedNotListed) {
  // Warnings too: the parse stops there, so the kickstart is refused (the rest is unread).
  ParseResult warned = ParseText(Lines("", "sshkey --username=root key", 300));
  EXPECT_FALSE(warned.ok());
  EXPECT_TRUE(HasMessage(warned.diagnostics, Severity::kError, "too many problems"));

  ParseResult r = ParseText(Lines("", "nosuchcommand", 300));
  // Reading stops once the list is full: the count says how many were found by then.
  EXPECT_EQ(r.diagnostics.items().size(), Diagnostics::kMaxKept + 1);
  EXPECT_GT(r.diagnostics.ErrorCount(), static_cast<int>(Diagnostics::kMaxKept));
  EXPECT_NE(FormatDiagnostic(r.diagnostics.items().back())
                .find("too many problems: only the first 200 are listed"),
            std::string::npos);

  Diagnostics d;
  for (int i = 0; i < 1000; ++i) d.Warning({"w.ks", i + 1}, "w");
  d.Error({"w.ks", 1001}, "e");
  EXPECT_EQ(d.WarningCount(), 1000);
  EXPECT_EQ(d.ErrorCount(), 2);  // and the one saying the rest are left out
  EXPECT_TRUE(d.HasErrors());
  EXPECT_TRUE(d.Full());
  EXPECT_EQ(d.items().size(), Diagnostics::kMaxKept + 1);
  Diagnostics all;
  all.Error({"a.ks", 1}, "first");
  all.Append(d);
  EXPECT_EQ(all.ErrorCount(), 3);
  EXPECT_EQ(all.WarningCount(), 1000);
  EXPECT_LE(all.items().size(), Diagnostics::kMaxKept + 1);
}

TEST(LineSplitterTest, SplitsAsPythonsSplitlines) {
  auto split = [](std::string_view text) {
    std::vector<std::string> out;
    LineSplitter lines(text);
    for (std::string_view line; lines.Next(line);) out.emplace_back(line);
    return out;
  };
  EXPECT_EQ(split(""), std::vector<std::string>{});
  EXPECT_EQ(split("a"), std::vector<std::string>{"a"});
  EXPECT_EQ(split("a\n"), std::vector<std::string>{"a"});
  EXPECT_EQ(split("a\n\n"), (std::vector<std::string>{"a", ""}));
  EXPECT_EQ(split("a\r\nb\rc\vd\fe\x1c"
                  "f\x1dg\x1eh"),
            (std::vector<std::string>{"a", "b", "c", "d", "e", "f", "g", "h"}));
  EXPECT_EQ(split("\n\n\n"), (std::vector<std::string>{"", "", ""}));
}

}  // namespace
}  // namespace kiln::spec
