// The command-line flags that set build request fields (--type, --arch, --release, ...),
// shared by every subcommand that takes a request: made from core/request_fields.h.
#pragma once

#include <CLI/CLI.hpp>

#include "spec/spec_builder.h"

namespace kiln::cmd {

// Adds the request flags to `app`; each one given sets its field of `fields` (which must
// outlive the parse).
inline void AddRequestFlags(CLI::App* app, spec::RequestFields& fields) {
  for (const RequestField& f : RequestFieldTable()) {
    if (f.flag.empty()) continue;
    std::string flag(f.flag), help(f.help);
    if (f.text != nullptr) {
      std::optional<std::string>& field = fields.*(f.text);
      app->add_option_function<std::string>(
          flag, [&field](const std::string& v) { field = v; }, help);
    } else {
      app->add_option(flag, fields.*(f.list), help);
    }
  }
}

}  // namespace kiln::cmd
