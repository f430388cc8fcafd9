// The CLI's own config: which server to talk to and the API token to use. A small
// "key = value" file at $XDG_CONFIG_HOME/kiln/client.conf (or ~/.config/kiln/client.conf),
// mode 0600 since it holds a secret.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "core/status.h"

namespace kiln::client {

struct ClientConfig {
  std::string url;    // "http://127.0.0.1:5000"
  std::string token;  // "kiln_..."
};

std::filesystem::path ClientConfigPath();
// Writes (replacing) the config file with mode 0600.
Status WriteClientConfig(const std::filesystem::path& path, const ClientConfig& config);
// Reads it; nullopt if the file does not exist. Unknown keys and bad lines are errors.
Result<std::optional<ClientConfig>> ReadClientConfig(const std::filesystem::path& path);

}  // namespace kiln::client
