#include "spec/shlex.h"

#include <gtest/gtest.h>

namespace kiln::spec {
namespace {

struct Case {
  const char* line;
  std::vector<std::string> words;
  const char* error = "";
};

// Expected values are Python's shlex.split(line, comments=True).
TEST(ShlexTest, SplitsLikePythonShlex) {
  const Case cases[] = {
      {"part / --size 500", {"part", "/", "--size", "500"}},
      {"  network   --bootproto=dhcp\t--activate  ", {"network", "--bootproto=dhcp", "--activate"}},
      {"bootloader --append=\"console=ttyS0 quiet\"",
       {"bootloader", "--append=console=ttyS0 quiet"}},
      {"rootpw 'it''s'", {"rootpw", "its"}},
      {"rootpw 'a \"b\" c'", {"rootpw", "a \"b\" c"}},
      {"echo \"a\\\"b\" \"c\\d\" \"e\\\\f\"", {"echo", "a\"b", "c\\d", "e\\f"}},
      {"echo a\\ b \\#c", {"echo", "a b", "#c"}},
      {"part / # a comment", {"part", "/"}},
      {"part /#x y", {"part", "/"}},
      {"user --name=x \"\"", {"user", "--name=x", ""}},
      {"# only a comment", {}},
      {"", {}},
      {"text'", {"text"}, "No closing quotation"},
      {"text \"abc", {"text"}, "No closing quotation"},
      {"text \\", {"text"}, "No escaped character"},
  };
  for (const Case& c : cases) {
    ShlexResult r = ShlexSplit(c.line);
    EXPECT_EQ(r.error, c.error) << c.line;
    if (r.error.empty()) {
      EXPECT_EQ(r.words, c.words) << c.line;
    }
  }
}

}  // namespace
}  // namespace kiln::spec
