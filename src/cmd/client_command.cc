#include "cmd/client_command.h"

#include <iostream>

namespace kiln::cmd {

int RunClient(const std::string& name, const std::function<int(client::ApiClient&)>& body) {
  Result<client::Connection> resolved = client::ResolveConnection();
  if (!resolved.ok()) {
    std::cerr << "kiln " << name << ": " << resolved.message() << "\n";
    return kExitUsage;
  }
  client::Connection c = std::move(*resolved);
  if (c.url.empty()) {
    std::cerr << "kiln " << name << ": no kiln server is set\n"
              << "  hint: `kiln login --server URL --token TOKEN`, or set KILN_SERVER and "
                 "KILN_TOKEN (`kiln serve` writes them for its first admin)\n";
    return kExitUsage;
  }
  try {
    client::ApiClient api(c);
    return body(api);
  } catch (const client::Unreachable& e) {
    std::cerr << "kiln " << name << ": " << e.what() << "\n";
    return kExitUsage;
  } catch (const std::exception& e) {
    std::cerr << "kiln " << name << ": " << e.what() << "\n";
    return kExitError;
  }
}

int ReportFailure(const std::string& name, const client::Reply& reply,
                  const client::Connection& connection) {
  std::cerr << "kiln " << name << ": " << client::DescribeError(reply, connection) << "\n";
  return reply.status == 401 || reply.status == 403 ? kExitUsage : kExitError;
}

void ClientCommandBasics(CLI::App* sub, bool& json, const std::string& example) {
  sub->add_flag("--json", json, "print the server's JSON (for scripts)");
  sub->footer("Example:\n  " + example);
  sub->group("Client (talks to a kiln server: KILN_SERVER, KILN_TOKEN or `kiln login`)");
}

}  // namespace kiln::cmd
