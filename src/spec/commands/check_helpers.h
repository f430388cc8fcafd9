// Helpers the per-command check functions share. pykickstart tests options for truth, not
// presence, so "--size=0" or "--name=" count as not given.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "spec/command_table.h"

namespace kiln::spec {

// A string option given with a non-empty value.
bool NonEmpty(const ParsedCommand& cmd, std::string_view dest);
// An integer option given with a value other than 0.
bool NonZero(const ParsedCommand& cmd, std::string_view dest);
// A list option given with at least one item.
bool NonEmptyList(const ParsedCommand& cmd, std::string_view dest);

// Python's repr() of a list of strings, as pykickstart puts it in "Unexpected arguments".
std::string PythonListRepr(std::span<const std::string> items);

// Positionals past the first `keep` are parse_known_args extras in pykickstart, reported as
// "Unexpected arguments to CMD command: [...]". Returns true if it reported them.
bool ReportExtras(const ParsedCommand& cmd, size_t keep, std::string_view command,
                  Diagnostics& diags);

std::string Upper(std::string_view s);

}  // namespace kiln::spec
