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
    {kiln::cmd::SetupUser},     {kiln::cmd::SetupJob},   {kiln::cmd::SetupSubmit},
    {kiln::cmd::SetupClient},
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
    // Help and --version exit 0; a usage error exits 3 (as the client commands document).
    int code = app.exit(e);
    return code == 0 ? 0 : 3;
  }
  try {
    return action ? action() : 0;
  } catch (const std::exception& e) {
    std::cerr << "kiln: internal error: " << e.what() << "\n";
    return 2;
  }
}
