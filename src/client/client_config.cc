#include "client/client_config.h"

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "core/text.h"

namespace kiln::client {
namespace fs = std::filesystem;

fs::path ClientConfigPath() {
  const char* xdg = std::getenv("XDG_CONFIG_HOME");
  if (xdg != nullptr && *xdg != '\0') return fs::path(xdg) / "kiln" / "client.conf";
  const char* home = std::getenv("HOME");
  return fs::path(home != nullptr && *home != '\0' ? home : "/root") / ".config" / "kiln" /
         "client.conf";
}

Status WriteClientConfig(const fs::path& path, const ClientConfig& config) {
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  if (ec) {
    return Status::Error("cannot create " + path.parent_path().string() + ": " + ec.message());
  }
  fs::path tmp = path;
  tmp += ".tmp";
  {
    mode_t old = umask(077);
    std::ofstream out(tmp, std::ios::trunc);
    umask(old);
    out << "# kiln CLI: the server to talk to and the API token to use\n"
        << "url = " << config.url << "\n"
        << "token = " << config.token << "\n";
    if (!out) return Status::Error("cannot write " + tmp.string());
  }
  chmod(tmp.c_str(), 0600);
  fs::rename(tmp, path, ec);
  if (ec) {
    return Status::Error("cannot replace " + path.string() + ": " + ec.message());
  }
  return Status::Ok();
}

Result<std::optional<ClientConfig>> ReadClientConfig(const fs::path& path) {
  std::ifstream in(path);
  if (!in) return std::optional<ClientConfig>();
  ClientConfig config;
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    std::string_view t = Trim(line);
    if (t.empty() || t[0] == '#') continue;
    size_t eq = t.find('=');
    if (eq == std::string_view::npos) {
      return Status::Error(path.string() + ":" + std::to_string(number) +
                           ": expected 'key = value'");
    }
    std::string key(Trim(t.substr(0, eq)));
    std::string value(Trim(t.substr(eq + 1)));
    if (key == "url") {
      config.url = value;
    } else if (key == "token") {
      config.token = value;
    } else {
      return Status::Error(path.string() + ":" + std::to_string(number) + ": unknown key '" + key +
                           "' (known: url, token)");
    }
  }
  return std::optional<ClientConfig>(std::move(config));
}

}  // namespace kiln::client
