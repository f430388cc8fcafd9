// Diagnostics: errors and warnings about user input, each tied to a place in a file.
//
// Parsers never print: they add to a Diagnostics list, and the caller decides how to show it
// ("FILE:LINE: message" on a terminal, JSON in the API).
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace kiln {

// A place in an input file. line is 1-based; 0 means "the file as a whole".
struct SourceLocation {
  std::string file;
  int line = 0;
};

enum class Severity { kError, kWarning };

struct Diagnostic {
  Severity severity = Severity::kError;
  SourceLocation where;
  std::string message;
  std::string hint;  // optional: how to fix it ("did you mean --hostname?")
};

// Formats a diagnostic as "FILE:LINE: message (hint)" or "FILE:LINE: warning: message".
std::string FormatDiagnostic(const Diagnostic& d);

// An ordered list of diagnostics. Collects every problem instead of stopping at the first.
class Diagnostics {
 public:
  void Error(SourceLocation where, std::string message, std::string hint = {}) {
    items_.push_back({Severity::kError, std::move(where), std::move(message), std::move(hint)});
  }
  void Warning(SourceLocation where, std::string message, std::string hint = {}) {
    items_.push_back({Severity::kWarning, std::move(where), std::move(message), std::move(hint)});
  }
  void Append(const Diagnostics& other) {
    items_.insert(items_.end(), other.items_.begin(), other.items_.end());
  }

  const std::vector<Diagnostic>& items() const { return items_; }
  bool HasErrors() const;
  int ErrorCount() const;
  int WarningCount() const;

 private:
  std::vector<Diagnostic> items_;
};

}  // namespace kiln
