// kiln spec show — prints the BuildSpec a kickstart, imagebuild.conf or JSON request makes.
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cmd/request_flags.h"
#include "cmd/subcommands.h"
#include "core/build_spec_json.h"
#include "core/text.h"
#include "spec/spec_builder.h"

namespace kiln::cmd {
namespace {

struct SpecOptions {
  std::string file;
  spec::RequestFields fields;
};

int Show(const SpecOptions& o) {
  spec::FileResolver resolver;
  Diagnostics diags;
  spec::LoadedText loaded;
  if (Status read = resolver.Read(o.file, nullptr, loaded); !read.ok()) {
    std::cerr << o.file << ": cannot read: " << read.message() << "\n";
    return 1;
  }
  std::optional<BuildSpec> result;
  std::string_view trimmed = Trim(loaded.text);
  if (EndsWith(o.file, ".json") || (!trimmed.empty() && trimmed[0] == '{')) {
    result = spec::SpecFromJson(loaded.text, loaded.name, resolver, diags);
  } else if (EndsWith(o.file, ".conf") || spec::LooksLikeIni(loaded.text)) {
    result = spec::SpecFromImagebuildConfText(loaded.text, loaded.name, o.fields, resolver, diags);
  } else {
    result = spec::SpecFromKickstart(loaded.name, o.fields, resolver, diags);
  }
  for (const Diagnostic& d : diags.items()) std::cerr << FormatDiagnostic(d) << "\n";
  if (!result) return 1;
  for (const std::string& key : result->ignored) {
    std::cerr << loaded.name << ": note: " << key << " is a 2012 key and is ignored\n";
  }
  std::cout << BuildSpecToJson(*result).dump(2) << "\n";
  return 0;
}

}  // namespace

void SetupSpec(CLI::App& app, Action& action) {
  auto o = std::make_shared<SpecOptions>();
  CLI::App* spec = app.add_subcommand("spec", "Turn build requests into a BuildSpec");
  spec->require_subcommand(1);
  CLI::App* show = spec->add_subcommand(
      "show",
      "Print the BuildSpec (JSON) made from a kickstart, an imagebuild.conf or a JSON "
      "request, after validating it");
  show->add_option("FILE", o->file, "kickstart, imagebuild.conf or request .json")->required();
  AddRequestFlags(show, o->fields);
  show->callback([o, &action] { action = [o] { return Show(*o); }; });
}

}  // namespace kiln::cmd
