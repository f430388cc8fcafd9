#include "core/diagnostics.h"

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

void Diagnostics::Keep(Diagnostic d) {
  if (items_.size() < kMaxKept) {
    items_.push_back(std::move(d));
    return;
  }
  // An error however many of them are warnings: a parser stops reading here, so what
  // follows was never checked.
  if (left_out_++ == 0) {
    ++errors_;
    items_.push_back({Severity::kError, std::move(d.where),
                      "too many problems: only the first " + std::to_string(kMaxKept) +
                          " are listed, and what follows them is not read",
                      "fix these and check again"});
  }
}

void Diagnostics::Append(const Diagnostics& other) {
  bool was_full = left_out_ > 0;
  for (const Diagnostic& d : other.items_) {
    if (left_out_ > 0) break;
    Keep(d);
  }
  errors_ += other.errors_;
  if (!was_full && left_out_ > 0 && other.left_out_ > 0) --errors_;  // one note, not two
  warnings_ += other.warnings_;
  left_out_ += other.left_out_;
}

}  // namespace kiln
