// kiln ks validate|flatten|commands — the counterparts of pykickstart's ksvalidator and
// ksflatten.
#include <fstream>
#include <iostream>
#include <memory>

#include "cmd/subcommands.h"
#include "core/diagnostics.h"
#include "spec/command_table.h"
#include "spec/kickstart_parser.h"
#include "spec/kickstart_writer.h"

namespace kiln::cmd {
namespace {

struct KsOptions {
  std::string file;
  std::string output;
  bool strict = false;
  bool no_includes = false;
};

void PrintDiagnostics(const Diagnostics& diags) {
  for (const Diagnostic& d : diags.items()) std::cerr << FormatDiagnostic(d) << "\n";
}

int Validate(const KsOptions& o) {
  spec::FileResolver resolver;
  spec::ParserOptions options;
  options.follow_includes = !o.no_includes;
  spec::ParseResult result = spec::ParseKickstartFile(o.file, resolver, options);
  PrintDiagnostics(result.diagnostics);
  bool failed =
      result.diagnostics.HasErrors() || (o.strict && result.diagnostics.WarningCount() > 0);
  if (failed) {
    std::cerr << o.file << ": " << result.diagnostics.ErrorCount() << " error(s), "
              << result.diagnostics.WarningCount() << " warning(s)\n";
    return 1;
  }
  return 0;
}

int Flatten(const KsOptions& o) {
  spec::FileResolver resolver;
  spec::ParseResult result = spec::ParseKickstartFile(o.file, resolver);
  PrintDiagnostics(result.diagnostics);
  if (!result.ok()) return 1;
  std::string text = spec::WriteKickstart(result.kickstart);
  if (o.output.empty() || o.output == "-") {
    std::cout << text;
    return std::cout.good() ? 0 : 1;
  }
  std::string tmp = o.output + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out.good()) {
      std::cerr << o.output << ": cannot write\n";
      return 1;
    }
  }
  // Replace the output in one step so a reader never sees half a file.
  if (std::rename(tmp.c_str(), o.output.c_str()) != 0) {
    std::cerr << o.output << ": cannot write\n";
    std::remove(tmp.c_str());
    return 1;
  }
  return 0;
}

const char* KindName(spec::CommandKind kind) {
  switch (kind) {
    case spec::CommandKind::kSingle:
      return "";
    case spec::CommandKind::kDataList:
      return "(repeatable)";
    case spec::CommandKind::kDeprecated:
      return "(deprecated: ignored with a warning)";
    case spec::CommandKind::kRemoved:
      return "(removed: an error)";
  }
  return "";
}

int ListCommands() {
  for (const spec::CommandSpec& c : spec::AllCommands()) {
    std::cout << c.name;
    for (size_t i = c.name.size(); i < 18; ++i) std::cout << ' ';
    std::cout << c.pyclass << " " << KindName(c.kind) << "\n";
  }
  return 0;
}

}  // namespace

void SetupKs(CLI::App& app, Action& action) {
  auto options = std::make_shared<KsOptions>();
  CLI::App* ks =
      app.add_subcommand("ks", "Read kickstart files as pykickstart (Fedora F45, DEVEL) does");
  ks->require_subcommand(1);

  CLI::App* validate = ks->add_subcommand(
      "validate",
      "Check a kickstart file: exit 0 if valid (warnings on stderr), 1 with every "
      "error as FILE:LINE: message");
  validate->add_option("FILE", options->file, "kickstart file or URL")->required();
  validate->add_flag("--strict", options->strict,
                     "treat warnings (deprecations, duplicates) as errors, as ksvalidator does");
  validate->add_flag("--no-includes", options->no_includes, "do not follow %include");
  validate->callback([options, &action] { action = [options] { return Validate(*options); }; });

  CLI::App* flatten = ks->add_subcommand(
      "flatten", "Write the kickstart with every %include and %ksappend resolved (ksflatten)");
  flatten->add_option("FILE", options->file, "kickstart file or URL")->required();
  flatten->add_option("-o,--output", options->output, "output file (default: standard output)");
  flatten->callback([options, &action] { action = [options] { return Flatten(*options); }; });

  CLI::App* commands =
      ks->add_subcommand("commands", "List every kickstart command kiln knows, with its class");
  commands->callback([&action] { action = [] { return ListCommands(); }; });
}

}  // namespace kiln::cmd
