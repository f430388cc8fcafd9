#include "spec/kickstart.h"

namespace kiln::spec {

std::string_view ScriptSectionName(ScriptKind kind) {
  switch (kind) {
    case ScriptKind::kPre:
      return "%pre";
    case ScriptKind::kPreInstall:
      return "%pre-install";
    case ScriptKind::kPost:
      return "%post";
    case ScriptKind::kOnError:
      return "%onerror";
    case ScriptKind::kTraceback:
      return "%traceback";
  }
  return "%post";
}

const CommandEntry* Kickstart::Find(std::string_view command_name) const {
  const CommandSpec* spec = FindCommand(command_name);
  if (spec == nullptr) return nullptr;
  for (const CommandEntry& e : commands) {
    if (e.spec->pyclass == spec->pyclass) return &e;
  }
  return nullptr;
}

const ParsedCommand* Kickstart::Single(std::string_view command_name) const {
  const CommandEntry* e = Find(command_name);
  if (e == nullptr || e->merged.spec == nullptr) return nullptr;
  return &e->merged;
}

const std::vector<ParsedCommand>& Kickstart::List(std::string_view command_name) const {
  static const std::vector<ParsedCommand> kEmpty;
  const CommandEntry* e = Find(command_name);
  return e == nullptr ? kEmpty : e->items;
}

}  // namespace kiln::spec
