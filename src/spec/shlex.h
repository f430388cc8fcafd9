// Splits a line into words the way Python's shlex.split(line, comments=True) does in POSIX
// mode, which is how pykickstart tokenizes every command and section header.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace kiln::spec {

struct ShlexResult {
  std::vector<std::string> words;
  std::string error;  // "No closing quotation" / "No escaped character"; empty when fine
};

// Rules: whitespace separates words; '...' is literal; "..." allows \" and \\ escapes;
// outside quotes a backslash escapes the next character; '#' starts a comment wherever a
// word could start or continue outside quotes.
ShlexResult ShlexSplit(std::string_view line);

}  // namespace kiln::spec
