// Option parsing for kickstart command lines and section headers, with the rules of
// Python's argparse as pykickstart configures it: --opt=value, --opt value, -o value, -ovalue,
// unique prefixes of long options, "--" ending the options, typed values and choices.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/diagnostics.h"
#include "spec/command_table.h"

namespace kiln::spec {

// Parses `words` (what follows the command or section name) against `options`, filling
// out.values / out.given / out.args. `what` names the command or section in messages.
// Returns false if any error was added (the result then holds what could be parsed).
bool ParseOptions(std::span<const OptionSpec> options, std::span<const RemovedOption> removed,
                  std::string_view what, std::span<const std::string> words,
                  const SourceLocation& where, ParsedCommand& out, Diagnostics& diags);

// The spelling used when writing an option back: its first "--" flag.
std::string_view CanonicalFlag(const OptionSpec& option);

// Python's os.path.normpath, which pykickstart applies to mount points.
std::string NormalizePath(std::string_view path);

}  // namespace kiln::spec
