#include "spec/command_table.h"

#include <algorithm>
#include <vector>

namespace kiln::spec {

const std::string* ParsedCommand::String(std::string_view dest) const {
  auto it = values.find(dest);
  return it == values.end() ? nullptr : std::get_if<std::string>(&it->second);
}

const std::vector<std::string>* ParsedCommand::List(std::string_view dest) const {
  auto it = values.find(dest);
  return it == values.end() ? nullptr : std::get_if<std::vector<std::string>>(&it->second);
}

bool ParsedCommand::Bool(std::string_view dest, bool fallback) const {
  auto it = values.find(dest);
  if (it == values.end()) return fallback;
  if (const bool* b = std::get_if<bool>(&it->second)) return *b;
  return fallback;
}

const long long* ParsedCommand::Int(std::string_view dest) const {
  auto it = values.find(dest);
  return it == values.end() ? nullptr : std::get_if<long long>(&it->second);
}

const double* ParsedCommand::Float(std::string_view dest) const {
  auto it = values.find(dest);
  return it == values.end() ? nullptr : std::get_if<double>(&it->second);
}

bool ResetsOnRepeat(const CommandSpec& spec, std::string_view dest) {
  for (const OptionSpec& o : spec.options) {
    if (o.dest != dest) continue;
    return o.action == OptAction::kStoreTrue || o.action == OptAction::kStoreFalse ||
           !o.default_value.empty() || o.reset_on_repeat;
  }
  return false;
}

std::span<const CommandSpec> AllCommands() {
  static const std::vector<CommandSpec> all = [] {
    std::vector<CommandSpec> v;
    for (auto part : {CommandsPart1(), CommandsPart2(), CommandsPart3(), CommandsPart4()}) {
      v.insert(v.end(), part.begin(), part.end());
    }
    std::sort(v.begin(), v.end(),
              [](const CommandSpec& a, const CommandSpec& b) { return a.name < b.name; });
    return v;
  }();
  return all;
}

const CommandSpec* FindCommand(std::string_view name) {
  std::span<const CommandSpec> all = AllCommands();
  auto it = std::lower_bound(all.begin(), all.end(), name,
                             [](const CommandSpec& c, std::string_view n) { return c.name < n; });
  if (it == all.end() || it->name != name) return nullptr;
  return &*it;
}

}  // namespace kiln::spec
