// The subcommands of the multi-call `kiln` binary. Each one registers itself on the CLI11
// app; main.cc lists them in one place and runs the chosen one.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

namespace kiln::cmd {

// Set by a subcommand's setup: what to run once the command line is parsed; returns the
// process exit code.
using Action = std::function<int()>;

void SetupKs(CLI::App& app, Action& action);        // kiln ks validate|flatten|commands
void SetupSpec(CLI::App& app, Action& action);      // kiln spec show
void SetupBuild(CLI::App& app, Action& action);     // kiln build
void SetupBootTest(CLI::App& app, Action& action);  // kiln boot-test
void SetupServe(CLI::App& app, Action& action);     // kiln serve
void SetupWorker(CLI::App& app, Action& action);    // kiln worker
void SetupUser(CLI::App& app, Action& action);      // kiln user, kiln token
void SetupJob(CLI::App& app, Action& action);       // kiln job (internal, for workers)
void SetupSubmit(CLI::App& app, Action& action);    // kiln submit
void SetupClient(CLI::App& app, Action& action);    // kiln status|logs|list|cancel|retry|...

}  // namespace kiln::cmd
