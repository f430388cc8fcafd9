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

// An ordered list of diagnostics. Collects every problem instead of stopping at the first,
// but keeps only the first kMaxKept, then an error saying the rest were left out (the input
// is refused: a parser stops reading there): a kickstart of a million bad lines is a short
// answer, not a million messages. The counts count them all (and that error).
class Diagnostics {
 public:
  static constexpr size_t kMaxKept = 200;

  void Error(SourceLocation where, std::string message, std::string hint = {}) {
    ++errors_;
    Keep({Severity::kError, std::move(where), std::move(message), std::move(hint)});
  }
  void Warning(SourceLocation where, std::string message, std::string hint = {}) {
    ++warnings_;
    Keep({Severity::kWarning, std::move(where), std::move(message), std::move(hint)});
  }
  void Append(const Diagnostics& other);

  const std::vector<Diagnostic>& items() const { return items_; }
  bool HasErrors() const { return errors_ > 0; }
  int ErrorCount() const { return errors_; }
  int WarningCount() const { return warnings_; }
  // True once some were left out: a parser may stop reading there.
  bool Full() const { return left_out_ > 0; }

 private:
  void Keep(Diagnostic d);

  std::vector<Diagnostic> items_;
  int errors_ = 0;
  int warnings_ = 0;
  int left_out_ = 0;
};

}  // namespace kiln
