// kiln: an on-demand OS image build service, as one multi-call binary.
// main only wires the subcommands together; each lives in its own cmd_*.cc file.
#include <cstdio>
#include <exception>
#include <iostream>

#include "cmd/subcommands.h"

namespace {

struct Registration {
  void (*setup)(CLI::App&, kiln::cmd::Action&);
};

// Every subcommand, in the order `kiln --help` lists them.
constexpr Registration kSubcommands[] = {
    {kiln::cmd::SetupKs},       {kiln::cmd::SetupSpec},  {kiln::cmd::SetupBuild},
    {kiln::cmd::SetupBootTest}, {kiln::cmd::SetupServe}, {kiln::cmd::SetupWorker},
    {kiln::cmd::SetupUser},     {kiln::cmd::SetupJob},
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"kiln — on-demand OS image builds from kickstart files", "kiln"};
  app.set_version_flag("--version", "kiln " KILN_VERSION);
  app.require_subcommand(1);
  kiln::cmd::Action action;
  for (const Registration& r : kSubcommands) r.setup(app, action);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    return action ? action() : 0;
  } catch (const std::exception& e) {
    std::cerr << "kiln: internal error: " << e.what() << "\n";
    return 2;
  }
}
