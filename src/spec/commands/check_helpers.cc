#include "spec/commands/check_helpers.h"

#include <cctype>

namespace kiln::spec {

bool NonEmpty(const ParsedCommand& cmd, std::string_view dest) {
  const std::string* s = cmd.String(dest);
  return s != nullptr && !s->empty();
}

bool NonZero(const ParsedCommand& cmd, std::string_view dest) {
  const long long* n = cmd.Int(dest);
  return n != nullptr && *n != 0;
}

bool NonEmptyList(const ParsedCommand& cmd, std::string_view dest) {
  const std::vector<std::string>* value = cmd.List(dest);
  return value != nullptr && !value->empty();
}

std::string PythonListRepr(std::span<const std::string> items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ", ";
    const std::string& s = items[i];
    bool use_double = s.find('\'') != std::string::npos && s.find('"') == std::string::npos;
    char quote = use_double ? '"' : '\'';
    out += quote;
    for (char c : s) {
      if (c == '\\' || c == quote) out += '\\';
      out += c;
    }
    out += quote;
  }
  return out + "]";
}

bool ReportExtras(const ParsedCommand& cmd, size_t keep, std::string_view command,
                  Diagnostics& diags) {
  if (cmd.args.size() <= keep) return false;
  std::span<const std::string> extra(cmd.args.data() + keep, cmd.args.size() - keep);
  diags.Error(cmd.where, "Unexpected arguments to " + std::string(command) +
                             " command: " + PythonListRepr(extra));
  return true;
}

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace kiln::spec
