// Reads kickstart files with pykickstart's grammar and its F45 (current Fedora, DEVEL) handler.
//
// Every problem is collected (not only the first), each as "FILE:LINE: message". Warnings
// are what pykickstart warns about (deprecated commands and options, duplicates);
// ksvalidator turns those into errors, which `kiln ks validate --strict` mirrors.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/diagnostics.h"
#include "spec/kickstart.h"
#include "spec/kickstart_loader.h"

namespace kiln::spec {

struct ParserOptions {
  bool follow_includes = true;  // false: %include lines are skipped, like ksvalidator without -i
  int max_include_depth = 32;   // deeper nesting is an error (a cycle is reported as one)
};

struct ParseResult {
  Kickstart kickstart;
  Diagnostics diagnostics;
  std::vector<std::string> files;  // every file read, the top-level one first
  bool ok() const { return !diagnostics.HasErrors(); }
};

// Reads `path` (a file or URL) through `resolver`, following %include and %ksappend.
ParseResult ParseKickstartFile(std::string_view path, Resolver& resolver,
                               const ParserOptions& options = {});

// Reads kickstart text given directly; `name` labels it in messages and is the base for
// relative includes.
ParseResult ParseKickstartText(std::string_view text, std::string_view name, Resolver& resolver,
                               const ParserOptions& options = {});
// The same, taking the text over (a large kickstart is then held once, not copied).
ParseResult ParseKickstartText(std::string&& text, std::string_view name, Resolver& resolver,
                               const ParserOptions& options = {});

}  // namespace kiln::spec
