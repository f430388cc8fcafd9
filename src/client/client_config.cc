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

bool WriteClientConfig(const fs::path& path, const ClientConfig& config, std::string& error) {
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  if (ec) {
    error = "cannot create " + path.parent_path().string() + ": " + ec.message();
    return false;
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
    if (!out) {
      error = "cannot write " + tmp.string();
      return false;
    }
  }
  chmod(tmp.c_str(), 0600);
  fs::rename(tmp, path, ec);
  if (ec) {
    error = "cannot replace " + path.string() + ": " + ec.message();
    return false;
  }
  return true;
}

std::optional<ClientConfig> ReadClientConfig(const fs::path& path, std::string& error) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  ClientConfig config;
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    std::string_view t = Trim(line);
    if (t.empty() || t[0] == '#') continue;
    size_t eq = t.find('=');
    if (eq == std::string_view::npos) {
      error = path.string() + ":" + std::to_string(number) + ": expected 'key = value'";
      return std::nullopt;
    }
    std::string key(Trim(t.substr(0, eq)));
    std::string value(Trim(t.substr(eq + 1)));
    if (key == "url") {
      config.url = value;
    } else if (key == "token") {
      config.token = value;
    } else {
      error = path.string() + ":" + std::to_string(number) + ": unknown key '" + key +
              "' (known: url, token)";
      return std::nullopt;
    }
  }
  return config;
}

}  // namespace kiln::client
