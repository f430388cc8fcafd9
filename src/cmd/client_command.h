// What every client subcommand (submit, status, list, ...) shares: finding the server,
// turning failures into messages and exit codes, and `--json`.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>

#include "client/api_client.h"

namespace kiln::cmd {

// Exit codes of the client commands (a followed build adds 1 failed and 2 canceled).
constexpr int kExitOk = 0;
constexpr int kExitError = 1;  // the server refused (404, 409, 422, ...)
constexpr int kExitUsage = 3;  // bad usage, no server set, unreachable, not logged in

// Runs `body` with a client for the configured server. Reports a missing server setting, an
// unreadable config, an unreachable server and unexpected errors as "kiln NAME: ..." and
// returns kExitUsage for them.
int RunClient(const std::string& name, const std::function<int(client::ApiClient&)>& body);

// Prints the server's error for `reply` and returns the exit code for it.
int ReportFailure(const std::string& name, const client::Reply& reply,
                  const client::Connection& connection);

// Adds `--json` and an example to the help of a client subcommand.
void ClientCommandBasics(CLI::App* sub, bool& json, const std::string& example);

}  // namespace kiln::cmd
