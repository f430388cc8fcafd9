// The kickstart values a build writes into a file, passes on a command line or turns into a
// path (package names, accounts, paths, host and network settings, URLs, the kernel command
// line, script options), each checked against its grammar (core/grammar.h). A kickstart is a
// stranger's text on a public build service: what fails here is refused at submit, with the
// option, its line and what it may be, and refused again by the worker before a build.
#pragma once

#include "core/diagnostics.h"
#include "spec/kickstart.h"

namespace kiln::spec {

// Adds an error (file and line of the command) for every value that fails its grammar.
void CheckBuildValues(const Kickstart& ks, const std::string& file, Diagnostics& diags);

// A %packages name that is a glob ("iwl*-firmware"): builds skip those with a warning.
bool IsPackageGlob(std::string_view name);

}  // namespace kiln::spec
