// The command-line flags that set build request fields (--type, --arch, --release, ...),
// shared by every subcommand that takes a request.
#pragma once

#include <CLI/CLI.hpp>

#include "spec/spec_builder.h"

namespace kiln::cmd {

// Adds the request flags to `app`; each one given sets its field of `fields` (which must
// outlive the parse).
inline void AddRequestFlags(CLI::App* app, spec::RequestFields& fields) {
  auto set = [app](const char* flag, std::optional<std::string>& field, const char* help) {
    app->add_option_function<std::string>(
        flag, [&field](const std::string& v) { field = v; }, help);
  };
  set("--type", fields.type, "live, raw, qcow2, tar, boot or dvd");
  set("--arch", fields.arch, "x86_64 (amd64) or i686 (i386)");
  set("--release", fields.release, "bookworm or trixie");
  set("--name", fields.name, "image name (file names)");
  set("--label", fields.label, "ISO volume id");
  set("--title", fields.title, "boot menu title");
  set("--product", fields.product, "product name");
  set("--image-version", fields.version, "image version");
  set("--mirror", fields.mirror, "package mirror URL");
  set("--proxy", fields.proxy, "HTTP proxy for downloads");
  app->add_option("--package", fields.extra_packages,
                  "extra package NAME[=VERSION], or a .deb file (repeatable)");
}

}  // namespace kiln::cmd
