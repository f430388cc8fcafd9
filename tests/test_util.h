// Helpers shared by the spec tests.
#pragma once

#include <string>

#include "spec/kickstart_loader.h"
#include "spec/kickstart_parser.h"

namespace kiln::spec::testing {

// Parses `text` as "ks.cfg" with the given other files available to %include.
inline ParseResult ParseText(const std::string& text, MemoryResolver resolver = {}) {
  return ParseKickstartText(text, "ks.cfg", resolver);
}

// Every diagnostic, one per line, for assertion messages.
inline std::string AllMessages(const Diagnostics& d) {
  std::string out;
  for (const Diagnostic& x : d.items()) out += FormatDiagnostic(x) + "\n";
  return out;
}

// True if some diagnostic of `severity` contains `needle`.
inline bool HasMessage(const Diagnostics& d, Severity severity, const std::string& needle) {
  for (const Diagnostic& x : d.items()) {
    if (x.severity == severity && FormatDiagnostic(x).find(needle) != std::string::npos) {
      return true;
    }
  }
  return false;
}

}  // namespace kiln::spec::testing
