// Reader for the seed's INI files (imagebuild.conf, and later deploy.conf), with the rules of
// Python's ConfigParser that the 2012 tools used: [sections], key=value or key: value,
// '#'/';' comment lines, indented continuation lines, a [DEFAULT] section inherited by all,
// case-insensitive keys, duplicate sections or keys are errors. Surrounding quotes on a
// value are removed (the seed's deploy.conf quotes some values).
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/diagnostics.h"

namespace kiln::spec {

struct IniValue {
  std::string value;
  int line = 0;
};

struct IniSection {
  std::string name;
  int line = 0;
  std::map<std::string, IniValue> values;  // own keys only, lower-cased
};

struct IniFile {
  std::string name;                  // file name, for messages
  IniSection defaults;               // [DEFAULT]
  std::vector<IniSection> sections;  // in file order

  const IniSection* Find(std::string_view section) const;
  // The value of key in section, falling back to [DEFAULT]; nullptr if neither has it.
  const IniValue* Get(std::string_view section, std::string_view key) const;
};

// Parses INI text; problems go to diags as "NAME:LINE: message". Returns false on errors.
bool ParseIni(std::string_view text, std::string_view name, IniFile& out, Diagnostics& diags);

}  // namespace kiln::spec
