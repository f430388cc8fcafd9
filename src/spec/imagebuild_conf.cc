#include "spec/imagebuild_conf.h"

#include "core/text.h"

namespace kiln::spec {

const IniSection* IniFile::Find(std::string_view section) const {
  for (const IniSection& s : sections) {
    if (s.name == section) return &s;
  }
  return nullptr;
}

const IniValue* IniFile::Get(std::string_view section, std::string_view key) const {
  std::string k = ToLower(key);
  if (const IniSection* s = Find(section)) {
    auto it = s->values.find(k);
    if (it != s->values.end()) return &it->second;
  }
  auto it = defaults.values.find(k);
  return it == defaults.values.end() ? nullptr : &it->second;
}

namespace {

std::string Unquote(std::string_view v) {
  if (v.size() >= 2 && (v.front() == '"' || v.front() == '\'') && v.back() == v.front()) {
    return std::string(v.substr(1, v.size() - 2));
  }
  return std::string(v);
}

}  // namespace

bool ParseIni(std::string_view text, std::string_view name, IniFile& out, Diagnostics& diags) {
  out.name = std::string(name);
  out.defaults.name = "DEFAULT";
  bool ok = true;
  IniSection* current = nullptr;
  IniValue* last_value = nullptr;
  int lineno = 0;
  auto error = [&](std::string message, std::string hint = {}) {
    ok = false;
    diags.Error({std::string(name), lineno}, std::move(message), std::move(hint));
  };
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view raw = text.substr(pos, end - pos);
    pos = end + 1;
    ++lineno;
    if (!raw.empty() && raw.back() == '\r') raw.remove_suffix(1);
    std::string_view line = Trim(raw);
    if (line.empty()) {
      last_value = nullptr;
      continue;
    }
    if (line[0] == '#' || line[0] == ';') continue;
    // An indented line continues the previous value.
    if ((raw[0] == ' ' || raw[0] == '\t') && last_value != nullptr) {
      last_value->value += "\n" + std::string(line);
      continue;
    }
    if (line[0] == '[') {
      size_t close = line.find(']');
      if (close == std::string_view::npos) {
        error("section header without ']'", "write [name]");
        continue;
      }
      std::string section(Trim(line.substr(1, close - 1)));
      last_value = nullptr;
      if (section == "DEFAULT") {
        current = &out.defaults;
        continue;
      }
      if (out.Find(section) != nullptr) {
        error("section [" + section + "] appears twice", "merge the two sections");
        current = nullptr;
        continue;
      }
      out.sections.push_back({section, lineno, {}});
      current = &out.sections.back();
      continue;
    }
    size_t sep = line.find_first_of("=:");
    if (sep == std::string_view::npos) {
      error("line is not 'key = value'", "comments start with # or ;");
      continue;
    }
    if (current == nullptr) {
      error("'" + std::string(Trim(line.substr(0, sep))) + "' comes before any [section]",
            "start the file with [DEFAULT] or a section name");
      continue;
    }
    std::string key = ToLower(Trim(line.substr(0, sep)));
    if (key.empty()) {
      error("empty key");
      continue;
    }
    if (current->values.count(key) != 0) {
      error("key '" + key + "' appears twice in [" + current->name + "]",
            "first on line " + std::to_string(current->values[key].line));
      continue;
    }
    IniValue& v = current->values[key];
    v.value = Unquote(Trim(line.substr(sep + 1)));
    v.line = lineno;
    last_value = &v;
  }
  return ok;
}

}  // namespace kiln::spec
