#include "core/diagnostics.h"

#include <algorithm>

namespace kiln {

std::string FormatDiagnostic(const Diagnostic& d) {
  std::string out;
  if (!d.where.file.empty()) {
    out += d.where.file;
    out += ':';
    if (d.where.line > 0) {
      out += std::to_string(d.where.line);
      out += ':';
    }
    out += ' ';
  }
  if (d.severity == Severity::kWarning) out += "warning: ";
  out += d.message;
  if (!d.hint.empty()) {
    out += " (";
    out += d.hint;
    out += ')';
  }
  return out;
}

bool Diagnostics::HasErrors() const { return ErrorCount() > 0; }

int Diagnostics::ErrorCount() const {
  return static_cast<int>(std::count_if(items_.begin(), items_.end(), [](const Diagnostic& d) {
    return d.severity == Severity::kError;
  }));
}

int Diagnostics::WarningCount() const { return static_cast<int>(items_.size()) - ErrorCount(); }

}  // namespace kiln
