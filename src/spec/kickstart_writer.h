// Writes a parsed kickstart back out in ksflatten's form: a header, the commands in
// pykickstart's write order (one line each, options in a canonical --opt=value form), the
// scripts in file order, other sections, then %packages.
#pragma once

#include <string>

#include "spec/kickstart.h"

namespace kiln::spec {

std::string WriteKickstart(const Kickstart& ks);

// One command line as written by WriteKickstart, without the newline.
std::string WriteCommand(const ParsedCommand& cmd, std::string_view name);

}  // namespace kiln::spec
